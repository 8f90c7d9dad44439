// The /v1 API over real HTTP against a started control plane, on the memory and the file store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { examplePolicy, request, startTestControlPlane } from '../__tests__/http';
import type { StartedControlPlane } from '../start';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hfi-api-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => string][] = [
  ['memory', () => 'memory'],
  ['file', () => `file:${join(dir, `api-${Math.random().toString(36).slice(2)}.json`)}`],
];

describe.each(stores)('/v1 API on the %s store', (kind, spec) => {
  let cp: StartedControlPlane;
  let url: string;
  const post = (path: string, body: unknown) => request('POST', `${url}${path}`, { body });
  const put = (path: string, body: unknown) => request('PUT', `${url}${path}`, { body });
  const get = (path: string, headers?: Record<string, string>) =>
    request('GET', `${url}${path}`, headers ? { headers } : {});
  const del = (path: string) => request('DELETE', `${url}${path}`);

  beforeEach(async () => {
    cp = await startTestControlPlane({ store: spec() });
    url = cp.url;
  });
  afterEach(async () => {
    await cp.close();
  });

  test('GET /v1/health and /v1/ready', async () => {
    expect(await get('/v1/health')).toMatchObject({ status: 200, json: { status: 'healthy' } });
    expect(await get('/v1/ready')).toMatchObject({ status: 200, json: { status: 'ready', storage: kind } });
  });

  test('POST /v1/policies upserts (201) and echoes the normalised policy with its status', async () => {
    const first = await post('/v1/policies', examplePolicy('abort-policy'));
    expect(first.status).toBe(201);
    expect(first.json).toEqual({
      ...examplePolicy('abort-policy'),
      metadata: { name: 'abort-policy', version: '' },
      status: { revision: expect.any(Number), updated_at: expect.any(String), rules: [{ active: true }] },
    });
    const again = await post('/v1/policies', {
      ...examplePolicy('abort-policy'),
      metadata: { name: 'abort-policy', version: '2.0.0' },
    });
    expect(again.status).toBe(201);
    expect(again.json.status.revision).toBeGreaterThan(first.json.status.revision);
    expect(again.json.metadata.version).toBe('2.0.0');
  });

  test('POST /v1/policies/create: 201, 409 on a duplicate, 400 without x.y.z version', async () => {
    const created = await post('/v1/policies/create', examplePolicy('created', { version: '1.0.0' }));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      message: 'policy created successfully',
      policy: { metadata: { name: 'created', version: '1.0.0' }, status: { rules: [{ active: true }] } },
    });
    const dup = await post('/v1/policies/create', examplePolicy('created', { version: '1.0.1' }));
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({
      error: 'resource_already_exists',
      message: 'The resource already exists',
      details: { resource: 'policy' },
      hfi_code: 'HFI_ERR_POLICY_EXISTS',
      request_id: dup.headers['x-request-id'],
    });
    const noVersion = await post('/v1/policies/create', examplePolicy('versionless'));
    expect(noVersion.status).toBe(400);
    expect(noVersion.json).toMatchObject({
      error: 'invalid_input',
      code: 'validation_error',
      hfi_code: 'HFI_ERR_POLICY_INVALID',
      details: { field: 'metadata.version' },
    });
    expect(noVersion.json.message).toMatch(/^metadata\.version: /);
    const badVersion = await post('/v1/policies/create', examplePolicy('versionless', { version: '1.0' }));
    expect(badVersion).toMatchObject({ status: 400, json: { details: { field: 'metadata.version' } } });
    expect((await get('/v1/policies/versionless')).status).toBe(404);
  });

  test('GET /v1/policies: sorted by name, revision in body and ETag, If-None-Match gives 304', async () => {
    const empty = await get('/v1/policies');
    expect(empty.json).toEqual({ policies: [], revision: 0 });
    for (const name of ['ccc', 'aaa', 'bbb'])
      expect((await post('/v1/policies', examplePolicy(name))).status).toBe(201);
    const list = await get('/v1/policies');
    expect(list.status).toBe(200);
    expect(list.json.policies.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([
      'aaa',
      'bbb',
      'ccc',
    ]);
    expect(list.json.revision).toBe(3);
    expect(list.headers.etag).toBe('"3"');
    expect(list.json.policies[0].status).toEqual({
      revision: 2,
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      rules: [{ active: true }],
    });
    const notModified = await get('/v1/policies', { 'if-none-match': '"3"' });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    await del('/v1/policies/aaa');
    const changed = await get('/v1/policies', { 'if-none-match': '"3"' });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).toBe('"4"');
  });

  test('GET /v1/policies/status: [] when empty, then the summary with * for a missing selector', async () => {
    expect((await get('/v1/policies/status')).json).toEqual({
      summary: { total_policies: 0, abort_policies: 0, delay_policies: 0, active_policies: 0 },
      policies: [],
    });
    await post('/v1/policies', examplePolicy('abort-one'));
    const mixed = {
      metadata: { name: 'mixed' },
      spec: {
        rules: [
          { match: { path: { prefix: '/a' } }, fault: { percentage: 10, delay: { fixed_delay_ms: 100 } } },
          { match: { path: { prefix: '/b' } }, fault: { percentage: 10, delay: { fixed_delay_ms: 200 } } },
          { match: { path: { prefix: '/c' } }, fault: { percentage: 10, abort: { httpStatus: 500 } } },
        ],
      },
    };
    expect((await post('/v1/policies', mixed)).status).toBe(201);
    const status = await get('/v1/policies/status');
    expect(status.json).toEqual({
      summary: { total_policies: 2, abort_policies: 2, delay_policies: 1, active_policies: 2 },
      policies: [
        {
          name: 'abort-one',
          namespace: 'demo',
          target_service: 'frontend',
          rules_count: 1,
          fault_types: ['abort'],
          active: true,
        },
        {
          name: 'mixed',
          namespace: '*',
          target_service: '*',
          rules_count: 3,
          fault_types: ['delay', 'abort'],
          active: true,
        },
      ],
    });
  });

  test('GET /v1/policies/:name: the bare policy, URL-decoded names, the reference 404 body', async () => {
    await post('/v1/policies', examplePolicy('my_policy-1'));
    const got = await get('/v1/policies/my%5Fpolicy%2D1');
    expect(got.status).toBe(200);
    expect(got.json.metadata).toEqual({ name: 'my_policy-1', version: '' });
    expect(got.json.status.rules).toEqual([{ active: true }]);
    const missing = await get('/v1/policies/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      error: 'not_found',
      message: 'The requested resource was not found',
      details: { resource: 'policy', name: 'nope' },
      hfi_code: 'HFI_ERR_POLICY_NOT_FOUND',
      request_id: missing.headers['x-request-id'],
    });
    const slash = await get('/v1/policies/a%2F..%2Fb');
    expect(slash).toMatchObject({
      status: 404,
      json: { hfi_code: 'HFI_ERR_POLICY_NOT_FOUND', details: { name: 'a/../b' } },
    });
  });

  test('PUT /v1/policies/:name: 200, name mismatch 400, missing 404, version must increase', async () => {
    const missing = await put('/v1/policies/ghost', examplePolicy('ghost'));
    expect(missing).toMatchObject({ status: 404, json: { error: 'not_found', hfi_code: 'HFI_ERR_POLICY_NOT_FOUND' } });
    await post('/v1/policies/create', examplePolicy('versioned', { version: '1.2.3' }));
    const mismatch = await put('/v1/policies/versioned', examplePolicy('other-name', { version: '1.2.4' }));
    expect(mismatch).toMatchObject({
      status: 400,
      json: {
        message: 'policy name in URL must match policy name in body',
        hfi_code: 'HFI_ERR_POLICY_NAME_MISMATCH',
      },
    });
    const same = await put('/v1/policies/versioned', examplePolicy('versioned', { version: '1.2.3' }));
    expect(same).toMatchObject({
      status: 400,
      json: { message: 'version must be incremented for updates', hfi_code: 'HFI_ERR_POLICY_VERSION' },
    });
    const lower = await put('/v1/policies/versioned', examplePolicy('versioned', { version: '1.1.9' }));
    expect(lower).toMatchObject({
      status: 400,
      json: { message: 'new version must be greater than old version', hfi_code: 'HFI_ERR_POLICY_VERSION' },
    });
    const revisionBefore = (await get('/v1/policies')).json.revision;
    const ok = await put('/v1/policies/versioned', examplePolicy('versioned', { version: '1.10.0' }));
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      message: 'policy updated successfully',
      policy: { metadata: { name: 'versioned', version: '1.10.0' }, status: { revision: revisionBefore + 1 } },
    });
    // Without a version on either side, any update goes through.
    await post('/v1/policies', examplePolicy('unversioned'));
    expect((await put('/v1/policies/unversioned', examplePolicy('unversioned'))).status).toBe(200);
  });

  test('DELETE /v1/policies/:name: 200 then 404', async () => {
    await post('/v1/policies', examplePolicy('short-lived'));
    expect(await del('/v1/policies/short-lived')).toMatchObject({
      status: 200,
      json: { message: 'policy deleted successfully' },
    });
    expect(await del('/v1/policies/short-lived')).toMatchObject({
      status: 404,
      json: { error: 'not_found', hfi_code: 'HFI_ERR_POLICY_NOT_FOUND' },
    });
  });

  test('every write endpoint returns the specific validation message with its field path', async () => {
    await post('/v1/policies', examplePolicy('target'));
    const bad = examplePolicy('target', { version: '9.9.9' });
    (bad.spec.rules[0] as { fault: { percentage: number } }).fault.percentage = 150;
    const expected = {
      status: 400,
      json: {
        error: 'invalid_input',
        message: 'spec.rules[0].fault.percentage: percentage must be between 0 and 100',
        code: 'validation_error',
        hfi_code: 'HFI_ERR_POLICY_INVALID',
        details: { field: 'spec.rules[0].fault.percentage' },
      },
    };
    expect(await post('/v1/policies', bad)).toMatchObject(expected);
    expect(await post('/v1/policies/create', { ...bad, metadata: { name: 'fresh', version: '1.0.0' } })).toMatchObject(
      expected,
    );
    expect(await put('/v1/policies/target', bad)).toMatchObject(expected);
    expect((await get('/v1/policies')).json.revision).toBe(1);
  });

  test('bodies: YAML accepted, bad JSON 400, wrong content type 415, over 1 MiB 413, no body 400', async () => {
    const yaml =
      'metadata:\n  name: yaml-policy\nspec:\n  rules:\n    - match: {path: {prefix: /}}\n      fault: {percentage: 5, abort: {httpStatus: 500}}\n';
    const created = await request('POST', `${url}/v1/policies`, {
      raw: yaml,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(created).toMatchObject({ status: 201, json: { metadata: { name: 'yaml-policy' } } });

    const badJson = await request('POST', `${url}/v1/policies`, {
      raw: '{"metadata": {"name": "x"},',
      headers: { 'content-type': 'application/json' },
    });
    expect(badJson).toMatchObject({ status: 400, json: { hfi_code: 'HFI_ERR_POLICY_PARSE', details: { line: 1 } } });

    const text = await request('POST', `${url}/v1/policies`, {
      raw: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text).toMatchObject({
      status: 415,
      json: { error: 'unsupported_media_type', hfi_code: 'HFI_ERR_UNSUPPORTED_MEDIA_TYPE' },
    });

    const huge = JSON.stringify({ ...examplePolicy('huge'), padding: 'x'.repeat(1024 * 1024) });
    const tooLarge = await request('POST', `${url}/v1/policies`, {
      raw: huge,
      headers: { 'content-type': 'application/json' },
    });
    expect(tooLarge).toMatchObject({
      status: 413,
      json: { error: 'payload_too_large', hfi_code: 'HFI_ERR_BODY_TOO_LARGE' },
    });
    const chunked = await request('POST', `${url}/v1/policies`, {
      raw: huge,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    expect(chunked).toMatchObject({ status: 413, json: { hfi_code: 'HFI_ERR_BODY_TOO_LARGE' } });
    // Both framings at once is malformed HTTP; even the parser's rejection comes in the common error format.
    const malformed = await request('POST', `${url}/v1/policies`, {
      raw: '{}',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'content-length': '2' },
    });
    expect(malformed).toMatchObject({ status: 400, json: { hfi_code: 'HFI_ERR_BAD_REQUEST', error: 'invalid_input' } });

    const none = await request('POST', `${url}/v1/policies`);
    expect(none).toMatchObject({ status: 400, json: { hfi_code: 'HFI_ERR_POLICY_PARSE' } });
    const empty = await request('POST', `${url}/v1/policies`, {
      raw: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty).toMatchObject({ status: 400, json: { hfi_code: 'HFI_ERR_POLICY_PARSE' } });
    const two = await request('POST', `${url}/v1/policies`, {
      raw: `${yaml}---\n${yaml}`,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(two).toMatchObject({ status: 400, json: { hfi_code: 'HFI_ERR_POLICY_PARSE', details: { documents: 2 } } });

    expect((await get('/v1/policies')).json.policies).toHaveLength(1);
    expect((await get('/v1/health')).status).toBe(200);
  });

  test('unknown routes are 404 HFI_ERR_NOT_FOUND in the same error format', async () => {
    const res = await get('/v2/whatever?x=1');
    expect(res).toMatchObject({
      status: 404,
      json: { error: 'not_found', hfi_code: 'HFI_ERR_NOT_FOUND', details: { path: '/v2/whatever' } },
    });
  });

  test('/metrics exposes request durations, policies, watches, revision and nodes', async () => {
    await post('/v1/policies', examplePolicy('counted'));
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(
      /^hfi_control_plane_http_request_duration_seconds_count\{method="POST",route="\/v1\/policies",status_code="201"\} 1$/m,
    );
    expect(res.text).toMatch(/^hfi_control_plane_policies 1$/m);
    expect(res.text).toMatch(/^hfi_control_plane_revision 1$/m);
    expect(res.text).toMatch(/^hfi_control_plane_pending_watches 0$/m);
    expect(res.text).toMatch(/^hfi_control_plane_nodes\{state="fresh"\} 0$/m);
  });
});
