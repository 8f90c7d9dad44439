import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HfiError, isHfiError } from '@hfi/core';
import { type AdminServer, createStatsStore, type EnvoyStatsStore, startAdminServer } from '@hfi/filter';
import {
  type FakeKubeApiServer,
  type FakeKubeApiServerOptions,
  type FakeProxyBackend,
  startFakeKubeApiServer,
  statusObject,
} from '../testing/fake-kube-api-server';
import { diffSnapshots } from './delta';
import { KubernetesSource, type KubernetesSourceOptions } from './kubernetes-source';
import type { Snapshot } from './types';

// No Kubernetes API server can run here: these tests use a FAKE one (testing/fake-kube-api-server.ts) that serves
// real core/v1 JSON over real HTTP, loaded through a real kubeconfig by the real @kubernetes/client-node.

interface Sidecar {
  store: EnvoyStatsStore;
  aborts: number;
  delays: number;
  /** Renders the store's page, as Envoy's :15090/stats/prometheus does. */
  backend: FakeProxyBackend;
}

/** An Envoy-faithful stats store with the hfi families defined, `aborts` and `delays` already counted. */
function sidecar(aborts = 0, delays = 0): Sidecar {
  const store = createStatsStore();
  const a = store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
  const d = store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total');
  const h = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
  if (aborts > 0) store.incrementMetric(a, BigInt(aborts));
  for (let i = 0; i < delays; i++) {
    store.incrementMetric(d, 1n);
    store.recordMetric(h, 120n);
  }
  store.flush();
  return {
    store,
    aborts: a,
    delays: d,
    backend: ({ path }) => store.renderPrometheus({ usedOnly: path.includes('usedonly') }),
  };
}

const fakes: FakeKubeApiServer[] = [];
const admins: AdminServer[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hfi-k8s-source-'));
});
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
  await Promise.all(admins.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fake(options: FakeKubeApiServerOptions = {}): Promise<FakeKubeApiServer> {
  const f = await startFakeKubeApiServer(options);
  fakes.push(f);
  return f;
}

function source(f: FakeKubeApiServer, options: KubernetesSourceOptions = {}): KubernetesSource {
  return new KubernetesSource({ namespace: 'demo', kubeconfig: f.kubeconfig(), ...options });
}

async function caught(p: Promise<unknown>): Promise<HfiError> {
  try {
    await p;
  } catch (err) {
    if (isHfiError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function byName(snapshot: Snapshot, name: string) {
  const sample = snapshot.pods.find((p) => p.labels?.pod === name);
  if (sample === undefined) throw new Error(`no sample for ${name} in ${snapshot.pods.map((p) => p.pod).join(', ')}`);
  return sample;
}

describe('KubernetesSource against a fake API server', () => {
  test('passes the label selector through, scrapes only Running pods with an IP, keys samples by UID', async () => {
    const a = sidecar(3, 2);
    const admin = await startAdminServer({ stats: sidecar(7).store });
    admins.push(admin);
    const f = await fake({
      pods: [
        { name: 'frontend-5f7d8-abcde', namespace: 'demo', labels: { app: 'frontend' }, backend: a.backend },
        // Forwarded to a real admin server over HTTP, as the API server forwards to podIP:15090.
        { name: 'frontend-5f7d8-fghij', namespace: 'demo', labels: { app: 'frontend' }, backend: admin.url },
        { name: 'frontend-5f7d8-klmno', namespace: 'demo', labels: { app: 'frontend' }, phase: 'Pending', podIP: null },
        { name: 'backend-66b9c-pqrst', namespace: 'demo', labels: { app: 'backend' }, backend: sidecar(99).backend },
        { name: 'frontend-5f7d8-uvwxy', namespace: 'other', labels: { app: 'frontend' }, backend: a.backend },
      ],
    });
    const src = source(f, { labelSelector: 'app=frontend', concurrency: 2 });
    const snap = await src.snapshot();

    const list = f.requests.filter((r) => r.path === '/api/v1/namespaces/demo/pods');
    expect(list).toHaveLength(1);
    expect(list[0]?.query.labelSelector).toBe('app=frontend');
    expect(list[0]?.authorization).toBe(`Bearer ${f.token}`);
    expect(
      f.requests
        .filter((r) => r.path.includes('/proxy/'))
        .map((r) => r.path)
        .sort(),
    ).toEqual([
      '/api/v1/namespaces/demo/pods/frontend-5f7d8-abcde:15090/proxy/stats/prometheus',
      '/api/v1/namespaces/demo/pods/frontend-5f7d8-fghij:15090/proxy/stats/prometheus',
    ]);

    const pods = f.pods('demo');
    const uidOf = (name: string) => pods.find((p) => p.metadata.name === name)?.metadata.uid as string;
    expect(snap.pods.map((p) => p.pod).sort()).toEqual(
      [
        `frontend-5f7d8-abcde@${uidOf('frontend-5f7d8-abcde')}`,
        `frontend-5f7d8-fghij@${uidOf('frontend-5f7d8-fghij')}`,
      ].sort(),
    );
    const first = byName(snap, 'frontend-5f7d8-abcde');
    expect(first.error).toBeUndefined();
    expect(first.labels).toMatchObject({
      namespace: 'demo',
      uid: uidOf('frontend-5f7d8-abcde'),
      node: 'kind-worker',
      phase: 'Running',
      restartCount: '0',
      proxyRestartCount: '0',
    });
    expect(first.metrics.aborts).toBe(3);
    expect(first.metrics.delays).toBe(2);
    expect(first.metrics.delayHistogram?.count).toBe(2);
    expect(byName(snap, 'frontend-5f7d8-fghij').metrics.aborts).toBe(7);
    expect(src.describe()).toBe(
      'kubernetes: namespace demo, labelSelector app=frontend, :15090/stats/prometheus via the API server pod proxy, context fake-cluster',
    );
  });

  test('set-based selectors, the kubeconfig file and its context namespace, and a non-default port and path', async () => {
    const f = await fake({
      pods: [
        { name: 'a-1', namespace: 'team-x', labels: { app: 'a', track: 'stable' }, backend: sidecar(1).backend },
        { name: 'a-2', namespace: 'team-x', labels: { app: 'a', track: 'canary' }, backend: sidecar(2).backend },
        { name: 'b-1', namespace: 'team-x', labels: { app: 'b' }, backend: sidecar(4).backend },
      ],
    });
    const file = await f.writeKubeconfig(join(dir, 'kubeconfig-team-x'), { namespace: 'team-x', context: 'kind-x' });
    const src = new KubernetesSource({
      kubeconfig: file,
      labelSelector: 'app in (a,b),track!=canary',
      port: 15020,
      path: '/stats/prometheus?usedonly',
    });
    const snap = await src.snapshot();
    expect(snap.pods.map((p) => [p.labels?.pod, p.metrics.aborts]).sort()).toEqual([
      ['a-1', 1],
      ['b-1', 4],
    ]);
    expect(f.requests.find((r) => r.path.endsWith('/proxy/stats/prometheus'))?.path).toBe(
      '/api/v1/namespaces/team-x/pods/a-1:15020/proxy/stats/prometheus',
    );
    expect(f.requests.find((r) => r.path.endsWith('/proxy/stats/prometheus'))?.query).toEqual({ usedonly: '' });
    expect(src.describe()).toContain('namespace team-x');
    expect(src.describe()).toContain('context kind-x');
  });

  test('a pod recreated under a new UID and a sidecar restart (counters dropping) go through diffSnapshots', async () => {
    const stable = sidecar(5);
    const restarting = sidecar(5);
    const recreated = sidecar(4);
    const f = await fake({
      pods: [
        { name: 'web-1', namespace: 'demo', labels: { app: 'web' }, backend: stable.backend },
        { name: 'web-2', namespace: 'demo', labels: { app: 'web' }, backend: restarting.backend },
        { name: 'web-3', namespace: 'demo', labels: { app: 'web' }, backend: recreated.backend },
      ],
    });
    const src = source(f, { labelSelector: 'app=web' });
    const before = await src.snapshot();
    const oldUid = f.pods('demo').find((p) => p.metadata.name === 'web-3')?.metadata.uid;

    // web-1: 3 more aborts. web-2: the istio-proxy container restarted (same UID, counters from 0), then 2 aborts.
    // web-3: deleted and recreated by its StatefulSet (same name, new UID), then 1 abort.
    stable.store.incrementMetric(stable.aborts, 3n);
    const fresh = sidecar(2);
    f.setBackend('demo', 'web-2', fresh.backend);
    f.updatePod('demo', 'web-2', { proxyRestartCount: 1 });
    f.removePod('demo', 'web-3');
    f.addPod({ name: 'web-3', namespace: 'demo', labels: { app: 'web' }, backend: sidecar(1).backend });
    const after = await src.snapshot();
    const newUid = f.pods('demo').find((p) => p.metadata.name === 'web-3')?.metadata.uid;
    expect(newUid).not.toBe(oldUid);
    expect(byName(after, 'web-2').labels?.proxyRestartCount).toBe('1');

    const delta = diffSnapshots(before, after);
    const per = (key: string) => delta.perPod.find((p) => p.pod === key);
    const web1 = before.pods.find((p) => p.labels?.pod === 'web-1')?.pod as string;
    const web2 = before.pods.find((p) => p.labels?.pod === 'web-2')?.pod as string;
    expect(per(web1)).toMatchObject({ aborts: 3, reset: false, appeared: false, vanished: false });
    expect(per(web2)).toMatchObject({ aborts: 2, reset: true });
    expect(per(`web-3@${oldUid}`)).toMatchObject({ vanished: true, aborts: 0 });
    expect(per(`web-3@${newUid}`)).toMatchObject({ appeared: true, aborts: 1 });
    expect(delta.aborts).toBe(3 + 2 + 1);
  });

  test('a pod whose proxy call fails with a 503 Status is recorded with the error, the others are read', async () => {
    const f = await fake({
      pods: [
        { name: 'api-1', namespace: 'demo', labels: { app: 'api' }, backend: sidecar(2).backend },
        // No backend: the fake answers like an API server whose dial to podIP:15090 is refused.
        { name: 'api-2', namespace: 'demo', labels: { app: 'api' }, podIP: '10.244.3.7' },
        {
          name: 'api-3',
          namespace: 'demo',
          labels: { app: 'api' },
          backend: () => statusObject(503, 'error trying to reach service: EOF'),
        },
      ],
    });
    const snap = await source(f, { labelSelector: 'app=api' }).snapshot();
    expect(byName(snap, 'api-1')).toMatchObject({ metrics: { aborts: 2 } });
    expect(byName(snap, 'api-1').error).toBeUndefined();
    const refused = byName(snap, 'api-2');
    expect(refused.error).toMatch(
      /^HTTP 503 ServiceUnavailable: error trying to reach service: dial tcp 10\.244\.3\.7:15090: connect: connection refused \(GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/demo\/pods\/api-2:15090\/proxy\/stats\/prometheus\)$/,
    );
    expect(refused.metrics).toEqual({ aborts: undefined, delays: undefined, delayHistogram: undefined });
    expect(byName(snap, 'api-3').error).toContain('HTTP 503 ServiceUnavailable: error trying to reach service: EOF');
  });

  test('never has more proxy requests in flight than `concurrency`, and uses all of it', async () => {
    const limit = 4;
    const total = 10;
    // Holds proxy requests until `limit` are waiting (or every pod has been asked), then keeps them a further
    // 100 ms before releasing them together: a bounded client cannot send another request while they are held, an
    // unbounded one sends the rest at once and they pile up here, raising the fake's in-flight maximum.
    let held: (() => void)[] = [];
    let received = 0;
    let releasing = false;
    const gate: FakeProxyBackend = async ({ pod }) => {
      received++;
      await new Promise<void>((resolve) => {
        held.push(resolve);
        if (!releasing && (held.length >= limit || received === total)) {
          releasing = true;
          setTimeout(() => {
            const batch = held;
            held = [];
            releasing = false;
            for (const release of batch) release();
          }, 100);
        }
      });
      return sidecar(Number(pod.metadata.name.split('-')[1])).store.renderPrometheus();
    };
    const f = await fake({
      pods: Array.from({ length: total }, (_, i) => ({
        name: `w-${i}`,
        namespace: 'demo',
        labels: { app: 'w' },
        backend: gate,
      })),
    });
    const snap = await source(f, { concurrency: limit }).snapshot();
    expect(f.maxProxyInFlight).toBe(limit);
    expect(snap.pods.map((p) => p.metrics.aborts).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
  });

  test('reads every page of a long pod list (limit/continue)', async () => {
    const page = sidecar(1).store.renderPrometheus();
    const count = 501;
    const f = await fake({
      pods: Array.from({ length: count }, (_, i) => ({ name: `p-${i}`, namespace: 'demo', backend: () => page })),
    });
    const snap = await source(f, { concurrency: 32 }).snapshot();
    expect(snap.pods).toHaveLength(count);
    expect(new Set(snap.pods.map((p) => p.pod)).size).toBe(count);
    const lists = f.requests.filter((r) => r.path === '/api/v1/namespaces/demo/pods');
    expect(lists.map((r) => r.query.limit)).toEqual(['500', '500']);
    expect(lists[1]?.query.continue).toBeDefined();
  });

  test('401 from the fake API server is an HfiError with the API status and reason', async () => {
    const f = await fake({ pods: [{ name: 'x-1', namespace: 'demo', backend: sidecar().backend }] });
    const src = new KubernetesSource({ namespace: 'demo', kubeconfig: f.kubeconfig({ token: 'expired-token' }) });
    const err = await caught(src.snapshot());
    expect(err.code).toBe('HFI_ERR_KUBERNETES_API');
    expect(err.details).toMatchObject({
      status: 401,
      reason: 'Unauthorized',
      namespace: 'demo',
      context: 'fake-cluster',
    });
    expect(err.message).toMatch(/^listing pods \(any label in namespace "demo" .*\) failed: HTTP 401 Unauthorized/);
    expect(err.message).toContain('credentials');
    expect(f.requests.some((r) => r.path.includes('/proxy/'))).toBe(false);
  });

  test('403 on listing pods carries the RBAC message of the fake API server', async () => {
    const f = await fake({
      user: 'system:serviceaccount:ci:runner',
      authorize: (a) => a.resource !== 'pods' || a.verb !== 'list',
      pods: [{ name: 'x-1', namespace: 'demo', backend: sidecar().backend }],
    });
    const err = await caught(source(f).snapshot());
    expect(err.code).toBe('HFI_ERR_KUBERNETES_API');
    expect(err.details).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(err.message).toContain(
      'pods is forbidden: User "system:serviceaccount:ci:runner" cannot list resource "pods" in API group "" in the namespace "demo"',
    );
  });

  test('403 on pods/proxy for every pod is the API refusing us: HFI_ERR_KUBERNETES_API, not a scrape error', async () => {
    const f = await fake({
      authorize: (a) => a.resource !== 'pods/proxy',
      pods: [
        { name: 'x-1', namespace: 'demo', backend: sidecar().backend },
        { name: 'x-2', namespace: 'demo', backend: sidecar().backend },
      ],
    });
    const err = await caught(source(f).snapshot());
    expect(err.code).toBe('HFI_ERR_KUBERNETES_API');
    expect(err.details).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(err.message).toContain('cannot get resource "pods/proxy"');
    expect(err.message).toContain('get pods/proxy in namespace "demo"');
  });

  test('every pod failing otherwise is HFI_ERR_METRICS_SCRAPE listing each pod', async () => {
    const f = await fake({
      pods: [
        { name: 'x-1', namespace: 'demo' },
        { name: 'x-2', namespace: 'demo', backend: () => ({ status: 500, body: 'upstream exploded' }) },
      ],
    });
    const err = await caught(source(f).snapshot());
    expect(err.code).toBe('HFI_ERR_METRICS_SCRAPE');
    expect(err.message).toContain('x-1: HTTP 503 ServiceUnavailable: error trying to reach service');
    expect(err.message).toContain('x-2: HTTP 500: upstream exploded');
    expect(Object.keys(err.details.errors as object)).toHaveLength(2);
  });

  test('no Running pod with an IP: HFI_ERR_METRICS_SCRAPE naming the pods seen', async () => {
    const f = await fake({
      pods: [
        { name: 'x-1', namespace: 'demo', phase: 'Pending', podIP: null },
        { name: 'x-2', namespace: 'demo', phase: 'Succeeded' },
      ],
    });
    const err = await caught(source(f).snapshot());
    expect(err.code).toBe('HFI_ERR_METRICS_SCRAPE');
    expect(err.message).toContain('x-1 (Pending, no IP), x-2 (Succeeded)');
    const empty = await caught(source(f, { labelSelector: 'app=none' }).snapshot());
    expect(empty.message).toContain('labelSelector "app=none"');
    expect(empty.message).toContain('the API server listed no pod');
  });

  test('an unreachable API server is HFI_ERR_KUBERNETES_API without a status', async () => {
    const f = await fake();
    const kubeconfig = f.kubeconfig();
    await f.close();
    const err = await caught(new KubernetesSource({ namespace: 'demo', kubeconfig }).snapshot());
    expect(err.code).toBe('HFI_ERR_KUBERNETES_API');
    expect(err.details.status).toBeUndefined();
    expect(err.message).toContain('ECONNREFUSED');
  });

  test('rejects bad options before touching the API', () => {
    expect(() => new KubernetesSource({ port: 0 })).toThrow(expect.objectContaining({ field: 'port' }));
    expect(() => new KubernetesSource({ path: 'stats' })).toThrow(expect.objectContaining({ field: 'path' }));
    expect(() => new KubernetesSource({ namespace: 'Demo_1' })).toThrow(
      expect.objectContaining({ field: 'namespace' }),
    );
  });

  test('a kubeconfig without the named context is a config error', async () => {
    const f = await fake();
    const err = await caught(source(f, { context: 'nope' }).snapshot());
    expect(err.code).toBe('HFI_ERR_CONFIG');
    expect(err.message).toContain('fake-cluster');
  });
});
