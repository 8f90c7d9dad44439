// End to end: which requests a policy reaches (selector, method/path/header/regex matching, percentage) and when
// (start delay, expiry), through the real control plane and real sidecars running plugin.wasm.

import { expectedRange } from '@hfi/sdk';
import {
  countStatus,
  type Mesh,
  policy,
  startMesh,
  startTestSidecar,
  startUpstream,
  type TestSidecar,
  type Upstream,
  WAIT_MS,
  waitFor,
} from './__tests__/mesh';

let mesh: Mesh;
let upstream: Upstream;
const open: TestSidecar[] = [];

beforeAll(async () => {
  mesh = await startMesh();
  upstream = await startUpstream();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  const { policies } = await mesh.client.listPolicies();
  // A policy may expire between the list and the delete.
  for (const p of policies) await mesh.client.deletePolicy(p.metadata.name).catch(() => undefined);
});

afterAll(async () => {
  await mesh?.close();
  await upstream?.close();
});

async function sidecar(
  workload: string,
  extra: { namespace?: string; labels?: Record<string, string> } = {},
): Promise<TestSidecar> {
  const s = await startTestSidecar({
    workload,
    controlPlane: mesh.controlPlane.url,
    upstream: upstream.url,
    ...extra,
  });
  open.push(s);
  return s;
}

const ABORT_418 = { percentage: 100, abort: { httpStatus: 418 } };

describe('selector', () => {
  it('reaches the workload by its app label and leaves other workloads and namespaces untouched', async () => {
    // Istio's WORKLOAD_NAME is usually the deployment name; the selector's service is the app label.
    const frontend = await sidecar('frontend-v1', { labels: { app: 'frontend' } });
    const catalog = await sidecar('productcatalog', { labels: { app: 'productcatalog' } });
    const elsewhere = await sidecar('frontend-v1', { namespace: 'staging', labels: { app: 'frontend' } });
    const revision = await mesh.apply(
      policy(
        'e2e-selector',
        { match: { path: { prefix: '/' } }, fault: ABORT_418 },
        { service: 'frontend', namespace: 'demo' },
      ),
    );
    await mesh.acked([frontend, catalog, elsewhere], revision);

    expect(countStatus(await frontend.sendMany(10, '/'), 418)).toBe(10);
    expect(countStatus(await catalog.sendMany(10, '/'), 200)).toBe(10);
    expect(countStatus(await elsewhere.sendMany(10, '/'), 200)).toBe(10);
    expect(await frontend.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(10);
    expect(await catalog.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(0);
    expect(await elsewhere.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(0);
  });

  it('matches every workload with service "*" and the workload name itself', async () => {
    const a = await sidecar('cart', { labels: { app: 'cart' } });
    const b = await sidecar('checkout');
    const r1 = await mesh.apply(
      policy('e2e-any', { match: { path: { exact: '/any' } }, fault: ABORT_418 }, { service: '*' }),
    );
    const r2 = await mesh.apply(
      policy('e2e-named', { match: { path: { exact: '/named' } }, fault: ABORT_418 }, { service: 'checkout' }),
    );
    await mesh.acked([a, b], Math.max(r1, r2));

    expect((await a.send('/any')).status).toBe(418);
    expect((await b.send('/any')).status).toBe(418);
    expect((await a.send('/named')).status).toBe(200);
    expect((await b.send('/named')).status).toBe(418);
  });
});

describe('request matching', () => {
  it('matches a header on any header name (no allow-list), and not without it', async () => {
    const s = await sidecar('frontend');
    const revision = await mesh.apply(
      policy('e2e-header', {
        match: { method: { exact: 'GET' }, headers: [{ name: 'X-Canary-Cohort', prefix: 'beta' }] },
        fault: ABORT_418,
      }),
    );
    await mesh.acked([s], revision);

    expect((await s.send('/', { 'x-canary-cohort': 'beta-7' })).status).toBe(418);
    expect((await s.send('/', { 'x-canary-cohort': 'gamma' })).status).toBe(200);
    expect((await s.send('/')).status).toBe(200);
    expect(await s.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(1);
  });

  it('matches a regex path without the query string', async () => {
    const s = await sidecar('frontend');
    const revision = await mesh.apply(
      policy('e2e-regex', { match: { path: { regex: '^/api/v[0-9]+/items/[0-9]+$' } }, fault: ABORT_418 }),
    );
    await mesh.acked([s], revision);

    expect((await s.send('/api/v2/items/42')).status).toBe(418);
    expect((await s.send('/api/v2/items/42?expand=true')).status).toBe(418);
    expect((await s.send('/api/v2/items/abc')).status).toBe(200);
    expect((await s.send('/api/v2/items/42/reviews')).status).toBe(200);
    expect((await s.send('/api/vX/items/42')).status).toBe(200);
  });

  it('takes the first matching policy in name order', async () => {
    const s = await sidecar('frontend');
    await mesh.apply(
      policy('e2e-order-b', {
        match: { path: { prefix: '/' } },
        fault: { percentage: 100, abort: { httpStatus: 502 } },
      }),
    );
    const revision = await mesh.apply(
      policy('e2e-order-a', {
        match: { path: { prefix: '/o' } },
        fault: { percentage: 100, abort: { httpStatus: 504 } },
      }),
    );
    await mesh.acked([s], revision);

    const reply = await s.send('/order');
    expect(reply.status).toBe(504);
    expect(reply.headers['x-hfi-policy']).toBe('e2e-order-a');
    expect((await s.send('/x')).status).toBe(502);
  });
});

describe('percentage', () => {
  it('aborts a share of requests inside the binomial range, and counts exactly what it aborted', async () => {
    const s = await sidecar('frontend');
    const revision = await mesh.apply(
      policy('e2e-percentage', {
        match: { path: { prefix: '/p' } },
        fault: { percentage: 30, abort: { httpStatus: 503 } },
      }),
    );
    await mesh.acked([s], revision);
    const n = 600;

    const replies = await s.sendMany(n, '/p');

    const aborted = countStatus(replies, 503);
    const range = expectedRange(n, 0.3, 0.9999);
    expect(aborted).toBeGreaterThanOrEqual(range.low);
    expect(aborted).toBeLessThanOrEqual(range.high);
    expect(aborted + countStatus(replies, 200)).toBe(n);
    expect(await s.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(aborted);
  });

  it('never injects at 0 and always at 100', async () => {
    const s = await sidecar('frontend');
    await mesh.apply(
      policy('e2e-zero', { match: { path: { exact: '/zero' } }, fault: { percentage: 0, abort: { httpStatus: 503 } } }),
    );
    const revision = await mesh.apply(
      policy('e2e-hundred', {
        match: { path: { exact: '/all' } },
        fault: { percentage: 100, abort: { httpStatus: 503 } },
      }),
    );
    await mesh.acked([s], revision);

    expect(countStatus(await s.sendMany(300, '/zero'), 200)).toBe(300);
    expect(countStatus(await s.sendMany(300, '/all'), 503)).toBe(300);
  });
});

describe('start delay', () => {
  it('holds a request for start_delay_ms before aborting it', async () => {
    const s = await sidecar('frontend');
    const revision = await mesh.apply(
      policy('e2e-start-abort', {
        match: { path: { exact: '/late' } },
        fault: { percentage: 100, start_delay_ms: 300, abort: { httpStatus: 503 } },
      }),
    );
    await mesh.acked([s], revision);

    const replies = await s.sendMany(5, '/late', {}, 5);

    for (const r of replies) {
      expect(r.status).toBe(503);
      expect(r.ms).toBeGreaterThanOrEqual(299);
    }
    expect(await s.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(5);
  });

  it('waits start_delay_ms, then delays, then lets the request through', async () => {
    const s = await sidecar('frontend');
    const revision = await mesh.apply(
      policy('e2e-start-delay', {
        match: { path: { exact: '/later' } },
        fault: { percentage: 100, start_delay_ms: 200, delay: { fixed_delay_ms: 100 } },
      }),
    );
    await mesh.acked([s], revision);

    const reply = await s.send('/later');

    expect(reply.status).toBe(200);
    expect(reply.body).toBe('upstream GET /later');
    expect(reply.ms).toBeGreaterThanOrEqual(299);
    expect(await s.sample('wasmcustom_hfi_faults_delays_total{}')).toBe(1);
  });
});

describe('expiry', () => {
  it('stops injecting about duration_seconds after the write, and the control plane deletes the policy', async () => {
    const s = await sidecar('frontend');
    const written = Date.now();
    const revision = await mesh.apply(
      policy('e2e-expiry', {
        match: { path: { prefix: '/' } },
        fault: { percentage: 100, duration_seconds: 1, abort: { httpStatus: 503 } },
      }),
    );
    await mesh.acked([s], revision);
    expect((await s.send('/')).status).toBe(503);

    // Send until a request passes; the last abort and the first pass bracket the local deadline.
    let lastAbortAt = 0;
    const firstPassAt = await waitFor(
      async () => {
        const sentAt = Date.now();
        const reply = await s.send('/');
        if (reply.status === 503) {
          lastAbortAt = sentAt;
          return undefined;
        }
        expect(reply.status).toBe(200);
        return sentAt;
      },
      () => 'a request to pass after the policy expired',
    );
    expect(firstPassAt - written).toBeGreaterThanOrEqual(900);
    expect(firstPassAt - written).toBeLessThanOrEqual(1000 + 1500);
    expect(lastAbortAt - written).toBeLessThan(1000 + 500);
    // Once passed, it stays passed.
    expect(countStatus(await s.sendMany(20, '/'), 200)).toBe(20);

    await waitFor(
      async () => ((await mesh.client.listPolicies()).policies.length === 0 ? true : undefined),
      () => 'the control plane to delete the expired policy',
      WAIT_MS,
    );
    await expect(mesh.client.getPolicy('e2e-expiry')).rejects.toMatchObject({ code: 'HFI_ERR_POLICY_NOT_FOUND' });
  });
});
