// The shapes of `diagnose()`: what the caller asks for, and the report of the seed's checks.
import type { KubeConfig } from '@kubernetes/client-node';

/** `could not check` is `unknown`: the evidence needed was not available. */
export type CheckStatus = 'ok' | 'problem' | 'unknown';

/** The seed troubleshooting guide's problems: 1 not visible, 2 not incrementing, 3 restart, 4 Prometheus, 5 old names. */
export type SeedProblem = 1 | 2 | 3 | 4 | 5;

export type CheckId =
  | 'plugin-loaded'
  | 'metrics-visible'
  | 'metric-names'
  | 'policy-applied'
  | 'policy-selector'
  | 'policy-acked'
  | 'traffic'
  | 'policy-match'
  | 'restart'
  | 'prometheus-targets'
  | 'prometheus-metrics';

/** What one check found on one sidecar. */
export interface PodFinding {
  pod: string;
  status: CheckStatus;
  detail: string;
}

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** One sentence (or a few) saying what was found. */
  detail: string;
  /** The seed's fix for the problem found, as commands and steps (only when status is `problem`). */
  fix?: string;
  /** The seed's problem this check answers, when it found one. */
  seedProblem?: SeedProblem;
  /** Per sidecar, when the check looked at each. */
  pods?: PodFinding[];
  /** Endpoints that did not answer; any of them makes the run exit 2 when no problem was found. */
  unreachable?: string[];
}

export interface RequestSpec {
  method: string;
  path: string;
  headers: [string, string][];
}

interface CommonOptions {
  /** The hfi control plane (policies, nodes). Without it the policy checks cannot run. */
  controlPlane?: string;
  /** Bearer token for the control plane. */
  token?: string;
  /** A Prometheus server: checks that it scrapes the sidecars and keeps the hfi metrics. */
  prometheus?: string;
  /** A request the caller expects to be faulted: checked against the policies' match rules. */
  request?: RequestSpec;
  /**
   * A snapshot file from an earlier run: counters lower now than there mean a restart (the seed's Problem 3). The
   * file is then replaced with this run's values.
   */
  baselineFile?: string;
  /** Limit for each HTTP request. Default 5000 ms. */
  timeoutMs?: number;
  /** How long to wait for a sidecar to apply the current revision before calling it behind. Default 3000 ms. */
  ackWaitMs?: number;
}

export interface LocalTarget {
  /** The sidecar's admin base URL, e.g. `http://127.0.0.1:15000`. */
  admin: string;
  /** A file holding the sidecar's log (what `hfi sidecar` writes on stderr). */
  logFile?: string;
}

export interface LocalDiagnoseOptions extends CommonOptions {
  mode: 'local';
  sidecars: (string | LocalTarget)[];
}

export interface KubernetesDiagnoseOptions extends CommonOptions {
  mode: 'k8s';
  /** The workloads' namespace. Default `demo` (the seed's). */
  namespace?: string;
  /** Pod label selector. Default `app=frontend` (the seed's). */
  selector?: string;
  /** A kubeconfig file path or YAML text, or a loaded KubeConfig. Default: $KUBECONFIG, ~/.kube/config. */
  kubeconfig?: string | KubeConfig;
  context?: string;
  /** Sidecar log lines read per pod. Default 500. */
  logTailLines?: number;
}

export type DiagnoseOptions = LocalDiagnoseOptions | KubernetesDiagnoseOptions;

export interface SidecarSummary {
  /** The key the findings use: the admin URL (local) or `namespace/pod` (k8s). */
  name: string;
  /** Where its stats were read. */
  statsUrl: string;
  workload?: string;
  namespace?: string;
  pod?: string;
  labels?: Record<string, string>;
  /** Set when nothing could be read from it. */
  error?: string;
}

export interface DiagnosisReport {
  mode: 'local' | 'k8s';
  startedAt: string;
  finishedAt: string;
  controlPlane?: string;
  prometheus?: string;
  sidecars: SidecarSummary[];
  checks: CheckResult[];
  summary: { ok: number; problems: number; unknown: number };
  /** 0 every check passed, 1 a problem was found, 2 the environment could not be checked. */
  exitCode: 0 | 1 | 2;
}
