// End to end, when things around the sidecar fail: the control plane absent at start, killed mid-run, or answering
// 500 / garbage / nothing (a fake, since the real one does not misbehave on purpose), and the upstream gone. The
// sidecar keeps proxying, faults already applied keep their expiry, and it recovers when a real control plane
// returns on the same address.

import { ControlPlaneClient } from '@hfi/sdk';
import {
  countStatus,
  type FakeMode,
  freePort,
  type Mesh,
  policy,
  spawnControlPlane,
  startFakeControlPlane,
  startMesh,
  startTestSidecar,
  startUpstream,
  type TestSidecar,
  type Upstream,
  waitFor,
  waitForAcks,
} from './__tests__/mesh';

let upstream: Upstream;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  await upstream?.close();
});

async function sidecar(controlPlane: string, extra: { upstream?: string } = {}): Promise<TestSidecar> {
  const s = await startTestSidecar({ workload: 'frontend', controlPlane, upstream: upstream.url, ...extra });
  cleanups.push(() => s.close());
  return s;
}

async function mesh(listen?: string): Promise<Mesh> {
  const m = await startMesh(listen);
  cleanups.push(() => m.close());
  return m;
}

/** Resolves once the sidecar has logged `count` failed polls (across its workers). */
function pollFailures(s: TestSidecar, count: number): Promise<true> {
  const failures = () => s.lines.filter((l) => l.includes('control plane poll failed')).length;
  return waitFor(
    () => (failures() >= count ? true : undefined),
    () => `${count} failed polls in the sidecar log (saw ${failures()})`,
  );
}

const ABORT_ALL = policy('e2e-recovered', {
  match: { path: { prefix: '/' } },
  fault: { percentage: 100, abort: { httpStatus: 503 } },
});

describe('control plane down when the sidecar starts', () => {
  it('proxies untouched, then picks up policies when the control plane appears on the same port', async () => {
    const port = await freePort();
    const s = await sidecar(`http://127.0.0.1:${port}`);
    await pollFailures(s, 1);

    const before = await s.sendMany(10, '/');
    expect(countStatus(before, 200)).toBe(10);
    expect(s.sidecar.plugin.trapped).toBe(false);

    const m = await mesh(`127.0.0.1:${port}`);
    const revision = await m.apply(ABORT_ALL);
    await m.acked([s], revision);

    const after = await s.sendMany(10, '/');
    expect(countStatus(after, 503)).toBe(10);
    expect(after[0].headers['x-hfi-policy']).toBe('e2e-recovered');
    expect(await s.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(10);
  });
});

describe('control plane killed mid-run', () => {
  it('keeps the applied faults with their local expiry and keeps proxying', async () => {
    const cp = await spawnControlPlane();
    cleanups.push(() => cp.kill());
    const s = await sidecar(cp.url);
    const client = new ControlPlaneClient({ url: cp.url });
    cleanups.push(() => client.close());
    await client.applyPolicy(
      policy('e2e-forever', {
        match: { path: { exact: '/always' } },
        fault: { percentage: 100, abort: { httpStatus: 418 } },
      }),
    );
    const written = Date.now();
    const stored = await client.applyPolicy(
      policy('e2e-timed', {
        match: { path: { exact: '/timed' } },
        fault: { percentage: 100, duration_seconds: 2, abort: { httpStatus: 503 } },
      }),
    );
    await waitForAcks(client, [s], 'status' in stored ? stored.status.revision : Number.NaN);

    await cp.kill();

    expect((await s.send('/timed')).status).toBe(503);
    expect((await s.send('/always')).status).toBe(418);
    expect((await s.send('/other')).status).toBe(200);
    // The timed rule stops on its own deadline, with nobody to tell the sidecar.
    const passedAt = await waitFor(
      async () => ((await s.send('/timed')).status === 200 ? Date.now() : undefined),
      () => 'the timed rule to expire locally',
    );
    expect(passedAt - written).toBeGreaterThanOrEqual(1800);
    expect(passedAt - written).toBeLessThanOrEqual(2000 + 1500);
    expect(countStatus(await s.sendMany(10, '/always'), 418)).toBe(10);
    expect(countStatus(await s.sendMany(10, '/other'), 200)).toBe(10);
    await pollFailures(s, 1);
    expect(s.sidecar.plugin.trapped).toBe(false);
  });
});

describe('control plane restarted with an empty memory store at the same address', () => {
  it('drops the old policies and takes the new ones, even when the revision numbers coincide', async () => {
    const port = await freePort();
    const first = await startMesh(`127.0.0.1:${port}`);
    let firstOpen = true;
    cleanups.push(async () => {
      if (firstOpen) await first.close();
    });
    const s = await sidecar(first.controlPlane.url);
    await first.apply(
      policy('e2e-old-a', {
        match: { path: { exact: '/old' } },
        fault: { percentage: 100, abort: { httpStatus: 503 } },
      }),
    );
    const old = await first.apply(
      policy('e2e-old-b', {
        match: { path: { exact: '/old-b' } },
        fault: { percentage: 100, abort: { httpStatus: 503 } },
      }),
    );
    await first.acked([s], old);
    expect((await s.send('/old')).status).toBe(503);
    await first.close();
    firstOpen = false;

    // The new control plane counts revisions from 0 again and reaches the very revision the sidecar applied.
    const second = await mesh(`127.0.0.1:${port}`);
    await second.apply(
      policy('e2e-new-a', {
        match: { path: { exact: '/new' } },
        fault: { percentage: 100, abort: { httpStatus: 418 } },
      }),
    );
    const revision = await second.apply(
      policy('e2e-new-b', {
        match: { path: { exact: '/new-b' } },
        fault: { percentage: 100, abort: { httpStatus: 418 } },
      }),
    );
    expect(revision).toBe(old);
    await waitFor(
      async () => ((await s.send('/new')).status === 418 ? true : undefined),
      () => "the sidecar to apply the new control plane's policies",
    );
    await second.acked([s], revision);

    expect((await s.send('/new-b')).status).toBe(418);
    expect((await s.send('/old')).status).toBe(200);
    expect((await s.send('/old-b')).status).toBe(200);
  });
});

describe.each<FakeMode>(['status-500', 'garbage-json', 'slow'])('a control plane that answers %s (fake)', (mode) => {
  it('keeps the sidecar proxying, and it recovers when a real control plane returns', async () => {
    const fake = await startFakeControlPlane(mode);
    let fakeOpen = true;
    cleanups.push(async () => {
      if (fakeOpen) await fake.close();
    });
    const s = await sidecar(fake.url);
    await waitFor(
      () => (fake.requests >= s.workers ? true : undefined),
      () => `every worker to call the fake control plane (${fake.requests} calls)`,
    );
    if (mode !== 'slow') await pollFailures(s, 1);

    const meanwhile = await s.sendMany(20, '/');
    expect(countStatus(meanwhile, 200)).toBe(20);
    expect(s.sidecar.plugin.trapped).toBe(false);

    await fake.close();
    fakeOpen = false;
    const m = await mesh(`127.0.0.1:${fake.port}`);
    const revision = await m.apply(ABORT_ALL);
    await m.acked([s], revision);

    expect(countStatus(await s.sendMany(10, '/'), 503)).toBe(10);
  });
});

describe('upstream down', () => {
  it('answers 503 "no healthy upstream" like Envoy, and keeps serving', async () => {
    const m = await mesh();
    const gone = await freePort();
    const s = await sidecar(m.controlPlane.url, { upstream: `http://127.0.0.1:${gone}` });
    const revision = await m.apply(
      policy('e2e-teapot', {
        match: { path: { exact: '/teapot' } },
        fault: { percentage: 100, abort: { httpStatus: 418 } },
      }),
    );
    await m.acked([s], revision);

    const replies = await s.sendMany(10, '/');
    for (const r of replies) {
      expect(r.status).toBe(503);
      expect(r.body).toBe('no healthy upstream');
    }
    // Faults still apply, and the admin endpoints still answer.
    expect((await s.send('/teapot')).status).toBe(418);
    expect(await s.admin('/ready')).toMatch(/LIVE/);
    expect(s.lines.some((l) => l.includes('unreachable'))).toBe(true);
  });

  it('answers 503 once a live upstream goes away mid-run', async () => {
    const m = await mesh();
    const own = await startUpstream();
    let ownOpen = true;
    cleanups.push(async () => {
      if (ownOpen) await own.close();
    });
    const s = await sidecar(m.controlPlane.url, { upstream: own.url });
    await waitForAcks(m.client, [s], 0);
    expect((await s.send('/')).status).toBe(200);

    await own.close();
    ownOpen = false;

    const replies = await s.sendMany(5, '/');
    expect(replies.map((r) => `${r.status} ${r.body}`)).toEqual(Array(5).fill('503 no healthy upstream'));
  });
});
