// The contract between the proxy-wasm host (which defines and updates metrics on behalf of plugins) and the
// Envoy-faithful stats store (which keeps them and renders the admin endpoints).

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface RenderOptions {
  /** `?usedonly`: only stats that were written (counter incremented, gauge set, histogram recorded). */
  usedOnly?: boolean;
  /** `?filter=<regex>`: keep stats whose name matches. */
  filter?: RegExp;
}

export interface StatsStore {
  /**
   * Defines a plugin metric (proxy_define_metric) or returns the id of the existing one with that name and type.
   * `name` is the name exactly as the plugin passed it. A name the stats matcher rejects still gets an id (Envoy
   * hands out a null stat), but is never stored or rendered.
   */
  defineMetric(type: MetricType, name: string): number;
  /** proxy_increment_metric: counters and gauges. Throws on an unknown id or a histogram. */
  incrementMetric(id: number, delta: bigint): void;
  /** proxy_record_metric: histogram sample, or gauge set. Counters: throws. */
  recordMetric(id: number, value: bigint): void;
  /** proxy_get_metric: counter/gauge value. */
  getMetric(id: number): bigint;
  /** Refreshes every histogram's cumulative statistics, as Envoy's stats flush does. */
  flush(): void;
  /** Starts periodic flushes (Envoy's stats_flush_interval, 5000 ms by default). */
  startFlushing(intervalMs: number): void;
  stopFlushing(): void;
  /** Built-in server stats (envoy_server_live, envoy_server_uptime, ...): a gauge the host owns. */
  setServerGauge(name: string, value: number): void;
  /** `/stats/prometheus` body. */
  renderPrometheus(options?: RenderOptions): string;
  /** `/stats` body (Envoy's plain `name: value` format). */
  renderText(options?: RenderOptions): string;
  /** The bootstrap stats matcher inclusion patterns in force, as `/config_dump` shows them. */
  inclusionPatterns(): { prefix?: string; suffix?: string; safe_regex?: { regex: string } }[];
}
