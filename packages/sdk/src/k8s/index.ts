// The SDK's Kubernetes entry points. The typed models behind them take about 0.2 s to load, which a test that never
// renders a manifest should not pay, so the functions load them on first call.
import type * as Manifests from './manifests/index';

function manifests(): typeof Manifests {
  return require('./manifests/index') as typeof Manifests;
}

export type {
  AlertingRule,
  BuiltManifests,
  FieldComment,
  GrafanaDashboard,
  KubeObject,
  ManifestDocument,
  ManifestFormat,
  ManifestInput,
  ManifestOptions,
  RenderedManifests,
  RuleGroup,
} from './manifests/index';
export {
  DEFAULT_ETCD_IMAGE,
  DEFAULT_IMAGE,
  MANIFEST_DEFAULTS,
  MANIFEST_FORMATS,
  parseTargetSelector,
  resolveManifestOptions,
} from './manifests/options';
export { bundledPluginPath, pluginSha256 } from './manifests/plugin-wasm';

/** Builds, schema-checks and formats the manifests as `hfi k8s manifests` prints them. */
export const renderManifests: typeof Manifests.renderManifests = (input) => manifests().renderManifests(input);
/** Resolves the options and builds the documents (typed models), without formatting them. */
export const buildManifests: typeof Manifests.buildManifests = (input) => manifests().buildManifests(input);
export const validateDocuments: typeof Manifests.validateDocuments = (documents) =>
  manifests().validateDocuments(documents);
export const formatDocuments: typeof Manifests.formatDocuments = (documents, format, header) =>
  manifests().formatDocuments(documents, format, header);
export const renderPrometheusRule: typeof Manifests.renderPrometheusRule = (input) =>
  manifests().renderPrometheusRule(input);
export const grafanaDashboard: typeof Manifests.grafanaDashboard = () => manifests().grafanaDashboard();
export const dashboardJson: typeof Manifests.dashboardJson = () => manifests().dashboardJson();
export const faultAlertGroups: typeof Manifests.faultAlertGroups = () => manifests().faultAlertGroups();
export const ruleFileYaml: typeof Manifests.ruleFileYaml = () => manifests().ruleFileYaml();
