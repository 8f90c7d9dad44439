// Request ids, access log, auth, readiness failure and 5xx, the SSE stream: the parts around the endpoints.

import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { examplePolicy, request, startTestControlPlane } from '../__tests__/http';
import { checkListenSecurity, parseListenAddress } from '../listen-address';
import { startControlPlane } from '../start';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hfi-mw-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('request ids: an incoming X-Request-ID is echoed, otherwise one is generated; one access-log line each', async () => {
  await using cp = await startTestControlPlane();
  const echoed = await request('GET', `${cp.url}/v1/health?probe=1`, { headers: { 'x-request-id': 'my-trace-42' } });
  expect(echoed.headers['x-request-id']).toBe('my-trace-42');
  const generated = await request('GET', `${cp.url}/v1/policies/missing`);
  const id = generated.headers['x-request-id'] as string;
  expect(id).toMatch(/^\d{14}-[A-Za-z0-9]{6}$/);
  expect(generated.json.request_id).toBe(id);

  const access = cp.logs.lines.filter((l) => l.message === 'HTTP Request');
  expect(access).toEqual([
    expect.objectContaining({
      level: 'info',
      method: 'GET',
      path: '/v1/health',
      query: 'probe=1',
      status: 200,
      latency_ms: expect.any(Number),
      request_id: 'my-trace-42',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    }),
    expect.objectContaining({ level: 'warn', path: '/v1/policies/missing', status: 404, request_id: id }),
  ]);
});

test('a store failure is a 5xx in the common format, logged at error level; /v1/ready says not_ready', async () => {
  const storeDir = join(dir, 'vanishing');
  await using cp = await startTestControlPlane({ store: `file:${join(storeDir, 'p.json')}` });
  expect((await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('before') })).status).toBe(201);
  await rm(storeDir, { recursive: true });
  const failed = await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('after') });
  expect(failed).toMatchObject({
    status: 503,
    json: { error: 'store_unavailable', hfi_code: 'HFI_ERR_STORE_UNAVAILABLE' },
  });
  const ready = await request('GET', `${cp.url}/v1/ready`);
  expect(ready).toMatchObject({ status: 503, json: { status: 'not_ready', reason: 'file connection failed' } });
  expect(ready.json.error).toContain(storeDir);
  expect(cp.logs.lines).toContainEqual(
    expect.objectContaining({
      message: 'HTTP Request',
      level: 'error',
      status: 503,
      request_id: failed.json.request_id,
    }),
  );
  // The last acknowledged state is still served.
  expect((await request('GET', `${cp.url}/v1/policies`)).json.policies).toHaveLength(1);
});

test('with a token, every mutating request needs the bearer token; reads stay open', async () => {
  await using cp = await startTestControlPlane({ token: 's3cret-token' });
  const none = await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('guarded') });
  expect(none).toMatchObject({ status: 401, json: { error: 'unauthorized', hfi_code: 'HFI_ERR_UNAUTHORIZED' } });
  expect(none.headers['www-authenticate']).toBe('Bearer');
  const wrong = await request('POST', `${cp.url}/v1/policies`, {
    body: examplePolicy('guarded'),
    headers: { authorization: 'Bearer s3cret-tokem' },
  });
  expect(wrong.status).toBe(401);
  const auth = { authorization: 'Bearer s3cret-token' };
  expect(
    (await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('guarded'), headers: auth })).status,
  ).toBe(201);
  expect((await request('PUT', `${cp.url}/v1/policies/guarded`, { body: examplePolicy('guarded') })).status).toBe(401);
  expect((await request('DELETE', `${cp.url}/v1/policies/guarded`)).status).toBe(401);
  expect((await request('GET', `${cp.url}/v1/policies/guarded`)).status).toBe(200);
  expect((await request('DELETE', `${cp.url}/v1/policies/guarded`, { headers: auth })).status).toBe(200);
});

test('listening on a non-loopback address without a token is refused unless insecure', async () => {
  await expect(startControlPlane({ listen: '0.0.0.0:0', logLevel: 'silent' })).rejects.toMatchObject({
    code: 'HFI_ERR_INSECURE_LISTEN',
  });
  await expect(startControlPlane({ listen: ':0', logLevel: 'silent' })).rejects.toMatchObject({
    code: 'HFI_ERR_INSECURE_LISTEN',
  });
  const wildcard = parseListenAddress('0.0.0.0:8080');
  expect(() => checkListenSecurity(wildcard, {})).toThrow(expect.objectContaining({ code: 'HFI_ERR_INSECURE_LISTEN' }));
  expect(() => checkListenSecurity(wildcard, { insecure: true })).not.toThrow();
  expect(() => checkListenSecurity(wildcard, { token: 't' })).not.toThrow();
  expect(() => checkListenSecurity(parseListenAddress('[::1]:8080'), {})).not.toThrow();
  expect(() => checkListenSecurity(parseListenAddress('localhost:8080'), {})).not.toThrow();
  expect(() => parseListenAddress('nonsense')).toThrow(expect.objectContaining({ code: 'HFI_ERR_CONFIG' }));
});

test('GET /v1/config/stream: full_config on connect, update after each change (reference SSE)', async () => {
  await using cp = await startTestControlPlane();
  await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('streamed') });
  const events: { event: string; data: unknown }[] = [];
  let onEvent: () => void = () => undefined;
  const req = http.get(`${cp.url}/v1/config/stream`);
  const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          onEvent();
          end = buffer.indexOf('\n\n');
        }
      });
      resolve(res.headers);
    });
  });
  const waitForEvents = (n: number) =>
    new Promise<void>((resolve) => {
      onEvent = () => events.length >= n && resolve();
      onEvent();
    });
  try {
    expect(headers['content-type']).toBe('text/event-stream');
    expect(headers['access-control-allow-origin']).toBe('*');
    await waitForEvents(1);
    expect(events[0]).toMatchObject({ event: 'full_config', data: [{ metadata: { name: 'streamed' } }] });
    await request('DELETE', `${cp.url}/v1/policies/streamed`);
    await waitForEvents(2);
    expect(events[1]).toEqual({ event: 'update', data: [] });
  } finally {
    req.destroy();
  }
});
