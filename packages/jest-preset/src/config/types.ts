// The preset's configuration: what a user writes in hfi.config.json (or .js/.cjs/.mjs) and what it becomes after
// the environment overrides and the defaults are applied.

export type HfiMode = 'local' | 'kubernetes';
export type PresetLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type KubernetesMetricSourceKind = 'kubernetes' | 'prometheus';

/** One service under test, as written in the config file. */
export interface HfiServiceInput {
  /** The workload name the sidecar reports (and `service(name)` finds). */
  name: string;
  /** Default `default`. */
  namespace?: string;
  /** local: the workload's own URL that the sidecar proxies to, e.g. `http://127.0.0.1:3000`. */
  upstream?: string;
  /** kubernetes: the URL tests send requests to (an ingress, a port-forward); `service(name).url`. */
  url?: string;
  /** local: the sidecar's pod name (default `<name>-local`). */
  pod?: string;
  /** Pod labels; `app: <name>` is added when absent. kubernetes: also the label selector of the pods to scrape. */
  labels?: Record<string, string>;
}

/** The file's content. */
export interface HfiPresetConfigInput {
  /** Default `local`. */
  mode?: HfiMode;
  services: HfiServiceInput[];
  /** local: the sidecars' stats flush interval (Envoy's stats_flush_interval). Default 1000 ms. */
  flushIntervalMs?: number;
  /** How long a window waits for the sidecars' acks. Default 10 000 ms. */
  ackTimeoutMs?: number;
  /** local: how long global setup waits for the sidecars to connect and ack. Default 30 000 ms. */
  startupTimeoutMs?: number;
  /** Threshold for the local processes' log lines on stderr; every line also goes to the log directory. */
  logLevel?: PresetLogLevel;
  /** kubernetes: the control plane's URL (or HFI_CONTROL_PLANE_ADDR). */
  controlPlane?: string;
  /** Bearer token for policy writes (or HFI_TOKEN). */
  token?: string;
  /** kubernetes: where the sidecars' metrics come from. */
  metrics?: { source?: KubernetesMetricSourceKind; prometheusUrl?: string; kubeconfig?: string; context?: string };
}

export interface HfiServiceConfig {
  name: string;
  namespace: string;
  upstream?: string;
  url?: string;
  pod: string;
  labels: Record<string, string>;
}

export interface KubernetesMetricsConfig {
  source: KubernetesMetricSourceKind;
  prometheusUrl?: string;
  kubeconfig?: string;
  context?: string;
}

export interface HfiPresetConfig {
  mode: HfiMode;
  services: HfiServiceConfig[];
  flushIntervalMs: number;
  ackTimeoutMs: number;
  startupTimeoutMs: number;
  logLevel: PresetLogLevel;
  controlPlane?: string;
  token?: string;
  metrics?: KubernetesMetricsConfig;
  /** Where the configuration was read from (a path, or `environment` when there was no file). */
  source: string;
}

export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
export const DEFAULT_PRESET_ACK_TIMEOUT_MS = 10_000;
export const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;
