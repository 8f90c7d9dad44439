// The snapshot and delta model. These names are a contract: the client, the CLI and the Jest matchers build on it.

/** A classic Prometheus histogram: cumulative buckets sorted by `le` (the last one is `+Inf`), `_sum` and `_count`. */
export interface HistogramValue {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/**
 * The hfi metrics of one sidecar. `undefined` means the family is absent from the page (plugin not loaded, old
 * metric names, a stats matcher that drops them) — never the same as zero.
 */
export interface PodMetrics {
  aborts: number | undefined;
  delays: number | undefined;
  delayHistogram: HistogramValue | undefined;
  /** `envoy_server_uptime` (seconds); a decrease between two samples means the proxy restarted. */
  uptimeSeconds?: number;
  /** `envoy_server_hot_restart_epoch`. */
  hotRestartEpoch?: number;
  /** Only when an hfi family is absent: metric names on the page that look related, for the diagnosis. */
  related?: string[];
}

export interface PodSample {
  /** Identity the deltas are keyed by: pod name or UID, or the admin URL. */
  pod: string;
  labels?: Record<string, string>;
  scrapedAtMs: number;
  metrics: PodMetrics;
  /** Set when this pod could not be scraped; `metrics` is then all-absent. */
  error?: string;
}

export interface Snapshot {
  takenAtMs: number;
  pods: PodSample[];
}

export interface HistogramDelta extends HistogramValue {
  /** Prometheus's `histogram_quantile(q, …)` over these bucket deltas. */
  quantile(q: number): number;
}

export interface PodDelta {
  pod: string;
  aborts: number;
  delays: number;
  delayHistogram: HistogramDelta;
  /** A counter dropped or `envoy_server_uptime` decreased: the proxy restarted, the new values were taken whole. */
  reset: boolean;
  /** Only in the second snapshot: baseline 0. */
  appeared: boolean;
  /** Only in the first snapshot: its counts since the baseline are lost. */
  vanished: boolean;
  /** Δdelays_total ≠ Δ_count: the histogram has not been flushed yet (Envoy refreshes it every stats flush). */
  histogramLagging: boolean;
  notes: string[];
}

export interface FaultDelta {
  aborts: number;
  delays: number;
  /** Bucket deltas summed over pods by `le`, as `sum by (le)` does. */
  delayHistogram: HistogramDelta;
  perPod: PodDelta[];
  /** Pods where an hfi family is absent from the second snapshot: plugin not loaded, old names, stats matcher. */
  missingMetrics: string[];
  /** Pods whose scrape failed in either snapshot (their deltas are not trustworthy). */
  scrapeErrors: string[];
  /** Notes about the whole delta (e.g. a flush wait that timed out). */
  notes: string[];
}
