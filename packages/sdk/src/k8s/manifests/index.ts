// Kubernetes manifests for running hfi in an Istio mesh (`hfi k8s manifests`).
export { dashboardJson, dashboardQueries, type GrafanaDashboard, grafanaDashboard } from './dashboard';
export { envoyFilterDocument, STATS_PREFIX_FROM_SEED, STATS_PREFIX_MATCHING_PLUGIN, wasmPluginDocument } from './istio';
export {
  DEFAULT_ETCD_IMAGE,
  DEFAULT_IMAGE,
  MANIFEST_DEFAULTS,
  MANIFEST_FORMATS,
  type ManifestFormat,
  type ManifestInput,
  type ManifestOptions,
  parseTargetSelector,
  resolveManifestOptions,
} from './options';
export { bundledPluginPath, pluginSha256 } from './plugin-wasm';
export { type AlertingRule, faultAlertGroups, type RuleGroup, ruleFileYaml } from './prometheus-rules';
export {
  type BuiltManifests,
  buildManifests,
  formatDocuments,
  generateToken,
  type RenderedManifests,
  renderManifests,
  renderPrometheusRule,
  validateDocuments,
} from './render';
export type { FieldComment, KubeObject, ManifestDocument } from './types';
