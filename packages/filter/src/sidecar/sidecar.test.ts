import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isHfiError } from '@hfi/core';
import { request } from 'undici';
import { testPluginPath } from '../host/__tests__/test-plugin';
import { DEFAULT_PLUGIN_PATH } from '../host/plugin-vm';
import { type StartedSidecar, type StartSidecarOptions, startSidecar } from './sidecar';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let upstream: Server;
let upstreamUrl: string;
let controlPlane: Server;
let controlPlaneUrl: string;
let deadUrl: string;
let pluginPath: string;
const seen: Seen[] = [];
/** Requests to /hold get no answer; their upstream responses land here until they close. */
const held: { closed: Promise<unknown> }[] = [];
let heldArrived: (() => void) | undefined;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  pluginPath = await testPluginPath();
  upstream = await listen(async (req, res) => {
    if (req.url === '/hold') {
      held.push({ closed: once(res, 'close') });
      heldArrived?.();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const status = Number(req.headers['x-status'] ?? 200);
    const text = `${req.method} ${req.url} ${body}`;
    const length = status === 204 || status === 304 ? {} : { 'content-length': String(Buffer.byteLength(text)) };
    res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream': 'yes', ...length });
    res.end(status === 204 || status === 304 ? undefined : text);
  });
  upstreamUrl = urlOf(upstream);
  controlPlane = await listen((_req, res) => {
    res.writeHead(503).end();
  });
  controlPlaneUrl = urlOf(controlPlane);
  const dead = await listen(() => {});
  deadUrl = urlOf(dead);
  dead.close();
  await once(dead, 'close');
}, 120_000);

afterAll(() => {
  for (const server of [upstream, controlPlane]) {
    server.closeAllConnections();
    server.close();
  }
});

const open: StartedSidecar[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(
  options: Partial<StartSidecarOptions> = {},
): Promise<{ sidecar: StartedSidecar; lines: string[]; waitForLine: (text: string) => Promise<void> }> {
  const lines: string[] = [];
  const waiting: { text: string; resolve: () => void }[] = [];
  const sidecar = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: upstreamUrl,
    controlPlane: controlPlaneUrl,
    workload: 'frontend',
    namespace: 'demo',
    labels: { app: 'frontend' },
    plugin: pluginPath,
    logSink: (line) => {
      lines.push(line);
      for (const w of waiting.filter((x) => line.includes(x.text))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    },
    ...options,
  });
  open.push(sidecar);
  const waitForLine = (text: string) =>
    lines.some((l) => l.includes(text))
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ text, resolve }));
  return { sidecar, lines, waitForLine };
}

async function send(
  sidecar: StartedSidecar,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const res = await request(`${sidecar.url}${path}`, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers,
    body: options.body,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('startSidecar proxying', () => {
  it('forwards a GET with its headers and lets the plugin add request and response headers', async () => {
    const { sidecar } = await start();
    const before = seen.length;
    const res = await send(sidecar, '/hello?x=1', { headers: { 'x-custom': 'abc' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('GET /hello?x=1 ');
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers['x-seen-status']).toBe('200');
    expect(Number(res.headers['x-envoy-upstream-service-time'])).toBeGreaterThanOrEqual(0);
    const got = seen[before];
    expect(got.headers.host).toBe(new URL(sidecar.url).host);
    expect(got.headers['x-custom']).toBe('abc');
    expect(got.headers['x-forwarded-proto']).toBe('http');
    expect(got.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.headers['x-eos']).toBe('true');
    expect(got.headers['x-header-count']).toBeDefined();
  });

  it.each([
    ['POST', 201],
    ['PUT', 200],
    ['PATCH', 404],
    ['DELETE', 500],
  ])('forwards %s with its body and the status %s', async (method, status) => {
    const { sidecar } = await start();
    const res = await send(sidecar, '/items/1', {
      method,
      headers: { 'x-status': String(status) },
      body: method === 'DELETE' ? undefined : 'payload',
    });
    expect(res.status).toBe(status);
    expect(res.body).toBe(`${method} /items/1 ${method === 'DELETE' ? '' : 'payload'}`);
  });

  it('passes 204 and HEAD responses without a body', async () => {
    const { sidecar } = await start();
    const noContent = await send(sidecar, '/x', { headers: { 'x-status': '204' } });
    expect(noContent).toMatchObject({ status: 204, body: '' });
    const head = await send(sidecar, '/x', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(String('HEAD /x '.length));
  });

  it('forwards request and response bodies as the plugin rewrote them', async () => {
    const { sidecar } = await start();
    const before = seen.length;
    const upper = await send(sidecar, '/echo', {
      method: 'POST',
      headers: { 'x-test-action': 'body-upper' },
      body: 'hello',
    });
    expect(upper.body).toBe('POST /echo HELLO');
    expect(seen[before].headers['content-length']).toBe('5');
    const appended = await send(sidecar, '/echo', { headers: { 'x-test-action': 'resp-body' } });
    expect(appended.body).toBe('GET /echo  [filtered]');
    expect(appended.headers['content-length']).toBe(String('GET /echo  [filtered]'.length));
  });
});

describe('startSidecar plugin behaviour', () => {
  it("answers the plugin's local response without calling the upstream, through the response callbacks", async () => {
    const { sidecar } = await start();
    const before = seen.length;
    const res = await send(sidecar, '/x', { headers: { 'x-test-action': 'local' } });
    expect(res.status).toBe(418);
    expect(res.body).toBe('I am a teapot');
    expect(res.headers['x-local']).toBe('yes');
    expect(res.headers['content-type']).toBe('text/teapot');
    expect(res.headers['x-seen-status']).toBe('418');
    expect(seen.length).toBe(before);
  });

  it("looks at the plugin's due ticks before each upstream dispatch and again as undici writes it", async () => {
    const { sidecar } = await start();
    const runDueTicks = jest.spyOn(sidecar.plugin, 'runDueTicks');
    // The first request opens the upstream connection; the second reuses it, and undici writes it from a
    // setImmediate callback, where nothing else would look at the ticks.
    for (let i = 0; i < 2; i++) expect((await send(sidecar, '/hello')).status).toBe(200);
    expect(runDueTicks).toHaveBeenCalledTimes(4);
  });

  it('holds a paused request until the plugin continues it', async () => {
    const { sidecar, waitForLine } = await start({ workers: 1 });
    let answered = false;
    const pending = send(sidecar, '/paused', { headers: { 'x-test-action': 'pause-tick' } }).then((res) => {
      answered = true;
      return res;
    });
    await waitForLine('context create 2 parent 1');
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    sidecar.plugin.tick();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body).toBe('GET /paused ');
  });

  it('cancels the upstream request when the downstream goes away', async () => {
    const { sidecar } = await start();
    const arrived = new Promise<void>((resolve) => {
      heldArrived = resolve;
    });
    const controller = new AbortController();
    const pending = request(`${sidecar.url}/hold`, { signal: controller.signal }).catch((e: unknown) => e);
    await arrived;
    controller.abort();
    await pending;
    await held[held.length - 1].closed;
    expect((await send(sidecar, '/after')).status).toBe(200);
  });

  it('resets the connection when the plugin closes the stream', async () => {
    const { sidecar } = await start();
    await expect(send(sidecar, '/x', { headers: { 'x-test-action': 'close' } })).rejects.toThrow();
    expect((await send(sidecar, '/after')).status).toBe(200);
  });

  it('keeps serving, untouched, after the plugin traps (fail open)', async () => {
    const { sidecar, lines } = await start({ workers: 1 });
    expect((await send(sidecar, '/x', { headers: { 'x-test-action': 'trap' } })).status).toBe(200);
    const res = await send(sidecar, '/y', { headers: { 'x-test-action': 'local' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-seen-status']).toBeUndefined();
    expect(lines.some((l) => l.includes('Function: proxy_on_request_headers failed'))).toBe(true);
  });

  it('configures the plugin with the control plane as an Istio outbound cluster it can call', async () => {
    const { sidecar, lines } = await start();
    const port = new URL(controlPlaneUrl).port;
    expect(sidecar.controlPlaneCluster).toBe(`outbound|${port}||127.0.0.1`);
    const configure = lines.find((l) => l.includes('wasm log hfi hfi: configure: '));
    expect(configure).toBeDefined();
    expect(JSON.parse(configure?.split('configure: ')[1] ?? '')).toEqual({
      control_plane_address: `127.0.0.1:${port}`,
      control_plane_cluster: `outbound|${port}||127.0.0.1`,
    });
    const res = await send(sidecar, '/x', {
      headers: { 'x-test-action': 'dispatch', 'x-cluster': sidecar.controlPlaneCluster },
    });
    expect(res.status).toBe(200);
    expect(seen.at(-1)?.headers['x-call-status']).toBe('503');
  });

  it('logs like Envoy, including the VM and filter creation lines', async () => {
    const { lines } = await start({ workers: 2 });
    expect(lines.filter((l) => /^\[[\d-]+ [\d:.]+\]\[\d\]\[info\]\[wasm\] wasm vm created/.test(l))).toHaveLength(2);
    expect(lines.some((l) => l.includes('wasm filter created'))).toBe(true);
    expect(
      lines.some((l) => /\]\[info\]\[wasm\] wasm log hfi hfi: Defined metric: test\.requests_total$/.test(l)),
    ).toBe(true);
  });
});

describe('startSidecar failures and lifecycle', () => {
  it('answers 503 "no healthy upstream" when the upstream is down, and keeps running', async () => {
    const { sidecar } = await start({ upstream: deadUrl });
    const res = await send(sidecar, '/x');
    expect(res).toMatchObject({ status: 503, body: 'no healthy upstream' });
    expect(res.headers['x-seen-status']).toBe('503');
    expect((await send(sidecar, '/y')).status).toBe(503);
  });

  it('serves the admin endpoints with the plugin metrics', async () => {
    const { sidecar } = await start();
    await send(sidecar, '/x');
    const ready = await request(`${sidecar.adminUrl}/ready`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.text()).toBe('LIVE\n');
    const stats = await (await request(`${sidecar.adminUrl}/stats/prometheus`)).body.text();
    expect(stats).toContain('test_requests_total{} 1\n');
    // two workers plus the main thread's base VM
    expect(stats).toContain('envoy_wasm_envoy_wasm_runtime_v8_active{} 3\n');
    const dump = JSON.parse(await (await request(`${sidecar.adminUrl}/config_dump`)).body.text());
    expect(JSON.stringify(dump)).toContain('envoy.extensions.filters.http.wasm.v3.Wasm');
  });

  it('runs several sidecars in one process, each with its own plugin and stats', async () => {
    const a = await start({ workload: 'frontend' });
    const b = await start({ workload: 'backend', labels: { app: 'backend' } });
    expect(a.sidecar.url).not.toBe(b.sidecar.url);
    await send(a.sidecar, '/1');
    await send(a.sidecar, '/2');
    await send(b.sidecar, '/3');
    const count = async (s: StartedSidecar) =>
      /test_requests_total\{\} (\d+)/.exec(await (await request(`${s.adminUrl}/stats/prometheus`)).body.text())?.[1];
    expect(await count(a.sidecar)).toBe('2');
    expect(await count(b.sidecar)).toBe('1');
  });

  it('rejects a taken port with HFI_ERR_SIDECAR_START and bad options with HFI_ERR_CONFIG', async () => {
    const { sidecar } = await start();
    const taken = await start({ listen: sidecar.url.replace('http://', '') }).catch((e: unknown) => e);
    expect(isHfiError(taken, 'HFI_ERR_SIDECAR_START')).toBe(true);
    const bad = await start({ upstream: 'ftp://x' }).catch((e: unknown) => e);
    expect(isHfiError(bad, 'HFI_ERR_CONFIG')).toBe(true);
    expect((bad as { field?: string }).field).toBe('upstream');
  });

  it('closes with await using, releasing its ports', async () => {
    let url = '';
    {
      await using sidecar = await startSidecar({
        listen: 0,
        admin: 0,
        upstream: upstreamUrl,
        controlPlane: controlPlaneUrl,
        workload: 'frontend',
        namespace: 'demo',
        plugin: pluginPath,
        logSink: () => {},
      });
      url = sidecar.url;
      expect((await send(sidecar, '/x')).status).toBe(200);
    }
    await expect(request(url)).rejects.toThrow();
  });
});

const describeBuilt = require('node:fs').existsSync(DEFAULT_PLUGIN_PATH) ? describe : describe.skip;

describeBuilt('startSidecar with the real plugin.wasm', () => {
  it('proxies traffic and exports the hfi metrics', async () => {
    const { sidecar } = await start({ plugin: undefined });
    const res = await send(sidecar, '/api/items');
    expect(res.status).toBe(200);
    const stats = await (await request(`${sidecar.adminUrl}/stats/prometheus`)).body.text();
    expect(stats).toContain('wasmcustom_hfi_faults_aborts_total{} 0');
    expect(stats).toContain('wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{le="0.5"} 0');
  });
});
