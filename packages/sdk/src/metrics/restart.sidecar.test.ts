// Counter resets across a sidecar restart, end to end: a real local sidecar (real plugin.wasm) is stopped and a new
// one started on the same admin address, as a restarted pod keeps its name; the delta must flag the reset and count
// what the new sidecar injected, not a negative difference.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import { type StartedSidecar, startSidecar } from '@hfi/filter';
import { ControlPlaneClient } from '../client/control-plane-client';
import { diffSnapshots } from './delta';
import { DirectSource } from './direct-source';

jest.setTimeout(120_000);

let upstream: Server;
let cp: StartedControlPlane;
let client: ControlPlaneClient;

beforeAll(async () => {
  upstream = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  cp = await startControlPlane({ listen: '127.0.0.1:0', logLevel: 'error' });
  client = new ControlPlaneClient({ url: cp.url });
});

afterAll(async () => {
  await client?.close();
  await cp?.close();
  upstream?.close();
});

async function sidecar(admin: string, pod: string): Promise<StartedSidecar> {
  return startSidecar({
    listen: '127.0.0.1:0',
    admin,
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    controlPlane: cp.url,
    workload: 'frontend',
    namespace: 'demo',
    pod,
    workers: 1,
    logSink: () => {},
  });
}

async function acked(pod: string, revision: number): Promise<void> {
  for (;;) {
    const { nodes } = await client.nodes();
    if (nodes.some((n) => n.pod === pod && !n.stale && n.applied_revision >= revision)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function abortRequests(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/api/x`);
    await res.text();
    expect(res.status).toBe(503);
  }
}

it('flags the reset and counts the new sidecar’s aborts after a restart on the same admin address', async () => {
  const applied = await client.applyPolicy({
    metadata: { name: 'restart-abort' },
    spec: {
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [{ match: { path: { prefix: '/api' } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }],
    },
  });
  const revision = (applied as { status?: { revision?: number } }).status?.revision ?? 1;

  let first = await sidecar('127.0.0.1:0', 'frontend-a');
  const admin = new URL(first.adminUrl).host;
  await acked('frontend-a', revision);
  const source = new DirectSource([{ url: first.adminUrl, pod: 'frontend-0' }]);
  await abortRequests(first.url, 5);
  const before = await source.snapshot();
  expect(before.pods[0].metrics.aborts).toBe(5);

  await first.close();
  first = await sidecar(admin, 'frontend-b'); // same admin address: the same pod to the metric source
  try {
    await acked('frontend-b', revision);
    await abortRequests(first.url, 2);
    const delta = diffSnapshots(before, await source.snapshot());
    const pod = delta.perPod.find((p) => p.pod === 'frontend-0');
    expect(pod).toMatchObject({ reset: true, aborts: 2 });
    expect(delta.aborts).toBe(2);
  } finally {
    await first.close();
    await source.close?.();
  }
});
