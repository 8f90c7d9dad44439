export { type Baseline, type BaselineEntry, readBaseline } from './baseline';
export {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_DOCTOR_TIMEOUT_MS,
  DEFAULT_K8S_NAMESPACE,
  DEFAULT_K8S_SELECTOR,
  diagnose,
  exitCodeOf,
} from './diagnose';
export { renderReport } from './render';
export { parseHeader, parseRequestSpec } from './request-spec';
export type {
  CheckId,
  CheckResult,
  CheckStatus,
  DiagnoseOptions,
  DiagnosisReport,
  KubernetesDiagnoseOptions,
  LocalDiagnoseOptions,
  LocalTarget,
  PodFinding,
  RequestSpec,
  SeedProblem,
  SidecarSummary,
} from './types';
