// Fault windows against a real control plane (in-process, memory store), with fake sidecars: plain HTTP watch
// loops that report an identity and ack like the filter does. The traffic-and-metrics tests with real local
// sidecars running plugin.wasm are in fault-window.sidecar.test.ts.
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import { HfiError, type NodeStatus } from '@hfi/core';
import { HfiClient } from '../hfi-client';
import { type FakeSidecar, startFakeSidecar } from './__tests__/fake-sidecar';
import { exitHooksInstalled } from './exit-hooks';

jest.setTimeout(60_000);

async function rejection(promise: Promise<unknown>): Promise<HfiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(HfiError);
    return err as HfiError;
  }
  throw new Error('expected a rejection');
}

const abortWindow = {
  abort: { httpStatus: 503 },
  percentage: 100,
  duration: '60s',
} as const;

describe('fault windows with fake sidecars', () => {
  let cp: StartedControlPlane;
  let hfi: HfiClient;
  const fakes: FakeSidecar[] = [];

  async function fake(options: Parameters<typeof startFakeSidecar>[1]): Promise<FakeSidecar> {
    const sidecar = startFakeSidecar(cp.url, options);
    fakes.push(sidecar);
    await sidecar.firstContact;
    return sidecar;
  }

  async function stopFakes(): Promise<void> {
    await Promise.all(fakes.splice(0).map((f) => f.stop()));
  }

  // Each test gets a fresh control plane, so sidecars left by one test are not seen by the next.
  beforeEach(async () => {
    cp = await startControlPlane({ logLevel: 'silent' });
    hfi = new HfiClient({ controlPlane: cp.url, ackTimeoutMs: 10_000 });
  });

  afterEach(async () => {
    await hfi.close().catch(() => undefined);
    await stopFakes();
    await cp.close();
  });

  it('fake sidecar: opens once every target acked, with the policy stored with a duration', async () => {
    const a = await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-a' });
    const b = await fake({ workload: 'other', namespace: 'demo', pod: 'frontend-b', labels: { app: 'frontend' } });
    await fake({ workload: 'backend', namespace: 'demo' });

    const win = await hfi.openFaultWindow({
      selector: { service: 'frontend', namespace: 'demo' },
      match: { method: 'GET', path: { prefix: '/api' }, headers: [{ name: 'x-user', exact: 'test' }] },
      ...abortWindow,
    });
    expect(win.closed).toBe(false);
    expect(win.targets.map((t) => t.instance).sort()).toEqual([a.identity.instance, b.identity.instance].sort());
    for (const t of win.targets) expect(t.applied_revision).toBeGreaterThanOrEqual(win.revision);

    const stored = await hfi.getPolicy(win.name);
    expect(stored.status.revision).toBe(win.revision);
    expect(stored.spec).toEqual({
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [
        {
          match: { method: { exact: 'GET' }, path: { prefix: '/api' }, headers: [{ name: 'x-user', exact: 'test' }] },
          fault: { percentage: 100, duration_seconds: 35, abort: { httpStatus: 503 } },
        },
      ],
    });
    expect(stored.status.rules[0]?.expires_at).toBeDefined();
    expect(win.policy.spec.rules[0]?.fault.duration_seconds).toBe(35);
    // The acks the window waited for are there for everyone to see.
    const { nodes } = await hfi.nodes();
    const acked = nodes.filter((n) => n.instance === a.identity.instance || n.instance === b.identity.instance);
    expect(acked.map((n) => n.applied_revision >= win.revision)).toEqual([true, true]);
    await win.close();
  });

  it('fake sidecar: with no matching sidecar, fails with HFI_ERR_NO_TARGETS listing what it saw, and writes nothing', async () => {
    await fake({ workload: 'backend', namespace: 'demo', pod: 'backend-0', labels: { app: 'backend' } });
    await fake({ workload: 'frontend', namespace: 'prod', pod: 'frontend-prod-0' });
    const before = await hfi.listPolicies();

    const err = await rejection(
      hfi.openFaultWindow({
        name: 'nobody-home',
        selector: { service: 'frontend', namespace: 'demo' },
        ...abortWindow,
      }),
    );
    expect(err.code).toBe('HFI_ERR_NO_TARGETS');
    expect(err.message).toContain('no live sidecar matches selector { service: "frontend", namespace: "demo" }');
    expect(err.message).toMatch(
      /demo\/backend-0 \(workload "backend", .*labels app=backend, applied revision \d+.*\): service "frontend" is not its workload \("backend"\) and its app label is "backend"/,
    );
    expect(err.message).toMatch(/prod\/frontend-prod-0 \(.*\): namespace is "prod", not "demo"/);
    expect(err.details).toMatchObject({ found: 0, selector: { service: 'frontend', namespace: 'demo' } });
    expect(err.details.nodes).toHaveLength(2);
    expect(await hfi.listPolicies()).toEqual(before);
    expect(hfi.windows).toHaveLength(0);
  });

  it('fake sidecar: with no sidecar at all, says that nobody has polled this control plane', async () => {
    const err = await rejection(hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow }));
    expect(err.code).toBe('HFI_ERR_NO_TARGETS');
    expect(err.message).toContain(`no sidecar has polled the control plane at ${cp.url}`);
  });

  it('fake sidecar: with expectTargets, waits for that many sidecars to appear', async () => {
    await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-0' });
    const opening = hfi.openFaultWindow({ selector: { service: 'frontend' }, expectTargets: 2, ...abortWindow });
    // The second one starts only now; a window that opened without waiting would target frontend-0 alone.
    const second = await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-1' });
    const win = await opening;
    expect(win.targets.map((t) => t.pod).sort()).toEqual(['frontend-0', 'frontend-1']);
    expect(win.targets.find((t) => t.pod === 'frontend-1')?.instance).toBe(second.identity.instance);
  });

  it('fake sidecar: with expectTargets not reached in time, fails with the count it found', async () => {
    await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-0' });
    const err = await rejection(
      hfi.openFaultWindow({ selector: { service: 'frontend' }, expectTargets: 3, ackTimeoutMs: 300, ...abortWindow }),
    );
    expect(err.code).toBe('HFI_ERR_NO_TARGETS');
    expect(err.message).toMatch(
      /^expected 3 sidecars matching selector \{ service: "frontend", namespace: \* \}, found 1/,
    );
    expect(err.message).toMatch(/demo\/frontend-0 .*: matches/);
    expect(err.details).toMatchObject({ expected: 3, found: 1 });
  });

  it('fake sidecar: a sidecar that never acks fails the open with HFI_ERR_ACK_TIMEOUT naming it, and the policy is removed', async () => {
    const good = await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-good' });
    const stuck = await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-stuck', acks: false });

    const err = await rejection(
      hfi.openFaultWindow({
        name: 'stuck-window',
        selector: { service: 'frontend' },
        ackTimeoutMs: 1_500,
        ...abortWindow,
      }),
    );
    expect(err.code).toBe('HFI_ERR_ACK_TIMEOUT');
    expect(err.message).toMatch(
      /^1 of 2 sidecar instances matching .* did not apply revision \d+ \(policy "stuck-window"\)/,
    );
    expect(err.message).toContain(`demo/frontend-stuck (workload "frontend", instance ${stuck.identity.instance}`);
    expect(err.message).toMatch(/frontend-stuck .*applied revision 0/);
    expect(err.message).not.toContain('frontend-good');
    const pending = err.details.pending as NodeStatus[];
    expect(pending.map((n) => n.instance)).toEqual([stuck.identity.instance]);
    expect((err.details.acked as NodeStatus[]).map((n) => n.instance)).toEqual([good.identity.instance]);
    await expect(hfi.getPolicy('stuck-window')).rejects.toMatchObject({ code: 'HFI_ERR_POLICY_NOT_FOUND' });
    expect(hfi.windows).toHaveLength(0);
    expect(exitHooksInstalled()).toBe(false);
  });

  it("fake sidecar: a restarted sidecar's previous instance does not block the open", async () => {
    // The old instance polled once and died; the new one (same pod) is live.
    const ghost = await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-0', once: true });
    const live = await fake({ workload: 'frontend', namespace: 'demo', pod: 'frontend-0' });
    const win = await hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow });
    expect(win.targets.map((t) => t.instance)).toEqual([live.identity.instance]);
    expect(win.targets.map((t) => t.instance)).not.toContain(ghost.identity.instance);
  });

  it('fake sidecar: close deletes the policy, waits for the acks of the delete, and is idempotent', async () => {
    const sidecar = await fake({ workload: 'frontend', namespace: 'demo' });
    const win = await hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow });
    expect(hfi.windows).toEqual([win]);
    expect(exitHooksInstalled()).toBe(true);

    const first = win.close();
    const second = win.close();
    await expect(first).resolves.toBeUndefined(); // no metric source: no delta
    await expect(second).resolves.toBeUndefined();
    expect(win.closed).toBe(true);
    await expect(hfi.getPolicy(win.name)).rejects.toMatchObject({ code: 'HFI_ERR_POLICY_NOT_FOUND' });
    // The deletion moved the revision and the sidecar had applied it by the time close() returned.
    const { revision, nodes } = await hfi.nodes();
    expect(revision).toBeGreaterThan(win.revision);
    expect(nodes.find((n) => n.instance === sidecar.identity.instance)?.applied_revision).toBe(revision);
    await expect(win.close()).resolves.toBeUndefined();
    expect(hfi.windows).toHaveLength(0);
    expect(exitHooksInstalled()).toBe(false);
    const err = await rejection(win.metrics());
    expect(err.code).toBe('HFI_ERR_WINDOW_CLOSED');
  });

  it('fake sidecar: a policy already gone (expired or deleted by hand) does not fail close()', async () => {
    await fake({ workload: 'frontend', namespace: 'demo' });
    const win = await hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow });
    await hfi.deletePolicy(win.name);
    await expect(win.close()).resolves.toBeUndefined();
    expect(win.closed).toBe(true);
  });

  it('fake sidecar: `await using` closes the window at the end of the block', async () => {
    await fake({ workload: 'frontend', namespace: 'demo' });
    let name = '';
    {
      await using win = await hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow });
      name = win.name;
      await expect(hfi.getPolicy(name)).resolves.toMatchObject({ metadata: { name } });
    }
    await expect(hfi.getPolicy(name)).rejects.toMatchObject({ code: 'HFI_ERR_POLICY_NOT_FOUND' });
  });

  it('fake sidecar: hfi.close() closes every open window, and a closed client opens none', async () => {
    await fake({ workload: 'frontend', namespace: 'demo' });
    const one = await hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow });
    const two = await hfi.openFaultWindow({ selector: { service: '*' }, ...abortWindow });
    await hfi.close();
    expect([one.closed, two.closed]).toEqual([true, true]);
    await using reader = new HfiClient({ controlPlane: cp.url });
    expect((await reader.listPolicies()).policies).toEqual([]);
    const err = await rejection(hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow }));
    expect(err.code).toBe('HFI_ERR_WINDOW_CLOSED');
  });

  it('fake sidecar: rejects bad options before any request', async () => {
    const err = await rejection(
      hfi.openFaultWindow({
        selector: { service: 'frontend' },
        abort: { httpStatus: 503 },
        percentage: 130,
        duration: 1000,
      }),
    );
    expect(err).toMatchObject({ code: 'HFI_ERR_WINDOW_OPTIONS', field: 'percentage' });
    expect(err.message).toBe('percentage: percentage must be between 0 and 100');
  });

  it('fake sidecar: metrics() without a metric source says how to configure one', async () => {
    await fake({ workload: 'frontend', namespace: 'demo' });
    const win = await hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow });
    const err = await rejection(win.metrics());
    expect(err).toMatchObject({ code: 'HFI_ERR_CONFIG', field: 'metrics' });
    await win.close();
  });
});

describe('lease renewal with a fake sidecar', () => {
  it('fake sidecar: a window longer than its lease keeps its policy past the first lease, and stops at close', async () => {
    await using cp = await startControlPlane({ logLevel: 'silent' });
    const sidecar = startFakeSidecar(cp.url, { workload: 'frontend', namespace: 'demo' });
    try {
      await sidecar.firstContact;
      await using hfi = new HfiClient({ controlPlane: cp.url, leaseMs: 2_000 });
      const win = await hfi.openFaultWindow({ selector: { service: 'frontend' }, ...abortWindow, duration: '5m' });
      const first = await hfi.getPolicy(win.name);
      // lease 2 s + margin 1 s
      expect(first.spec.rules[0]?.fault.duration_seconds).toBe(3);
      const firstDeadline = Date.parse(first.status.rules[0]?.expires_at ?? '');
      expect(Number.isFinite(firstDeadline)).toBe(true);

      // Past the first lease's deadline and the expirer's period: without renewal the policy would be gone.
      while (Date.now() < firstDeadline + 1_500) await new Promise((r) => setTimeout(r, 100));
      const later = await hfi.getPolicy(win.name);
      expect(later.status.revision).toBeGreaterThan(first.status.revision);
      expect(Date.parse(later.status.rules[0]?.expires_at ?? '')).toBeGreaterThan(firstDeadline);
      expect(win.revision).toBeGreaterThanOrEqual(later.status.revision);

      await win.close();
      const { revision } = await hfi.listPolicies();
      // No renewal after close: the revision stays where the deletion left it.
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await hfi.listPolicies()).revision).toBe(revision);
      await expect(hfi.getPolicy(win.name)).rejects.toMatchObject({ code: 'HFI_ERR_POLICY_NOT_FOUND' });
    } finally {
      await sidecar.stop();
    }
  });
});
