// Test helpers that ship with the SDK (not part of `@hfi/sdk`'s main entry): a FAKE Kubernetes API server for code
// that talks to one (KubernetesSource, `hfi doctor --k8s`), and a real Prometheus process for source tests.

// The Prometheus launcher lives in @hfi/filter (its own tests need it); re-exported under the names this entry had.
export {
  type PrometheusSample,
  PrometheusServer,
  type PrometheusServerOptions,
  type PrometheusServerOptions as PrometheusProcessOptions,
  type PrometheusWaitOptions,
  type RelabelConfig,
  type ScrapeJob,
  type ScrapeJob as StaticScrapeJob,
  type StartedPrometheusServer,
  type StartedPrometheusServer as PrometheusProcess,
  startPrometheus,
} from '@hfi/filter';
export {
  type FakeAccess,
  type FakeKubeApiServer,
  type FakeKubeApiServerOptions,
  type FakeKubeconfigOptions,
  type FakeProxyBackend,
  type FakeProxyReply,
  type FakeProxyRequest,
  type FakeRequestRecord,
  startFakeKubeApiServer,
} from './fake-kube-api-server';
export {
  type FakePodSpec,
  type PodObject,
  type PodPhase,
  podObject,
  type StatusObject,
  statusObject,
} from './kube-objects';
export { type LabelRequirement, matchesLabels, parseLabelSelector } from './label-selector';
