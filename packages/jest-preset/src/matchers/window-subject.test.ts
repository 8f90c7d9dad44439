/// <reference path="../../types/jest.d.ts" />
// The matchers on real fault windows: the control plane, a local sidecar running the real plugin.wasm in front of a
// small upstream, and an HfiClient scraping the sidecar's admin endpoint.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import type { NodeStatus } from '@hfi/core';
import { type StartedSidecar, startSidecar } from '@hfi/filter';
import { DirectSource, type FaultWindow, HfiClient, type NodeList } from '@hfi/sdk';
import { failureMessage, tableRow, usageError } from '../__fixtures__/assertion-failure';
import { waitForSidecars } from '../mesh/wait-for-sidecars';
import { PUBLISHED_ENV } from '../runtime/published-env';
import { forgetRuntime } from '../runtime/worker';
import { hfiMatchers } from './index';

expect.extend(hfiMatchers);

let upstream: Server;
let controlPlane: StartedControlPlane;
let sidecar: StartedSidecar;
let source: DirectSource;
let client: HfiClient;
const selector = { service: 'frontend', namespace: 'demo' };

beforeAll(async () => {
  upstream = createServer((_req, res) => res.end('ok'));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  controlPlane = await startControlPlane({ logLevel: 'silent' });
  sidecar = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    controlPlane: controlPlane.url,
    workload: 'frontend',
    namespace: 'demo',
    labels: { app: 'frontend' },
    flushIntervalMs: 100,
    logSink: () => undefined,
  });
  source = new DirectSource([{ url: sidecar.adminUrl, pod: 'frontend-local' }]);
  client = new HfiClient({ controlPlane: controlPlane.url, metrics: source });
  await waitForSidecars({
    nodes: () => client.nodes(),
    sidecars: [{ name: 'frontend', namespace: 'demo', pod: 'frontend-local', workers: 2 }],
    timeoutMs: 30_000,
  });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await source?.close();
  await sidecar?.close();
  await controlPlane?.close();
  upstream?.close();
});

afterEach(async () => {
  await Promise.all(client.windows.map((w) => w.close()));
});

async function send(path: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) {
    const res = await fetch(`${sidecar.url}${path}`);
    await res.text();
    statuses.push(res.status);
  }
  return statuses;
}

function abortWindow(options: { percentage?: number; path?: string } = {}): Promise<FaultWindow> {
  return client.openFaultWindow({
    selector,
    abort: { httpStatus: 503 },
    percentage: options.percentage ?? 100,
    duration: '60s',
    ...(options.path ? { match: { path: { prefix: options.path } } } : {}),
  });
}

describe('fault matchers on a window', () => {
  it("read the window's metrics: pass on the real count, fail with the window line and the table", async () => {
    const win = await abortWindow();
    expect(await send('/', 3)).toEqual([503, 503, 503]);
    await expect(win).toHaveInjectedAborts(3);
    await expect(win).toHaveInjectedFaults({ aborts: 3, delays: 0 });
    const message = await failureMessage(() => expect(win).toHaveInjectedAborts(4));
    expect(message).toContain('Received aborts: 3');
    expect(message).toContain(
      `Window: ${win.name} on { service: "frontend", namespace: "demo" }, revision ${win.revision}, 1 sidecar(s) acked it when it opened`,
    );
    expect(tableRow(message, 'frontend-local')).toEqual(['frontend-local', '3', '0', '0', '0']);
  });

  it('name the selector and the match when the requests missed the window', async () => {
    const win = await abortWindow({ path: '/api' });
    expect(await send('/health', 2)).toEqual([200, 200]);
    await expect(win).toHaveNoInjectedFaults();
    const message = await failureMessage(() => expect(win).toHaveInjectedAborts(2));
    expect(message).toContain('no fault was injected: the selector or the match did not hit traffic');
    expect(message).toContain(
      'the window selects { service: "frontend", namespace: "demo" }, acked by demo/frontend-local',
    );
    expect(message).toContain('and matches {"path":{"prefix":"/api"}}');
    expect(message).toContain('send the requests through the sidecar (service(name).url)');
  });

  it('point at the binomial matcher when a partial window is asserted with an exact count', async () => {
    const win = await abortWindow({ percentage: 50 });
    const statuses = await send('/', 40);
    const aborted = statuses.filter((s) => s === 503).length;
    await expect(win).toHaveInjectedAborts(aborted);
    await expect(win).toHaveAbortRatio(0.5, { requests: 40 });
    const message = await failureMessage(() => expect(win).toHaveInjectedAborts(41));
    expect(message).toContain('the window injects 50% of the matching requests, so the count is random (binomial)');
    expect(message).toContain('toHaveAbortRatio(0.5, { requests })');
  });

  it("explain Envoy's bucket edges for a delay window", async () => {
    const win = await client.openFaultWindow({
      selector,
      delay: { fixedDelayMs: 100 },
      percentage: 100,
      duration: '60s',
    });
    await send('/', 2);
    await expect(win).toHaveInjectedDelays(2);
    await expect(win).toHaveDelayHistogram({ count: 2, buckets: { '250': 2 } });
    const message = await failureMessage(() => expect(win).toHaveDelayHistogram({ buckets: { '100': 2 } }));
    expect(message).toContain('Received histogram: {"buckets": {"100": 0}}');
    expect(message).toContain(
      'a 100 ms delay is counted from Envoy\'s le="250" bucket up (the buckets are cumulative, and a value equal to a bound lands in the next bucket)',
    );
  }, 30_000);

  it('refuse a closed window and point at the delta close() returned', async () => {
    const win = await abortWindow();
    await send('/', 1);
    const delta = await win.close();
    await expect(delta).toHaveInjectedAborts(1);
    const err = await usageError(() => expect(win).toHaveInjectedAborts(1));
    expect(err.message).toContain(`the fault window ${win.name} is closed`);
    expect(err.message).toContain('const delta = await win.close()');
  });

  it('refuse asymmetric use on a window with a hint', async () => {
    const win = await abortWindow();
    const err = await usageError(() => expect({ w: win }).toEqual({ w: expect.toHaveInjectedAborts(0) }));
    expect(err.message).toContain('the asymmetric form expect.toHaveInjectedAborts(…) can only check a FaultDelta');
    await send('/', 1);
    expect({ w: await win.metrics() }).toEqual({ w: expect.toHaveInjectedAborts(1) });
  });
});

/** A control plane reader that answers with a fixed node list (fake: a lagging sidecar cannot be staged reliably). */
function fakeReader(nodes: Partial<NodeStatus>[], revision: number): { nodes(): Promise<NodeList> } {
  const full = nodes.map((n, i) => ({
    instance: `i${i}`,
    workload: 'frontend',
    namespace: 'demo',
    pod: `frontend-${i}`,
    labels: { app: 'frontend' },
    applied_revision: revision,
    last_seen: new Date().toISOString(),
    stale: false,
    ...n,
  }));
  return { nodes: async () => ({ nodes: full, revision }) };
}

describe('toBeAppliedOnAllTargets', () => {
  it('passes once every sidecar applied the window, and .not fails with the sidecar table', async () => {
    const win = await abortWindow();
    await expect(win).toBeAppliedOnAllTargets({ controlPlane: client });
    const message = await failureMessage(() => expect(win).not.toBeAppliedOnAllTargets({ controlPlane: client }));
    expect(message).toContain('expect(received).not.toBeAppliedOnAllTargets(options)');
    expect(message).toContain(
      `Expected: not every sidecar matching { service: "frontend", namespace: "demo" } to have applied revision ${win.revision}`,
    );
    expect(message).toContain('Received: 2 of 2 live matching sidecar instance(s) applied it');
    expect(message).toMatch(/pod\s+instance\s+workload\s+namespace\s+applied revision\s+state/);
    expect(message).toMatch(/frontend-local\s+\S+\s+frontend\s+demo\s+\d+\s+applied/);
  });

  it('fails on a sidecar behind the revision, with a fake control plane reader', async () => {
    const win = await abortWindow();
    const reader = fakeReader([{}, { applied_revision: win.revision - 1, pod: 'frontend-1' }], win.revision);
    const message = await failureMessage(() => expect(win).toBeAppliedOnAllTargets({ controlPlane: reader }));
    expect(message).toContain('Received: 1 of 2 live matching sidecar instance(s) applied it');
    expect(message).toMatch(/frontend-1\s+i1\s+frontend\s+demo\s+\d+\s+behind/);
    expect(message).toContain(`demo/frontend-1 (i1) has not applied revision ${win.revision}`);
  });

  it('fails when the selector matches no sidecar, with the reasons (fake control plane reader)', async () => {
    const win = await abortWindow();
    const reader = fakeReader([{ namespace: 'shop' }], win.revision);
    const message = await failureMessage(() => expect(win).toBeAppliedOnAllTargets({ controlPlane: reader }));
    expect(message).toContain('Received: 0 of 0 live matching sidecar instance(s) applied it');
    expect(message).toContain('the selector matches no live sidecar');
    expect(message).toContain('namespace is "shop", not "demo"');
  });

  it('without the preset and without a control plane, throws a hint', async () => {
    const win = await abortWindow();
    // Another project's global setup (the examples) may have published a runtime to this worker.
    const saved = Object.values(PUBLISHED_ENV).map((name) => [name, process.env[name]] as const);
    for (const [name] of saved) delete process.env[name];
    forgetRuntime();
    try {
      const err = await usageError(() => expect(win).toBeAppliedOnAllTargets());
      expect(err.message).toContain("without the preset's global setup there is no default control plane");
    } finally {
      for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
      forgetRuntime();
    }
  });
});
