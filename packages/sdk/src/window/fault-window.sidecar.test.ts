// Fault windows end to end: a real control plane, real local sidecars running the real plugin.wasm (two workers
// each), real HTTP traffic through them, and metrics scraped from their admin endpoints.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import { type StartedSidecar, startSidecar } from '@hfi/filter';
import { Agent, request } from 'undici';
import { HfiClient } from '../hfi-client';
import { expectedRange } from '../metrics/binomial';
import { DirectSource } from '../metrics/direct-source';
import { envoyBucketFor } from '../metrics/envoy-histogram';
import type { FaultDelta, PodDelta } from '../metrics/types';

jest.setTimeout(120_000);

const WORKERS = 2;

let upstream: Server;
let cp: StartedControlPlane;
let frontend: StartedSidecar;
let backend: StartedSidecar;
let metrics: DirectSource;
let hfi: HfiClient;
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
const logs: string[] = [];

interface Outcome {
  status: number;
  injected: boolean;
  elapsedMs: number;
}

async function send(base: string, path: string, headers: Record<string, string> = {}): Promise<Outcome> {
  const started = performance.now();
  const res = await request(`${base}${path}`, { dispatcher: agent, headers });
  await res.body.text();
  return {
    status: res.statusCode,
    injected: res.headers['x-fault-injected'] !== undefined,
    elapsedMs: performance.now() - started,
  };
}

/** `n` requests, a few at a time (several workers, several connections). */
async function drive(
  n: number,
  base: string,
  path: string,
  headers: Record<string, string> = {},
  concurrency = 4,
): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        out.push(await send(base, path, headers));
      }
    }),
  );
  return out;
}

const pod = (d: FaultDelta, name: string): PodDelta | undefined => d.perPod.find((p) => p.pod === name);

async function waitForInstances(expected: number): Promise<void> {
  for (;;) {
    const { nodes } = await hfi.nodes();
    if (nodes.filter((n) => !n.stale).length >= expected) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  cp = await startControlPlane({ logLevel: 'silent' });
  const common = {
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: upstreamUrl,
    controlPlane: cp.url,
    namespace: 'demo',
    workers: WORKERS,
    // Histograms reach /stats/prometheus only at a flush; a short interval keeps the delay test quick.
    flushIntervalMs: 100,
    logSink: (line: string) => {
      logs.push(line);
    },
  };
  frontend = await startSidecar({ ...common, workload: 'frontend', pod: 'frontend-0', labels: { app: 'frontend' } });
  backend = await startSidecar({ ...common, workload: 'backend', pod: 'backend-0', labels: { app: 'backend' } });
  metrics = new DirectSource([
    { url: frontend.adminUrl, pod: 'frontend-0' },
    { url: backend.adminUrl, pod: 'backend-0' },
  ]);
  hfi = new HfiClient({ controlPlane: cp.url, metrics, ackTimeoutMs: 20_000, flushTimeoutMs: 20_000 });
  // Every worker of both sidecars has polled: a window then targets all of them.
  await waitForInstances(2 * WORKERS);
}, 120_000);

afterAll(async () => {
  await hfi?.close();
  await metrics?.close();
  await frontend?.close();
  await backend?.close();
  await cp?.close();
  await agent.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

afterEach(() => {
  // Only worth reading when a test failed; kept short either way.
  logs.splice(0);
});

it('abort at 100%: every matching request is aborted and counted once, on the frontend pod only', async () => {
  const n = 40;
  await using win = await hfi.openFaultWindow({
    selector: { service: 'frontend', namespace: 'demo' },
    match: { method: 'GET', path: { prefix: '/api' } },
    abort: { httpStatus: 503, body: 'injected by a test' },
    percentage: 100,
    duration: '2m',
  });
  expect(win.targets).toHaveLength(WORKERS);
  expect(win.targets.every((t) => t.pod === 'frontend-0')).toBe(true);

  const hits = await drive(n, frontend.url, '/api/items');
  const misses = await drive(10, frontend.url, '/health');
  const other = await drive(15, backend.url, '/api/items');
  expect(hits.map((o) => o.status)).toEqual(Array(n).fill(503));
  expect(hits.every((o) => o.injected)).toBe(true);
  expect(misses.map((o) => o.status)).toEqual(Array(10).fill(200));
  expect(other.map((o) => o.status)).toEqual(Array(15).fill(200));

  const d = await win.metrics();
  expect(d.aborts).toBe(n);
  expect(d.delays).toBe(0);
  expect(pod(d, 'frontend-0')).toMatchObject({ aborts: n, delays: 0, reset: false });
  // The selector left the other service alone.
  expect(pod(d, 'backend-0')).toMatchObject({ aborts: 0, delays: 0 });
  expect(d.missingMetrics).toEqual([]);

  const final = await win.close();
  expect(final?.aborts).toBe(n);
  // After close the policy is gone everywhere: the same requests pass.
  expect((await drive(10, frontend.url, '/api/items')).map((o) => o.status)).toEqual(Array(10).fill(200));
});

it('delay: every matching request is delayed, and after the flush the histogram agrees with the counter', async () => {
  const n = 12;
  const delayMs = 40;
  await using win = await hfi.openFaultWindow({
    selector: { service: 'frontend', namespace: 'demo' },
    match: { path: { prefix: '/slow' } },
    delay: { fixedDelayMs: delayMs },
    percentage: 100,
    duration: '2m',
  });
  const outcomes = await drive(n, frontend.url, '/slow/op');
  expect(outcomes.map((o) => o.status)).toEqual(Array(n).fill(200));
  // A lower bound only: the request cannot have been answered before its delay ran out.
  for (const o of outcomes) expect(o.elapsedMs).toBeGreaterThanOrEqual(delayMs - 1);

  const d = await win.metrics();
  expect(d.delays).toBe(n);
  expect(d.aborts).toBe(0);
  expect(d.delayHistogram.count).toBe(n);
  expect(d.delayHistogram.sum).toBeGreaterThanOrEqual(n * delayMs * 0.9);
  expect(d.delayHistogram.sum).toBeLessThanOrEqual(n * delayMs * 1.1);
  // All of them in the bucket Envoy puts 40 ms in, none below it.
  const le = envoyBucketFor(delayMs);
  const buckets = d.delayHistogram.buckets;
  const at = buckets.find((b) => b.le === le);
  const below = buckets.filter((b) => b.le < le).at(-1);
  expect(at?.count).toBe(n);
  expect(below?.count ?? 0).toBe(0);
  expect(pod(d, 'frontend-0')?.histogramLagging).toBe(false);
  expect(pod(d, 'backend-0')).toMatchObject({ delays: 0 });
  const q = d.delayHistogram.quantile(0.5);
  expect(q).toBeGreaterThan(below?.le ?? 0);
  expect(q).toBeLessThanOrEqual(le);
});

it('percentage: 30% of many requests lands in the binomial range', async () => {
  const n = 400;
  const p = 0.3;
  await using win = await hfi.openFaultWindow({
    selector: { service: 'frontend' },
    match: { path: { prefix: '/pct' } },
    abort: { httpStatus: 500 },
    percentage: p * 100,
    duration: '2m',
  });
  const outcomes = await drive(n, frontend.url, '/pct/x', {}, 8);
  const aborted = outcomes.filter((o) => o.status === 500).length;
  expect(aborted + outcomes.filter((o) => o.status === 200).length).toBe(n);
  const range = expectedRange(n, p, 0.9999);
  expect(aborted).toBeGreaterThanOrEqual(range.low);
  expect(aborted).toBeLessThanOrEqual(range.high);
  const d = await win.metrics();
  expect(d.aborts).toBe(aborted);
});

it('header match: only requests carrying the header are hit', async () => {
  await using win = await hfi.openFaultWindow({
    selector: { service: 'frontend', namespace: 'demo' },
    match: { method: 'GET', path: { prefix: '/api' }, headers: [{ name: 'x-user', exact: 'test' }] },
    abort: { httpStatus: 418 },
    percentage: 100,
    duration: 60_000,
  });
  const tagged = await drive(15, frontend.url, '/api/cart', { 'x-user': 'test' });
  const untagged = await drive(15, frontend.url, '/api/cart');
  const otherUser = await drive(5, frontend.url, '/api/cart', { 'x-user': 'someone' });
  expect(tagged.map((o) => o.status)).toEqual(Array(15).fill(418));
  expect([...untagged, ...otherUser].map((o) => o.status)).toEqual(Array(20).fill(200));
  const d = await win.metrics();
  expect(d.aborts).toBe(15);
});

it('start delay: each hit waits the start delay, then gets its fault', async () => {
  const startDelayMs = 150;
  await using win = await hfi.openFaultWindow({
    selector: { service: 'frontend' },
    match: { path: { prefix: '/late' } },
    abort: { httpStatus: 503 },
    percentage: 100,
    startDelayMs,
    duration: 60_000,
  });
  expect(win.policy.spec.rules[0]?.fault.start_delay_ms).toBe(startDelayMs);
  const outcomes = await drive(6, frontend.url, '/late/x', {}, 3);
  expect(outcomes.map((o) => o.status)).toEqual(Array(6).fill(503));
  for (const o of outcomes) expect(o.elapsedMs).toBeGreaterThanOrEqual(startDelayMs - 1);
  const d = await win.metrics();
  expect(d.aborts).toBe(6);
});
