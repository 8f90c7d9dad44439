// The `hfi` command, for embedding and tests
export type { CliIo } from './cli/io';
export { runCli } from './cli/program';
// Control-plane client
export { ControlPlaneClient, DEFAULT_TIMEOUT_MS, parseControlPlaneUrl } from './client/control-plane-client';
export type {
  CallOptions,
  ControlPlaneClientOptions,
  HealthStatus,
  NodeList,
  PolicyList,
  PolicyStatusEntry,
  PolicyStatusReport,
  ReadyStatus,
  StoredPolicy,
  WatchPoliciesOptions,
  WatchResult,
} from './client/types';
// hfi doctor: the troubleshooting guide's checks (diagnose)
export * from './doctor/index';
// Fault windows
export {
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_FLUSH_TIMEOUT_MS,
  HfiClient,
  type HfiClientOptions,
} from './hfi-client';
// Kubernetes manifests for Istio (hfi k8s manifests)
export * from './k8s/index';
// Metrics: snapshots, deltas, histogram math, metric sources
export * from './metrics/index';
export { SDK_VERSION } from './version';
export {
  DEFAULT_LEASE_MS,
  describeNode,
  FaultWindow,
  type FaultWindowMatch,
  type FaultWindowOptions,
  formatSelector,
  mismatchReasons,
} from './window/index';
