// Evidence from a cluster through the Kubernetes API, what `kubectl` would show: the selected pods, each istio-proxy's
// log and its :15090/stats/prometheus (pod proxy), the WasmPlugins and EnvoyFilters, and the plugin URL's answer.
import { createHash } from 'node:crypto';
import type { Page, SidecarEvidence } from './evidence';
import { asRecord } from './http';
import type { KubeApi } from './kube-api';

/** Envoy's Prometheus listener and the admin port in an Istio sidecar. */
export const ENVOY_PROMETHEUS_PORT = 15090;
export const ENVOY_ADMIN_PORT = 15000;
const ISTIO_AGENT_PROMETHEUS_PORT = 15020;
/** Istio's root namespace: resources there apply to every namespace. */
export const ISTIO_ROOT_NAMESPACE = 'istio-system';

export interface IstioResource {
  kind: 'WasmPlugin' | 'EnvoyFilter';
  name: string;
  namespace: string;
  /** The latest of creation and managedFields update times (ISO 8601). */
  changedAt?: string;
  spec: Record<string, unknown>;
}

export interface PluginFetch {
  url: string;
  /** true: answered 200 (and the sha256 matched when the WasmPlugin names one); undefined: could not be tried. */
  ok: boolean | undefined;
  detail: string;
}

export interface KubernetesFacts {
  namespace: string;
  selector: string;
  wasmPlugins: { items: IstioResource[] } | { error: string };
  envoyFilters: { items: IstioResource[] } | { error: string };
  pluginFetches: PluginFetch[];
}

interface PodJson {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string }[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { name?: string; restartCount?: number; state?: { running?: { startedAt?: string } } }[];
  };
}

/** Istio's WORKLOAD_NAME for a pod: the Deployment behind its ReplicaSet, else the owner, else the pod. */
export function workloadName(pod: PodJson): string {
  const owner = pod.metadata?.ownerReferences?.find((o) => typeof o.name === 'string');
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner?.kind === 'ReplicaSet' && owner.name) {
    if (hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
    return owner.name.replace(/-[a-z0-9]{5,10}$/, '');
  }
  return owner?.name ?? pod.metadata?.name ?? '';
}

function latestChange(metadata: Record<string, unknown> | undefined): string | undefined {
  const times: string[] = [];
  if (typeof metadata?.creationTimestamp === 'string') times.push(metadata.creationTimestamp);
  const managed = Array.isArray(metadata?.managedFields) ? metadata.managedFields : [];
  for (const m of managed) {
    const time = asRecord(m)?.time;
    if (typeof time === 'string') times.push(time);
  }
  return times.sort((a, b) => Date.parse(a) - Date.parse(b)).at(-1);
}

async function listIstio(
  api: KubeApi,
  kind: IstioResource['kind'],
  namespaces: string[],
): Promise<{ items: IstioResource[] } | { error: string }> {
  const [group, version, plural] =
    kind === 'WasmPlugin'
      ? ['extensions.istio.io', 'v1alpha1', 'wasmplugins']
      : ['networking.istio.io', 'v1alpha3', 'envoyfilters'];
  const items: IstioResource[] = [];
  const errors: string[] = [];
  for (const namespace of namespaces) {
    const answer = await api.getJson(api.customPath(group, version, namespace, plural));
    if ('error' in answer) {
      errors.push(answer.status === 404 ? `${kind} (${group}) is not served: Istio CRDs not installed?` : answer.error);
      continue;
    }
    const list = asRecord(answer.value)?.items;
    for (const item of Array.isArray(list) ? list : []) {
      const object = asRecord(item);
      const metadata = asRecord(object?.metadata);
      items.push({
        kind,
        name: String(metadata?.name ?? ''),
        namespace: String(metadata?.namespace ?? namespace),
        ...(latestChange(metadata) ? { changedAt: latestChange(metadata) } : {}),
        spec: asRecord(object?.spec) ?? {},
      });
    }
  }
  // Only when nothing could be listed is the list unknown.
  if (errors.length === namespaces.length) return { error: [...new Set(errors)].join('; ') };
  return { items };
}

/** `matchLabels` of a WasmPlugin `selector` or an EnvoyFilter `workloadSelector.labels`; undefined: every pod. */
export function resourceLabels(resource: IstioResource): Record<string, string> | undefined {
  const spec = resource.spec;
  const labels =
    resource.kind === 'WasmPlugin'
      ? asRecord(asRecord(spec.selector)?.matchLabels)
      : asRecord(asRecord(spec.workloadSelector)?.labels);
  if (labels === undefined) return undefined;
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
}

export function targetsPod(resource: IstioResource, podNamespace: string, podLabels: Record<string, string>): boolean {
  if (resource.namespace !== podNamespace && resource.namespace !== ISTIO_ROOT_NAMESPACE) return false;
  const labels = resourceLabels(resource);
  if (labels === undefined) return true;
  return Object.entries(labels).every(([k, v]) => podLabels[k] === v);
}

/** `http://svc.ns.svc.cluster.local:8080/path` → the service proxy path that reaches it through the API server. */
function inClusterService(url: URL): { namespace: string; service: string; port: number } | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)(\.svc(\..*)?)?$/.exec(url.hostname);
  if (m === null) return undefined;
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { service: m[1] as string, namespace: m[2] as string, port };
}

async function fetchPlugin(api: KubeApi, resource: IstioResource): Promise<PluginFetch> {
  const raw = typeof resource.spec.url === 'string' ? resource.spec.url : '';
  const sha256 = typeof resource.spec.sha256 === 'string' ? resource.spec.sha256.toLowerCase() : undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw, ok: false, detail: `WasmPlugin ${resource.namespace}/${resource.name} has no valid url` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { url: raw, ok: undefined, detail: `${url.protocol}// URLs are fetched by istio-agent; not checked here` };
  }
  const service = inClusterService(url);
  const answer =
    service === undefined
      ? await fetch(raw, { signal: AbortSignal.timeout(10_000) }).then(
          async (res) =>
            res.status === 200
              ? { body: Buffer.from(await res.arrayBuffer()) }
              : { error: `GET ${raw}: HTTP ${res.status}` },
          (err: Error) => ({ error: `GET ${raw}: ${err.message}` }),
        )
      : await api.getBytes(api.serviceProxyPath(service.namespace, service.service, service.port, url.pathname));
  if ('error' in answer) return { url: raw, ok: false, detail: answer.error };
  const actual = createHash('sha256').update(answer.body).digest('hex');
  if (sha256 !== undefined && sha256 !== actual) {
    return {
      url: raw,
      ok: false,
      detail: `${raw} answers, but its sha256 is ${actual}, not the WasmPlugin's ${sha256}: istio-agent refuses it`,
    };
  }
  return {
    url: raw,
    ok: true,
    detail: `${raw} answers (${answer.body.length} bytes${sha256 ? ', sha256 matches' : ''})`,
  };
}

export interface KubernetesCollection {
  sidecars: SidecarEvidence[];
  facts: KubernetesFacts;
  /** Why no sidecar could be read, when none could. */
  error?: string;
}

export async function collectKubernetes(
  api: KubeApi,
  namespace: string,
  selector: string,
  logTailLines: number,
): Promise<KubernetesCollection> {
  const namespaces = namespace === ISTIO_ROOT_NAMESPACE ? [namespace] : [namespace, ISTIO_ROOT_NAMESPACE];
  const [podList, wasmPlugins, envoyFilters] = await Promise.all([
    api.getJson(api.podsPath(namespace, selector)),
    listIstio(api, 'WasmPlugin', namespaces),
    listIstio(api, 'EnvoyFilter', namespaces),
  ]);
  const pluginFetches =
    'items' in wasmPlugins ? await Promise.all(wasmPlugins.items.map((w) => fetchPlugin(api, w))) : [];
  const facts: KubernetesFacts = { namespace, selector, wasmPlugins, envoyFilters, pluginFetches };
  if ('error' in podList) return { sidecars: [], facts, error: `listing pods (${selector}) failed: ${podList.error}` };

  const items = (asRecord(podList.value)?.items ?? []) as PodJson[];
  const running = items.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
  if (running.length === 0) {
    const seen = items.map((p) => `${p.metadata?.name} (${p.status?.phase ?? 'no phase'})`).join(', ');
    return {
      sidecars: [],
      facts,
      error: `no Running pod matches ${selector || 'any label'} in namespace ${namespace}${seen ? `; pods seen: ${seen}` : ''}`,
    };
  }

  const sidecars = await Promise.all(
    running.map(async (pod): Promise<SidecarEvidence> => {
      const name = pod.metadata?.name ?? '';
      const podIP = pod.status?.podIP as string;
      const proxy = pod.status?.containerStatuses?.find((c) => c.name === 'istio-proxy');
      const statsPath = api.podProxyPath(namespace, name, ENVOY_PROMETHEUS_PORT, '/stats/prometheus');
      const [prometheus, configDump, logs] = await Promise.all([
        api.getText(statsPath),
        api.getText(api.podProxyPath(namespace, name, ENVOY_ADMIN_PORT, '/config_dump')),
        api.getText(api.podLogPath(namespace, name, 'istio-proxy', logTailLines)),
      ]);
      const configPage: Page =
        'text' in configDump
          ? configDump
          : {
              error:
                `${configDump.error} (Envoy's admin port ${ENVOY_ADMIN_PORT} listens inside the pod only; read it with ` +
                `kubectl exec -n ${namespace} ${name} -c istio-proxy -- curl -s localhost:${ENVOY_ADMIN_PORT}/config_dump)`,
            };
      return {
        name: `${namespace}/${name}`,
        statsUrl: `${api.server}${statsPath}`,
        identity: { workload: workloadName(pod), namespace, pod: name, labels: { ...(pod.metadata?.labels ?? {}) } },
        prometheus: 'text' in prometheus ? prometheus : { error: prometheus.error },
        scrapedAtMs: Date.now(),
        configDump: configPage,
        logs:
          'text' in logs
            ? { lines: logs.text.split('\n').filter((l) => l !== ''), source: `kubectl logs ${name} -c istio-proxy` }
            : { error: logs.error },
        scrapeAddresses: [`${podIP}:${ENVOY_PROMETHEUS_PORT}`, `${podIP}:${ISTIO_AGENT_PROMETHEUS_PORT}`],
        k8s: {
          uid: pod.metadata?.uid ?? '',
          podIP,
          annotations: { ...(pod.metadata?.annotations ?? {}) },
          ...(proxy?.state?.running?.startedAt ? { proxyStartedAt: proxy.state.running.startedAt } : {}),
          proxyRestartCount: proxy?.restartCount ?? 0,
        },
      };
    }),
  );
  return { sidecars, facts };
}
