// The manifests, object by object: schema-validated with the typed models (no API server can run here), then checked
// for what the seed and issue 6 ask of them.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { HfiError } from '@hfi/core';
import { parseAllDocuments } from 'yaml';
import * as sdkK8s from '../index';
import { STATS_PREFIX_MATCHING_PLUGIN, WASM_FAIL_STRATEGIES } from './istio';
import type { ManifestInput } from './options';
import { bundledPluginPath, pluginSha256 } from './plugin-wasm';
import { buildManifests, renderManifests, validateDocuments } from './render';
import type { KubeObject, ManifestDocument } from './types';

// A stand-in digest so these tests do not depend on the filter build; the real one is checked below.
const SHA = 'ab'.repeat(32);
const TOKEN = 'test-token-0123456789';

// biome-ignore lint/suspicious/noExplicitAny: the assertions walk arbitrary manifest JSON
type Json = Record<string, any>;

function build(input: ManifestInput = {}) {
  return buildManifests({ pluginSha256: SHA, token: TOKEN, ...input });
}

function objects(input: ManifestInput = {}): Json[] {
  return build(input).documents.map((d) => d.object.toJSON() as Json);
}

function find(list: Json[], kind: string, name: string): Json {
  const found = list.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in ${list.map((o) => `${o.kind}/${o.metadata.name}`)}`);
  return found;
}

function container(workload: Json): Json {
  return workload.spec.template.spec.containers[0];
}

function configError(fn: () => unknown): HfiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HfiError) return err;
    throw err;
  }
  throw new Error('expected an HfiError');
}

describe('schema validation with the typed models (schema-validated, no API server)', () => {
  it('every object of the default render passes its model schema (schema-validated, no API server)', () => {
    const { documents } = build({ prometheusRule: true });
    for (const { object } of documents) expect(() => object.validate()).not.toThrow();
    expect(documents.map((d) => `${d.object.kind}/${d.object.metadata?.name}`)).toEqual([
      'Namespace/boifi',
      'Secret/hfi-control-plane-token',
      'Service/hfi-etcd-peer',
      'Service/hfi-etcd',
      'StatefulSet/hfi-etcd',
      'PodDisruptionBudget/hfi-etcd',
      'Service/hfi-control-plane',
      'Deployment/hfi-control-plane',
      'PodDisruptionBudget/hfi-control-plane',
      'WasmPlugin/hfi-fault-injection',
      'EnvoyFilter/hfi-wasm-metrics',
      'ConfigMap/hfi-grafana-dashboard',
      'PrometheusRule/hfi-fault-alerts',
    ]);
  });

  it('the schema check rejects a broken object, so the check above is real (schema-validated, no API server)', () => {
    const { documents } = build();
    const deployment = documents.find((d) => d.object.kind === 'Deployment') as ManifestDocument;
    const spec = (deployment.object as unknown as { spec: Json }).spec;
    spec.replicas = 'two';
    delete spec.selector;
    expect(() => deployment.object.validate()).toThrow(/replicas must be integer/);
    expect(() => validateDocuments([deployment])).toThrow(/Deployment hfi-control-plane does not match its schema/);
  });

  it('validates the manifests for every flag combination it offers (schema-validated, no API server)', () => {
    const variants: ManifestInput[] = [
      { etcdReplicas: 1, replicas: 1 },
      { etcdReplicas: 5, replicas: 4, targetSelector: '' },
      { namespace: 'faults', targetNamespace: 'shop', targetSelector: 'app.kubernetes.io/name=checkout,tier=web' },
      { envoyFilter: false, dashboard: false, prometheusRule: true, clusterDomain: 'corp.internal' },
    ];
    for (const input of variants) {
      const { documents } = build(input);
      expect(() => validateDocuments(documents)).not.toThrow();
    }
  });
});

describe('control plane', () => {
  const list = objects();
  const deployment = find(list, 'Deployment', 'hfi-control-plane');
  const pod = deployment.spec.template.spec;

  it('runs 2 replicas of `hfi control-plane` on 0.0.0.0:8080 against every etcd member, token from the Secret', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.metadata.labels).toMatchObject({
      app: 'hfi-control-plane',
      'app.kubernetes.io/name': 'hfi-control-plane',
      'app.kubernetes.io/part-of': 'hfi',
    });
    const c = container(deployment);
    expect([...c.command, ...c.args]).toEqual([
      'hfi',
      'control-plane',
      '--listen',
      '0.0.0.0:8080',
      '--store',
      `etcd:${[0, 1, 2].map((i) => `http://hfi-etcd-${i}.hfi-etcd-peer.boifi.svc.cluster.local:2379`).join(',')}`,
    ]);
    expect(c.env).toContainEqual({
      name: 'HFI_TOKEN',
      valueFrom: { secretKeyRef: { name: 'hfi-control-plane-token', key: 'token' } },
    });
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  });

  it('probes readiness on /v1/ready and liveness on /v1/health (the reference probed /v1/health twice)', () => {
    const c = container(deployment);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/v1/ready', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/v1/health', port: 'http' });
    expect(c.resources.requests).toEqual(
      expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
    );
    expect(c.resources.limits).toEqual(
      expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
    );
  });

  it('runs non-root with a read-only root filesystem, no capabilities and the RuntimeDefault seccomp profile', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container(deployment).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(deployment.spec.template.metadata.labels['sidecar.istio.io/inject']).toBe('false');
  });

  it('spreads replicas over nodes and keeps one through voluntary disruptions', () => {
    expect(pod.topologySpreadConstraints).toEqual([
      expect.objectContaining({
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
      }),
    ]);
    const pdb = find(list, 'PodDisruptionBudget', 'hfi-control-plane');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
  });

  it('exposes a ClusterIP Service on 8080 named http that selects the Deployment pods', () => {
    const service = find(list, 'Service', 'hfi-control-plane');
    expect(service.metadata.namespace).toBe('boifi');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  it('keeps the token in a Secret; a random one when none is given', () => {
    expect(find(list, 'Secret', 'hfi-control-plane-token').stringData).toEqual({ token: TOKEN });
    const a = buildManifests({ pluginSha256: SHA });
    const b = buildManifests({ pluginSha256: SHA });
    expect(a.tokenGenerated).toBe(true);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.token).not.toBe(b.token);
    const secret = a.documents.find((d) => d.object.kind === 'Secret') as ManifestDocument;
    expect((secret.object.toJSON() as Json).stringData.token).toBe(a.token);
  });
});

describe('etcd', () => {
  const list = objects();
  const sts = find(list, 'StatefulSet', 'hfi-etcd');

  it('is a StatefulSet of 3 members with a persistent volume each (the reference used one on emptyDir)', () => {
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.serviceName).toBe('hfi-etcd-peer');
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.volumeClaimTemplates).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'data' }),
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: expect.any(String) } } },
      }),
    ]);
    expect(container(sts).volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/etcd' }]);
    expect(JSON.stringify(sts)).not.toContain('emptyDir');
  });

  it('bootstraps from the pod DNS names of the headless peer Service', () => {
    const args: string[] = container(sts).args;
    const member = (i: number) => `hfi-etcd-${i}.hfi-etcd-peer.boifi.svc.cluster.local`;
    expect(args).toContain(
      `--initial-cluster=${[0, 1, 2].map((i) => `hfi-etcd-${i}=http://${member(i)}:2380`).join(',')}`,
    );
    expect(args).toContain('--name=$(POD_NAME)');
    expect(args).toContain(
      '--initial-advertise-peer-urls=http://$(POD_NAME).hfi-etcd-peer.boifi.svc.cluster.local:2380',
    );
    expect(container(sts).env).toContainEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    const peers = find(list, 'Service', 'hfi-etcd-peer');
    expect(peers.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(peers.spec.ports.map((p: Json) => p.port)).toEqual([2379, 2380]);
    const client = find(list, 'Service', 'hfi-etcd');
    expect(client.spec.ports).toEqual([{ name: 'client', port: 2379, targetPort: 'client', protocol: 'TCP' }]);
    expect(sts.spec.template.metadata.labels).toMatchObject(peers.spec.selector);
  });

  it('follows --etcd-replicas in the StatefulSet, --initial-cluster and the control plane store', () => {
    const five = objects({ etcdReplicas: 5 });
    const set = find(five, 'StatefulSet', 'hfi-etcd');
    expect(set.spec.replicas).toBe(5);
    const initial = (container(set).args as string[]).find((a) => a.startsWith('--initial-cluster='));
    expect(initial?.split(',')).toHaveLength(5);
    const store = container(find(five, 'Deployment', 'hfi-control-plane')).args[4] as string;
    expect(store.split(',')).toHaveLength(5);
    expect(store).toContain('hfi-etcd-4.hfi-etcd-peer.boifi.svc.cluster.local:2379');
  });

  it('runs non-root too, with a disruption budget that keeps the quorum', () => {
    expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, fsGroup: expect.any(Number) });
    expect(container(sts).securityContext.readOnlyRootFilesystem).toBe(true);
    expect(find(list, 'PodDisruptionBudget', 'hfi-etcd').spec.maxUnavailable).toBe(1);
  });
});

describe('Istio objects in the target namespace', () => {
  const list = objects();

  it('the WasmPlugin fetches the plugin from the control plane, pinned by sha256, failing open', () => {
    const plugin = find(list, 'WasmPlugin', 'hfi-fault-injection');
    expect(plugin.apiVersion).toBe('extensions.istio.io/v1alpha1');
    expect(plugin.metadata.namespace).toBe('demo');
    expect(plugin.spec).toEqual({
      selector: { matchLabels: { app: 'frontend' } },
      url: 'http://hfi-control-plane.boifi.svc.cluster.local:8080/v1/plugin.wasm',
      sha256: SHA,
      phase: 'AUTHN',
      failStrategy: 'FAIL_OPEN',
      pluginConfig: { control_plane_address: 'hfi-control-plane.boifi.svc.cluster.local:8080' },
    });
    // The typed model predates failStrategy (Istio 1.18 CRDs), so its schema cannot check it; Istio's enum does.
    expect(WASM_FAIL_STRATEGIES).toContain(plugin.spec.failStrategy);
  });

  it('the EnvoyFilter merges the plugin prefix into the BOOTSTRAP stats inclusion list', () => {
    const filter = find(list, 'EnvoyFilter', 'hfi-wasm-metrics');
    expect(filter.apiVersion).toBe('networking.istio.io/v1alpha3');
    expect(filter.metadata.namespace).toBe('demo');
    expect(filter.spec.workloadSelector).toEqual({ labels: { app: 'frontend' } });
    expect(filter.spec.configPatches).toEqual([
      {
        applyTo: 'BOOTSTRAP',
        patch: {
          operation: 'MERGE',
          value: {
            stats_config: {
              stats_matcher: {
                inclusion_list: {
                  patterns: [{ prefix: STATS_PREFIX_MATCHING_PLUGIN }, { prefix: 'wasmcustom.hfi_faults' }],
                },
              },
            },
          },
        },
      },
    ]);
  });

  it('follows the namespace, target and cluster-domain flags everywhere they appear', () => {
    const custom = objects({
      namespace: 'faults',
      targetNamespace: 'shop',
      targetSelector: 'app=checkout,version=v2',
      clusterDomain: 'corp.internal',
    });
    const plugin = find(custom, 'WasmPlugin', 'hfi-fault-injection');
    expect(plugin.metadata.namespace).toBe('shop');
    expect(plugin.spec.selector).toEqual({ matchLabels: { app: 'checkout', version: 'v2' } });
    expect(plugin.spec.url).toBe('http://hfi-control-plane.faults.svc.corp.internal:8080/v1/plugin.wasm');
    expect(plugin.spec.pluginConfig).toEqual({
      control_plane_address: 'hfi-control-plane.faults.svc.corp.internal:8080',
    });
    expect(find(custom, 'EnvoyFilter', 'hfi-wasm-metrics').metadata.namespace).toBe('shop');
    for (const o of custom.filter((x) => !['WasmPlugin', 'EnvoyFilter', 'Namespace'].includes(x.kind))) {
      expect(`${o.kind} ${o.metadata.namespace}`).toBe(`${o.kind} faults`);
    }
    expect(JSON.stringify(custom)).not.toMatch(/boifi|cluster\.local|\bdemo\b/);
  });

  it('an empty --target-selector applies the plugin to the whole target namespace', () => {
    const all = objects({ targetSelector: '' });
    expect(find(all, 'WasmPlugin', 'hfi-fault-injection').spec.selector).toBeUndefined();
    expect(find(all, 'EnvoyFilter', 'hfi-wasm-metrics').spec.workloadSelector).toBeUndefined();
  });

  it('--no-envoyfilter and --no-dashboard leave those objects out; --prometheus-rule adds the alerts', () => {
    const kinds = (input: ManifestInput) => objects(input).map((o) => o.kind);
    expect(kinds({ envoyFilter: false })).not.toContain('EnvoyFilter');
    expect(kinds({ dashboard: false })).not.toContain('ConfigMap');
    expect(kinds({})).not.toContain('PrometheusRule');
    expect(kinds({ prometheusRule: true })).toContain('PrometheusRule');
  });
});

describe('the dashboard ConfigMap', () => {
  it('carries the dashboard JSON with the grafana_dashboard label', () => {
    const map = find(objects(), 'ConfigMap', 'hfi-grafana-dashboard');
    expect(map.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(map.data['hfi-faults.json']);
    const exprs: string[] = dashboard.panels.flatMap((p: Json) => p.targets.map((t: Json) => t.expr));
    for (const metric of ['aborts_total', 'delays_total', 'delay_duration_milliseconds_bucket']) {
      expect(exprs.some((e) => e.includes(`wasmcustom_hfi_faults_${metric}`))).toBe(true);
    }
    expect(exprs).toContain(
      'histogram_quantile(0.99, sum by (le) (rate(wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{namespace=~"$namespace"}[5m])))',
    );
    expect(dashboard.description).toMatch(/no labels of their own.*kubernetes_sd relabelling/);
  });
});

describe('output', () => {
  it('YAML: one document per object that parses back to the objects, with the operator comments', () => {
    const { documents } = build();
    const { text } = renderManifests({ pluginSha256: SHA, token: TOKEN });
    const parsed = parseAllDocuments(text);
    expect(parsed.map((d) => d.toJSON())).toEqual(documents.map((d) => d.object.toJSON()));
    for (const doc of parsed) expect(doc.errors).toEqual([]);
    expect(text).toContain(
      "# Read it back with:\n#   kubectl get secret -n boifi hfi-control-plane-token -o jsonpath='{.data.token}' | base64 -d",
    );
    expect(text).toMatch(
      /# BOOTSTRAP patch: Envoy reads it only at start, so pods must restart .*\n# {3}kubectl delete pod -n demo -l app=frontend\n/,
    );
    // The comment sits on the EnvoyFilter document, not elsewhere.
    const chunks = text.split(/^---\n/m);
    const envoyFilterChunk = chunks.find((c) => c.includes('\nkind: EnvoyFilter\n'));
    expect(envoyFilterChunk).toMatch(/pods must restart/);
    expect(chunks.filter((c) => c.includes('pods must restart'))).toHaveLength(1);
  });

  it("the SDK's lazily loading entry points render the same text", () => {
    const input = { pluginSha256: SHA, token: TOKEN, prometheusRule: true };
    expect(sdkK8s.renderManifests(input).text).toBe(renderManifests(input).text);
    expect(sdkK8s.dashboardJson()).toContain('"uid": "hfi-faults"');
  });

  it('JSON: a v1 List of the same objects', () => {
    const { text } = renderManifests({ pluginSha256: SHA, token: TOKEN, output: 'json' });
    const list = JSON.parse(text);
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items).toEqual(objects());
  });
});

describe('bad flag values', () => {
  it.each([
    [{ namespace: 'Boifi' }, 'namespace', /not a namespace name/],
    [{ targetNamespace: 'demo_ns' }, 'target-namespace', /not a namespace name/],
    [{ targetSelector: 'app' }, 'target-selector', /"app" is not key=value/],
    [{ targetSelector: 'app=front end' }, 'target-selector', /"front end" is not a label value/],
    [{ targetSelector: 'app=a,app=b' }, 'target-selector', /given twice/],
    [{ replicas: 0 }, 'replicas', /from 1 to 20/],
    [{ replicas: '2.5' }, 'replicas', /from 1 to 20/],
    [{ etcdReplicas: 4 }, 'etcd-replicas', /4 is even/],
    [{ etcdReplicas: 11 }, 'etcd-replicas', /from 1 to 9/],
    [{ image: 'has space:1' }, 'image', /not an image reference/],
    [{ token: 'short' }, 'token', /at least 16/],
    [{ token: 'has a space in the token' }, 'token', /printable ASCII without spaces/],
    [{ pluginSha256: 'abc' }, 'plugin-sha256', /64 hex digits/],
    [{ clusterDomain: 'Cluster..local' }, 'cluster-domain', /not a DNS domain/],
    [{ output: 'xml' }, 'output', /"xml" is not one of yaml, json/],
  ] as [ManifestInput, string, RegExp][])('%j is refused with a message naming --%s', (input, flag, message) => {
    const err = configError(() => buildManifests({ pluginSha256: SHA, ...input }));
    expect(err.code).toBe('HFI_ERR_CONFIG');
    expect(err.field).toBe(flag);
    expect(err.message).toMatch(new RegExp(`^--${flag}: `));
    expect(err.message).toMatch(message);
    if (flag === 'token') expect(JSON.stringify(err.details)).not.toContain(String(input.token));
  });
});

describe('the plugin digest', () => {
  const built = existsSync(bundledPluginPath());

  (built ? it : it.skip)(
    `names the sha256 of the bundled plugin.wasm${built ? '' : ' (skipped: plugin.wasm not built; run npm run build)'}`,
    () => {
      const expected = createHash('sha256').update(readFileSync(bundledPluginPath())).digest('hex');
      const { documents, pluginSha256: used } = buildManifests({ token: TOKEN });
      expect(used).toBe(expected);
      const plugin = documents.find((d) => d.object.kind === 'WasmPlugin')?.object as KubeObject;
      expect((plugin.toJSON() as Json).spec.sha256).toBe(expected);
    },
  );

  it('says to run npm run build when plugin.wasm is missing', () => {
    const err = configError(() => pluginSha256('/nonexistent/hfi/plugin.wasm'));
    expect(err.code).toBe('HFI_ERR_PLUGIN_LOAD');
    expect(err.message).toMatch(/has not been built; run `npm run build`/);
  });
});
