// Builds stats pages the way Envoy's PrometheusStatsFormatter writes them (anchors §3): `# TYPE` lines and no
// `# HELP`, `{}` for untagged series, `le` as the last label, bounds and sums printed with `{:.32g}`, 20 bucket
// lines per histogram. Used by the tests only.
import { ENVOY_DEFAULT_BUCKETS } from '../envoy-histogram';
import type { HistogramValue } from '../types';

/** fmt's `{:.32g}` for the values Envoy prints: 32 significant digits, trailing zeros dropped. */
export function formatEnvoyNumber(x: number): string {
  if (x === Number.POSITIVE_INFINITY) return '+Inf';
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return String(x);
  const s = x.toPrecision(32);
  return s.includes('e') ? s : s.replace(/\.?0+$/, '');
}

function labels(tags: Record<string, string>, extra?: string): string {
  const parts = Object.entries(tags).map(([k, v]) => `${k}="${v}"`);
  if (extra) parts.push(extra);
  return `{${parts.join(',')}}`;
}

export function counterLines(name: string, value: number, tags: Record<string, string> = {}): string[] {
  return [`${name}${labels(tags)} ${formatEnvoyNumber(value)}`];
}

export function histogramLines(name: string, h: HistogramValue, tags: Record<string, string> = {}): string[] {
  const lines = h.buckets.map((b) => `${name}_bucket${labels(tags, `le="${formatEnvoyNumber(b.le)}"`)} ${b.count}`);
  lines.push(`${name}_sum${labels(tags)} ${formatEnvoyNumber(h.sum)}`);
  lines.push(`${name}_count${labels(tags)} ${h.count}`);
  return lines;
}

export function zeroHistogram(bounds: readonly number[] = ENVOY_DEFAULT_BUCKETS): HistogramValue {
  return { buckets: [...bounds, Number.POSITIVE_INFINITY].map((le) => ({ le, count: 0 })), sum: 0, count: 0 };
}

export interface HfiState {
  aborts?: number;
  delays?: number;
  histogram?: HistogramValue;
  /** Families to leave out of the page, as a plugin that is not loaded would. */
  omit?: ('aborts' | 'delays' | 'histogram')[];
}

export interface PageOptions {
  hfi?: HfiState;
  uptime?: number;
  hotRestartEpoch?: number;
  /** Upstream clusters to render (each adds a few families' series and a 20-bucket histogram). */
  clusters?: number;
  /** Split the hfi families across the page, as Envoy does for families whose series are not contiguous. */
  scatter?: boolean;
  /** Lines that only a tolerant reader survives, e.g. an unparseable series of another family. */
  extraLines?: string[];
}

const H = 'wasmcustom_hfi_faults_delay_duration_milliseconds';

/** A sidecar page: server gauges, per-cluster counters and histograms, http and listener stats, hfi families. */
export function envoyStatsPage(options: PageOptions = {}): string {
  const hfi = options.hfi ?? {};
  const omit = new Set(hfi.omit ?? []);
  const hist = hfi.histogram ?? zeroHistogram();
  const histLines = histogramLines(H, hist);
  const abortsBlock = [
    '# TYPE wasmcustom_hfi_faults_aborts_total counter',
    ...counterLines('wasmcustom_hfi_faults_aborts_total', hfi.aborts ?? 0),
  ];
  const delaysBlock = [
    '# TYPE wasmcustom_hfi_faults_delays_total counter',
    ...counterLines('wasmcustom_hfi_faults_delays_total', hfi.delays ?? 0),
  ];

  const out: string[] = [];
  const clusters = Array.from(
    { length: options.clusters ?? 3 },
    (_, i) => `outbound|9080||svc${i}.demo.svc.cluster.local`,
  );
  out.push('# TYPE envoy_cluster_upstream_cx_total counter');
  for (const c of clusters) out.push(...counterLines('envoy_cluster_upstream_cx_total', 7, { envoy_cluster_name: c }));
  if (options.scatter && !omit.has('histogram')) out.push(`# TYPE ${H} histogram`, ...histLines.slice(0, 9));
  out.push('# TYPE envoy_cluster_upstream_rq counter');
  for (const c of clusters)
    out.push(...counterLines('envoy_cluster_upstream_rq', 12, { envoy_response_code: '200', envoy_cluster_name: c }));
  if (options.scatter && !omit.has('aborts')) out.push(...abortsBlock);
  out.push('# TYPE envoy_http_downstream_rq_xx counter');
  out.push(
    ...counterLines('envoy_http_downstream_rq_xx', 40, {
      envoy_response_code_class: '2',
      envoy_http_conn_manager_prefix: 'inbound_0.0.0.0_8080',
    }),
  );
  out.push('# TYPE envoy_server_concurrency gauge', 'envoy_server_concurrency{} 2');
  out.push(
    '# TYPE envoy_server_hot_restart_epoch gauge',
    `envoy_server_hot_restart_epoch{} ${options.hotRestartEpoch ?? 0}`,
  );
  out.push('# TYPE envoy_server_live gauge', 'envoy_server_live{} 1');
  if (options.uptime !== undefined)
    out.push('# TYPE envoy_server_uptime gauge', `envoy_server_uptime{} ${options.uptime}`);
  out.push('# TYPE envoy_server_worker_0_watchdog_miss counter', 'envoy_server_worker_0_watchdog_miss{} 0');
  out.push(...(options.extraLines ?? []));
  out.push('# TYPE envoy_cluster_upstream_rq_time histogram');
  for (const c of clusters) {
    const h = zeroHistogram();
    h.buckets = h.buckets.map((b, i) => ({ le: b.le, count: i >= 7 ? 12 : 0 }));
    h.sum = Number('3256.2000000000002728484105318785');
    h.count = 12;
    out.push(...histogramLines('envoy_cluster_upstream_rq_time', h, { envoy_cluster_name: c }));
  }
  // A second run of a family already seen, without a new `# TYPE` line (anchors §3.10a).
  out.push(
    ...counterLines('envoy_http_downstream_rq_xx', 1, {
      envoy_response_code_class: '4',
      envoy_http_conn_manager_prefix: 'inbound_0.0.0.0_8080',
    }),
  );
  if (options.scatter) {
    if (!omit.has('histogram')) out.push(...histLines.slice(9));
    if (!omit.has('delays')) out.push(...delaysBlock);
  } else {
    if (!omit.has('aborts')) out.push(...abortsBlock);
    if (!omit.has('histogram')) out.push(`# TYPE ${H} histogram`, ...histLines);
    if (!omit.has('delays')) out.push(...delaysBlock);
  }
  return `${out.join('\n')}\n`;
}
