// Every policy in examples/policies/ sent to a running control plane, as the CLI would send it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parsePolicyDocuments } from '@hfi/core';
import { request, startTestControlPlane } from '../__tests__/http';
import type { StartedControlPlane } from '../start';

const ROOT = resolve(__dirname, '../../../../examples/policies');
const REJECTED: Record<string, { field: string; mentions: string }> = {
  'legacy/invalid-policy.yaml': { field: 'metadata.name', mentions: 'policy name is required' },
  'legacy/old-delay-format-policy.yaml': { field: 'spec.rules[0].fault.delay.fixed_delay', mentions: 'fixed_delay_ms' },
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : [],
  );
}

const files = yamlFiles(ROOT)
  .map((f) => relative(ROOT, f))
  .sort();

let cp: StartedControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.close();
});

test('the examples directory holds the reference examples', () => {
  expect(files).toEqual(expect.arrayContaining(['basic/abort-policy.yaml', ...Object.keys(REJECTED)]));
  expect(files.length).toBeGreaterThanOrEqual(11);
});

test.each(files.filter((f) => !(f in REJECTED)))('%s: every document is accepted (201) and read back', async (file) => {
  const docs = parsePolicyDocuments(readFileSync(join(ROOT, file), 'utf8'), file) as { metadata: { name: string } }[];
  expect(docs.length).toBeGreaterThan(0);
  for (const doc of docs) {
    const res = await request('POST', `${cp.url}/v1/policies`, { body: doc });
    expect(res.status).toBe(201);
    const back = await request('GET', `${cp.url}/v1/policies/${encodeURIComponent(doc.metadata.name)}`);
    expect(back.json.spec).toEqual(res.json.spec);
  }
});

test('advanced/service-targeted-policy.yaml: all four documents are stored', async () => {
  const names = (await request('GET', `${cp.url}/v1/policies`)).json.policies.map(
    (p: { metadata: { name: string } }) => p.metadata.name,
  );
  expect(names).toEqual(expect.arrayContaining(['frontend-delay', 'global-abort', 'namespace-delay', 'legacy-policy']));
});

test.each(Object.entries(REJECTED))('%s is rejected with a 400 naming the field', async (file, expected) => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const before = (await request('GET', `${cp.url}/v1/policies`)).json.revision;
  const res = await request('POST', `${cp.url}/v1/policies`, {
    raw: text,
    headers: { 'content-type': 'application/yaml' },
  });
  expect(res.status).toBe(400);
  expect(res.json).toMatchObject({ hfi_code: 'HFI_ERR_POLICY_INVALID', details: { field: expected.field } });
  expect(res.json.message).toContain(expected.mentions);
  expect((await request('GET', `${cp.url}/v1/policies`)).json.revision).toBe(before);
});
