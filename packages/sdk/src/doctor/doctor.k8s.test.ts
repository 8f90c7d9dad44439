// `hfi doctor --k8s` through a FAKE Kubernetes API server (no real one can run here): pods, the pod proxy and the
// istio-proxy logs lead to REAL local sidecars running the real plugin.wasm (or another module), the policies come
// from a real control plane, and the WasmPlugin/EnvoyFilter objects are the fake's.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DEFAULT_PLUGIN_PATH } from '@hfi/filter';
import { type FakeKubeApiServer, startFakeKubeApiServer } from '../testing/fake-kube-api-server';
import { type FakeIstioApi, type IstioObject, startFakeIstioApi } from './__tests__/fake-istio-api';
import {
  abortPolicy,
  addSidecar,
  check,
  doctorJson,
  type Env,
  hfi,
  type LocalSidecar,
  send,
  startEnv,
  waitForApplied,
} from './__tests__/harness';
import { otherPluginPath } from './__tests__/plugins';

jest.setTimeout(180_000);

const POD = 'frontend-7d4b9c6f5-x2k8p';
const PLUGIN_URL = 'http://hfi-control-plane.boifi.svc.cluster.local:8080/v1/plugin.wasm';

let env: Env;
let kube: FakeKubeApiServer | undefined;
let istio: FakeIstioApi | undefined;
let pluginServer: Server;
/** The module the plugin Service serves, read once (plugin.wasm may be rebuilt while tests run). */
let served: Buffer;

beforeAll(async () => {
  // What the control plane Service serves at /v1/plugin.wasm: the real module.
  served = readFileSync(DEFAULT_PLUGIN_PATH);
  pluginServer = createServer((req, res) => {
    if (req.url === '/v1/plugin.wasm') res.writeHead(200, { 'content-type': 'application/wasm' }).end(served);
    else res.writeHead(404).end();
  });
  pluginServer.listen(0, '127.0.0.1');
  await once(pluginServer, 'listening');
});

afterAll(async () => {
  pluginServer.close();
});

beforeEach(async () => {
  env = await startEnv();
});

afterEach(async () => {
  await istio?.close();
  await kube?.close();
  istio = undefined;
  kube = undefined;
  await env.close();
});

const pluginSha256 = () => createHash('sha256').update(served).digest('hex');

function wasmPlugin(matchLabels: Record<string, string>, sha256 = pluginSha256()): IstioObject {
  return {
    metadata: { name: 'hfi-fault-injection', namespace: 'demo', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { selector: { matchLabels }, url: PLUGIN_URL, sha256, failStrategy: 'FAIL_OPEN' },
  };
}

/** A pod of Deployment `frontend` in `demo` whose istio-proxy is the given local sidecar. */
async function cluster(
  sidecar: LocalSidecar,
  resources: { wasmPlugins?: IstioObject[]; envoyFilters?: IstioObject[] },
): Promise<string> {
  const admin = sidecar.sidecar.adminUrl;
  kube = await startFakeKubeApiServer({
    pods: [
      {
        name: POD,
        namespace: 'demo',
        labels: { app: 'frontend', version: 'v1', 'pod-template-hash': '7d4b9c6f5' },
        // Envoy's Prometheus listener (:15090) serves /stats/prometheus; the admin port is not reachable from outside.
        backend: async ({ port, path: p }) => {
          if (port !== 15090 || !p.startsWith('/stats/prometheus')) {
            return {
              status: 503,
              body: `error trying to reach service: dial tcp :${port}: connect: connection refused`,
            };
          }
          const res = await fetch(`${admin}${p}`);
          return { status: res.status, body: await res.text() };
        },
      },
    ],
  });
  istio = await startFakeIstioApi({
    kube,
    logs: (_ns, _pod, container) =>
      container === 'istio-proxy' ? readFileSync(sidecar.logFile, 'utf8').split('\n') : undefined,
    ...resources,
    services: { 'boifi/hfi-control-plane:8080': `http://127.0.0.1:${(pluginServer.address() as AddressInfo).port}` },
  });
  const file = path.join(env.dir, 'kubeconfig');
  await writeFile(file, istio.kubeconfig('demo'));
  return file;
}

const k8sArgs = (kubeconfig: string, extra: string[] = []) => [
  '--k8s',
  '--namespace',
  'demo',
  '--selector',
  'app=frontend',
  '--kubeconfig',
  kubeconfig,
  ...extra,
];

describe('hfi doctor --k8s (fake API server, real sidecars)', () => {
  it('passes every check for a pod the WasmPlugin targets, read through the fake API server (exit 0)', async () => {
    const sidecar = await addSidecar(env, { pod: POD, labels: { app: 'frontend', version: 'v1' } });
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    await waitForApplied(env, POD);
    expect(await send(sidecar.sidecar, '/api/x', 2)).toEqual([503, 503]);
    const kubeconfig = await cluster(sidecar, { wasmPlugins: [wasmPlugin({ app: 'frontend' })] });

    const { run, report } = await doctorJson(k8sArgs(kubeconfig, ['--control-plane-addr', env.cp.url]));
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.mode).toBe('k8s');
    expect(report.sidecars).toEqual([
      expect.objectContaining({ name: `demo/${POD}`, workload: 'frontend', namespace: 'demo', pod: POD }),
    ]);
    // The log came through the API (kubectl logs -c istio-proxy): the plugin's own lines are seen.
    expect(check(report, 'plugin-loaded').detail).toContain('its log shows "Defined metric: …" lines');
  });

  it('names Problem 1 when no WasmPlugin targets the pod (fake API server)', async () => {
    const sidecar = await addSidecar(env, { pod: POD, plugin: await otherPluginPath() });
    const kubeconfig = await cluster(sidecar, { wasmPlugins: [wasmPlugin({ app: 'backend' })] });

    const text = await hfi(['doctor', ...k8sArgs(kubeconfig)]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /PROBLEM +Plugin loaded: no WasmPlugin targets this pod \(labels app=frontend,version=v1,pod-template-hash=7d4b9c6f5/,
    );
    expect(text.stdout).toContain('WasmPlugins seen: demo/hfi-fault-injection (selector app=backend)');
    expect(text.stdout).toContain(
      'hfi k8s manifests --target-namespace demo --target-selector app=frontend | kubectl apply -f -',
    );
    expect(text.stdout).toContain(`kubectl get pod -n demo ${POD} --show-labels`);
  });

  it('names Problem 1 when the WasmPlugin module does not match its sha256 (fake API server)', async () => {
    const sidecar = await addSidecar(env, { pod: POD, plugin: await otherPluginPath() });
    const kubeconfig = await cluster(sidecar, { wasmPlugins: [wasmPlugin({ app: 'frontend' }, '0'.repeat(64))] });

    const { run, report } = await doctorJson(k8sArgs(kubeconfig));
    expect(run.code).toBe(1);
    expect(check(report, 'plugin-loaded')).toMatchObject({ status: 'problem', seedProblem: 1 });
    expect(check(report, 'plugin-loaded').detail).toContain(
      `its sha256 is ${pluginSha256()}, not the WasmPlugin's 0000`,
    );
    expect(check(report, 'plugin-loaded').fix).toContain(`The plugin binary is not accessible at ${PLUGIN_URL}`);
  });

  it('names Problem 1 step 3 when an EnvoyFilter was applied after the pod started (fake API server)', async () => {
    const sidecar = await addSidecar(env, { pod: POD, defaultStatsInclusion: false });
    const envoyFilter: IstioObject = {
      metadata: { name: 'hfi-wasm-metrics', namespace: 'demo', creationTimestamp: new Date().toISOString() },
      spec: {
        workloadSelector: { labels: { app: 'frontend' } },
        configPatches: [
          {
            applyTo: 'BOOTSTRAP',
            patch: {
              operation: 'MERGE',
              value: {
                stats_config: {
                  stats_matcher: { inclusion_list: { patterns: [{ prefix: 'wasmcustom.hfi_faults' }] } },
                },
              },
            },
          },
        ],
      },
    };
    const kubeconfig = await cluster(sidecar, {
      wasmPlugins: [wasmPlugin({ app: 'frontend' })],
      envoyFilters: [envoyFilter],
    });

    const text = await hfi(['doctor', ...k8sArgs(kubeconfig)]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /PROBLEM +Metrics visible: .*EnvoyFilter demo\/hfi-wasm-metrics changed at .*, after istio-proxy started at .*: the pod was not restarted since/,
    );
    expect(text.stdout).toContain(`kubectl delete pod -n demo ${POD}`);
    expect(text.stdout).toContain('kubectl wait --for=condition=ready pod -l app=frontend -n demo --timeout=90s');
  });

  it('exits 2 when the API server does not answer', async () => {
    const sidecar = await addSidecar(env, { pod: POD });
    const kubeconfig = await cluster(sidecar, {});
    const text = await readFile(kubeconfig, 'utf8');
    await istio?.close();
    await writeFile(kubeconfig, text);

    const { run, report } = await doctorJson(k8sArgs(kubeconfig));
    expect(run.code).toBe(2);
    expect(report.summary.problems).toBe(0);
    expect(check(report, 'plugin-loaded').status).toBe('unknown');
    expect(check(report, 'plugin-loaded').unreachable?.[0]).toMatch(/listing pods \(app=frontend\) failed/);
  });
});
