// The baseline file (read back what was written; reject what is not one) and the --request / -H parsing.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { HfiError } from '@hfi/core';
import { readBaseline, writeBaseline } from './baseline';
import type { SidecarEvidence } from './evidence';
import { buildFacts } from './facts';
import { parseRequestSpec } from './request-spec';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-doctor-baseline-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const page = [
  '# TYPE envoy_server_uptime gauge',
  'envoy_server_uptime{} 42',
  '# TYPE wasmcustom_hfi_faults_aborts_total counter',
  'wasmcustom_hfi_faults_aborts_total{} 7',
  '',
].join('\n');

const evidence = (name: string, prometheus: SidecarEvidence['prometheus']): SidecarEvidence => ({
  name,
  statsUrl: `${name}/stats/prometheus`,
  identity: {},
  prometheus,
  scrapedAtMs: Date.parse('2024-05-01T10:00:00Z'),
  scrapeAddresses: [],
});

async function rejected(text: string): Promise<HfiError> {
  const file = path.join(dir, 'b.json');
  await writeFile(file, text);
  return readBaseline(file).then(
    () => {
      throw new Error('accepted');
    },
    (err: HfiError) => err,
  );
}

describe('baseline file', () => {
  it('is absent on the first run, then holds what each readable sidecar showed', async () => {
    const file = path.join(dir, 'b.json');
    expect(await readBaseline(file)).toBeUndefined();
    const facts = [
      buildFacts(evidence('http://a', { text: page }), []),
      buildFacts(evidence('http://b', { error: 'down' }), []),
    ];
    const previous = {
      hfiDoctorBaseline: 1 as const,
      takenAt: '2024-04-01T00:00:00Z',
      sidecars: { 'http://b': { takenAt: '2024-04-01T00:00:00Z', aborts: 2 } },
    };
    await writeBaseline(file, previous, facts, new Date('2024-05-01T10:00:01Z'));
    const read = await readBaseline(file);
    expect(read).toEqual({
      hfiDoctorBaseline: 1,
      takenAt: '2024-05-01T10:00:01.000Z',
      sidecars: {
        'http://a': { takenAt: '2024-05-01T10:00:00.000Z', uptimeSeconds: 42, aborts: 7 },
        // Unreadable this time: its earlier entry is kept.
        'http://b': { takenAt: '2024-04-01T00:00:00Z', aborts: 2 },
      },
    });
    expect(JSON.parse(await readFile(file, 'utf8')).hfiDoctorBaseline).toBe(1);
  });

  it('rejects files that are not a baseline with HFI_ERR_DOCTOR_BASELINE', async () => {
    expect(await rejected('not json')).toMatchObject({ code: 'HFI_ERR_DOCTOR_BASELINE', field: 'baseline' });
    expect((await rejected('{"sidecars":{}}')).message).toMatch(/is not an hfi doctor baseline/);
    const negative = await rejected(
      '{"hfiDoctorBaseline":1,"takenAt":"2024-05-01T10:00:00Z","sidecars":{"a":{"aborts":-1}}}',
    );
    expect(negative).toMatchObject({ code: 'HFI_ERR_DOCTOR_BASELINE', field: 'sidecars.a.aborts' });
  });
});

describe('--request and -H', () => {
  it('reads a method, a path with its query, and headers (names lower-cased)', () => {
    expect(parseRequestSpec('get /api/users?id=1', ['X-User: test', 'accept:text/plain'])).toEqual({
      method: 'GET',
      path: '/api/users?id=1',
      headers: [
        ['x-user', 'test'],
        ['accept', 'text/plain'],
      ],
    });
  });

  it.each([['/api'], ['GET api'], ['GET /a /b']])('rejects --request %j with HFI_ERR_DOCTOR_OPTIONS', (text) => {
    expect(() => parseRequestSpec(text)).toThrow(
      expect.objectContaining({ code: 'HFI_ERR_DOCTOR_OPTIONS', field: 'request' }),
    );
  });

  it('rejects a header without a name and colon', () => {
    expect(() => parseRequestSpec('GET /', ['no colon'])).toThrow(expect.objectContaining({ field: 'headers' }));
    expect(() => parseRequestSpec('GET /', [': v'])).toThrow(expect.objectContaining({ field: 'headers' }));
  });
});
