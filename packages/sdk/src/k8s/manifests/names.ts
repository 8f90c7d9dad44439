// Object names, labels and in-cluster addresses shared by the manifests. The control plane's Service name and port
// are the ones the plugin's default address and Istio cluster name assume (boifi.md §4.1).
import { SDK_VERSION } from '../../version';
import type { ManifestOptions } from './options';

export const CONTROL_PLANE = 'hfi-control-plane';
export const CONTROL_PLANE_PORT = 8080;
export const TOKEN_SECRET = 'hfi-control-plane-token';
export const TOKEN_SECRET_KEY = 'token';
export const ETCD = 'hfi-etcd';
export const ETCD_PEER_SERVICE = 'hfi-etcd-peer';
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const ETCD_METRICS_PORT = 2381;
export const WASM_PLUGIN = 'hfi-fault-injection';
export const ENVOY_FILTER = 'hfi-wasm-metrics';
export const DASHBOARD_CONFIGMAP = 'hfi-grafana-dashboard';
export const DASHBOARD_FILE = 'hfi-faults.json';
export const PROMETHEUS_RULE = 'hfi-fault-alerts';
export const PLUGIN_PATH = '/v1/plugin.wasm';

export type Labels = Record<string, string>;

/** Labels every object carries. */
export function commonLabels(component: string): Labels {
  return {
    'app.kubernetes.io/part-of': 'hfi',
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/version': SDK_VERSION,
    'app.kubernetes.io/managed-by': 'hfi-k8s-manifests',
  };
}

/** The stable subset used in selectors (never the version: selectors cannot change after creation). */
export function selectorLabels(app: string): Labels {
  return { app, 'app.kubernetes.io/name': app };
}

export function workloadLabels(app: string, component: string): Labels {
  return { ...selectorLabels(app), ...commonLabels(component) };
}

export function serviceHost(name: string, options: ManifestOptions): string {
  return `${name}.${options.namespace}.svc.${options.clusterDomain}`;
}

/** `host:port` as the plugin's `control_plane_address`; the plugin derives `outbound|8080||<host>` from it. */
export function controlPlaneAddress(options: ManifestOptions): string {
  return `${serviceHost(CONTROL_PLANE, options)}:${CONTROL_PLANE_PORT}`;
}

export function pluginUrl(options: ManifestOptions): string {
  return `http://${controlPlaneAddress(options)}${PLUGIN_PATH}`;
}

/** Stable DNS name of etcd member `index`, through the headless peer Service. */
export function etcdMemberHost(index: number, options: ManifestOptions): string {
  return `${ETCD}-${index}.${serviceHost(ETCD_PEER_SERVICE, options)}`;
}

export function etcdMemberIndexes(options: ManifestOptions): number[] {
  return Array.from({ length: options.etcdReplicas }, (_, i) => i);
}

/** `etcd:http://hfi-etcd-0.…:2379,…` for `hfi control-plane --store`. */
export function etcdStoreSpec(options: ManifestOptions): string {
  const endpoints = etcdMemberIndexes(options).map((i) => `http://${etcdMemberHost(i, options)}:${ETCD_CLIENT_PORT}`);
  return `etcd:${endpoints.join(',')}`;
}

/** `hfi-etcd-0=http://hfi-etcd-0.…:2380,…` for etcd's `--initial-cluster`. */
export function etcdInitialCluster(options: ManifestOptions): string {
  return etcdMemberIndexes(options)
    .map((i) => `${ETCD}-${i}=http://${etcdMemberHost(i, options)}:${ETCD_PEER_PORT}`)
    .join(',');
}
