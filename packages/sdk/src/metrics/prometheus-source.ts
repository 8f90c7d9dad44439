// Snapshots from a Prometheus server instead of the sidecars: instant queries of the raw series at one evaluation
// time (`/api/v1/query?time=`, the same pinning as PromQL's `@`), never increase()/rate(), which extrapolate to the
// window's edges and turn exact counts into fractions (anchors §5.3). Prometheus only knows what it scraped, so a
// snapshot first waits until every matching target has been scraped after the moment it was asked for, and then
// evaluates at a time that sees exactly those samples.
import { HfiError } from '@hfi/core';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { HFI_METRICS, SERVER_GAUGES } from './extract';
import { sumHistograms } from './histogram-value';
import { parsePromNumber } from './prom-text';
import type { MetricSource } from './source';
import type { HistogramValue, PodMetrics, PodSample, Snapshot } from './types';

export interface PrometheusSourceOptions {
  /** Base URL of the Prometheus server (the part before `/api/v1`), e.g. `http://prometheus.istio-system:9090`. */
  url: string;
  /** PromQL label matchers in braces that pick the sidecars, e.g. `{namespace="demo",app="frontend"}`. */
  selector?: string;
  /** The label that names the pod (Istio's scrape configs set `pod`); series without it are grouped by `instance`. */
  podLabel?: string;
  /** Default: the scrape interval of the jobs that matched, read from `/api/v1/status/config`; else 15000. */
  scrapeIntervalMs?: number;
  /** snapshot() waits for a scrape newer than the call (default true). */
  waitForScrape?: boolean;
  /** How long waitForScrape waits. Default: 2 scrape intervals + 10 s. */
  waitTimeoutMs?: number;
  /** Limit for each HTTP request. Default 10000 ms. */
  timeoutMs?: number;
  /** Extra request headers, e.g. `authorization` for a Prometheus behind a proxy. */
  headers?: Record<string, string>;
}

export interface ScrapeWait {
  /** Evaluate here to see exactly the fresh samples (a time at which every target had been scraped after `afterMs`). */
  evaluationTimeMs: number;
  /** Per pod key: the timestamp of its latest scrape (the oldest of its targets'). */
  lastScrapeMs: Record<string, number>;
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

interface IntervalConfig {
  globalMs: number | undefined;
  byJob: Map<string, number>;
}

const DEFAULT_SCRAPE_INTERVAL_MS = 15_000;
const HISTOGRAM_SERIES = {
  bucket: `${HFI_METRICS.delayDuration}_bucket`,
  sum: `${HFI_METRICS.delayDuration}_sum`,
  count: `${HFI_METRICS.delayDuration}_count`,
} as const;
/** Prometheus's own series per target: 1 when its latest scrape succeeded, 0 when it failed. */
const UP = 'up';
const SERIES_NAMES: readonly string[] = [
  UP,
  HFI_METRICS.aborts,
  HFI_METRICS.delays,
  HISTOGRAM_SERIES.bucket,
  HISTOGRAM_SERIES.sum,
  HISTOGRAM_SERIES.count,
  SERVER_GAUGES.uptime,
  SERVER_GAUGES.hotRestartEpoch,
];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION = /(\d+)(ms|s|m|h|d|w|y)/g;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Prometheus durations: `15s`, `1m30s`, `500ms`. */
export function parsePrometheusDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(DURATION)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return ms;
}

function selectorMatchers(selector: string | undefined): string {
  if (selector === undefined) return '';
  const trimmed = selector.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) {
    throw new HfiError(
      'HFI_ERR_CONFIG',
      `selector must be PromQL label matchers in braces, e.g. {namespace="demo",app="frontend"}; got ${JSON.stringify(selector)}`,
      { field: 'selector' },
    );
  }
  return trimmed.slice(1, -1).trim().replace(/,$/, '');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function errorMessage(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { name, message, code } = err as { name?: unknown; message?: unknown; code?: unknown };
  if (name === 'TimeoutError' || name === 'AbortError') return 'timed out';
  return `${typeof code === 'string' ? `${code}: ` : ''}${String(message ?? err)}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class PrometheusSource implements MetricSource {
  private readonly base: string;
  private readonly matchers: string;
  private readonly podLabel: string;
  private readonly options: PrometheusSourceOptions;
  private readonly timeoutMs: number;
  private intervals: Promise<IntervalConfig> | undefined;

  constructor(options: PrometheusSourceOptions | string) {
    const o = typeof options === 'string' ? { url: options } : { ...options };
    let url: URL;
    try {
      url = new URL(o.url);
    } catch (err) {
      throw new HfiError('HFI_ERR_CONFIG', `not a URL: ${JSON.stringify(o.url)}`, { field: 'url', cause: err });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new HfiError('HFI_ERR_CONFIG', `Prometheus URL must be http(s): ${o.url}`, { field: 'url' });
    }
    this.base = url
      .toString()
      .replace(/\/+$/, '')
      .replace(/\/api\/v1$/, '');
    this.matchers = selectorMatchers(o.selector);
    this.podLabel = o.podLabel ?? 'pod';
    if (!LABEL_NAME.test(this.podLabel)) {
      throw new HfiError('HFI_ERR_CONFIG', `podLabel is not a label name: ${JSON.stringify(this.podLabel)}`, {
        field: 'podLabel',
      });
    }
    if (o.scrapeIntervalMs !== undefined && !(o.scrapeIntervalMs > 0)) {
      throw new HfiError('HFI_ERR_CONFIG', 'scrapeIntervalMs must be a positive number of milliseconds', {
        field: 'scrapeIntervalMs',
      });
    }
    this.options = o;
    this.timeoutMs = o.timeoutMs ?? 10_000;
  }

  describe(): string {
    return `prometheus: ${this.base}, ${this.selector(SERIES_NAMES)} grouped by ${this.podLabel}`;
  }

  /** Waits for a scrape newer than this call, then reads every series at a time that sees it. */
  async snapshot(): Promise<Snapshot> {
    if (this.options.waitForScrape === false) return this.snapshotAt(Date.now());
    const wait = await this.waitForScrape(Date.now());
    return this.snapshotAt(wait.evaluationTimeMs, wait.lastScrapeMs);
  }

  /** The raw series as Prometheus had them at `timeMs` (its latest sample at or before then, within lookback). */
  async snapshotAt(timeMs: number, lastScrapeMs?: Record<string, number>): Promise<Snapshot> {
    const [samples, scrapes] = await Promise.all([
      this.query(this.selector(SERIES_NAMES), timeMs),
      lastScrapeMs === undefined ? this.lastScrapes(timeMs) : Promise.resolve(new Map(Object.entries(lastScrapeMs))),
    ]);
    if (samples.length === 0) {
      throw new HfiError(
        'HFI_ERR_METRICS_SCRAPE',
        `Prometheus has no series matching ${this.selector(SERIES_NAMES)} at ${new Date(timeMs).toISOString()}: ` +
          'is it scraping the sidecars (:15090/stats/prometheus), and does the selector match their labels?',
        { details: { source: this.describe(), timeMs } },
      );
    }
    const groups = groupBy(samples, (s) => this.podKey(s.metric));
    const pods: PodSample[] = [];
    for (const [key, series] of groups) {
      const sample: PodSample = {
        pod: key,
        labels: commonLabels(series),
        scrapedAtMs: scrapes.get(key) ?? timeMs,
        metrics: podMetrics(series),
      };
      // Only `up` left and some of it 0: the sidecar's series went stale because its scrape failed.
      const failed = series.filter((s) => s.metric.__name__ === UP && parsePromNumber(s.value[1]) === 0);
      if (failed.length > 0 && series.every((s) => s.metric.__name__ === UP)) {
        const instances = failed.map((s) => `${s.metric.instance} (job ${s.metric.job})`).join(', ');
        sample.error = `Prometheus's latest scrape of ${instances} failed (up == 0)`;
      }
      pods.push(sample);
    }
    const missing = pods.filter(
      (p) =>
        p.error === undefined &&
        (p.metrics.aborts === undefined || p.metrics.delays === undefined || p.metrics.delayHistogram === undefined),
    );
    if (pods.every((p) => p.error !== undefined)) {
      throw new HfiError(
        'HFI_ERR_METRICS_SCRAPE',
        `Prometheus could not scrape any target matching ${this.selector(SERIES_NAMES)}: ${pods
          .map((p) => `${p.pod}: ${p.error}`)
          .join('; ')}`,
        { details: { source: this.describe(), errors: Object.fromEntries(pods.map((p) => [p.pod, p.error])) } },
      );
    }
    if (missing.length > 0) await this.addRelatedNames(missing, timeMs);
    pods.sort((a, b) => a.pod.localeCompare(b.pod));
    return { takenAtMs: timeMs, pods };
  }

  /**
   * Resolves once every target matching the selector has been scraped after `afterMs` (Prometheus's clock, so run
   * it where that clock agrees with this one), with the evaluation time to query at. Targets that went away (their
   * series are marked stale) are not waited for.
   */
  async waitForScrape(afterMs: number, options: { timeoutMs?: number } = {}): Promise<ScrapeWait> {
    const started = Date.now();
    let intervalMs: number | undefined;
    let timeoutMs = options.timeoutMs ?? this.options.waitTimeoutMs;
    for (;;) {
      const now = Date.now();
      const scrapes = await this.lastScrapes(now, (jobs) => {
        intervalMs ??= jobs;
      });
      intervalMs ??= await this.scrapeIntervalMs();
      timeoutMs ??= 2 * intervalMs + 10_000;
      const stale = [...scrapes].filter(([, ts]) => ts <= afterMs).sort(([x], [y]) => x.localeCompare(y));
      if (scrapes.size > 0 && stale.length === 0) {
        return { evaluationTimeMs: now, lastScrapeMs: Object.fromEntries(scrapes) };
      }
      if (Date.now() - started >= timeoutMs) {
        const what =
          scrapes.size === 0
            ? `no series match ${this.selector(SERIES_NAMES)}`
            : `not scraped since: ${stale.map(([pod, ts]) => `${pod} (last scrape ${new Date(ts).toISOString()})`).join(', ')}`;
        throw new HfiError(
          'HFI_ERR_TIMEOUT',
          `Prometheus did not scrape every target after ${new Date(afterMs).toISOString()} within ${timeoutMs} ms ` +
            `(scrape interval ${intervalMs} ms): ${what}`,
          { details: { source: this.describe(), afterMs, timeoutMs, scrapeIntervalMs: intervalMs, stale } },
        );
      }
      await delay(Math.min(1000, Math.max(50, intervalMs / 10)));
    }
  }

  /** The scrape interval: the option, else the global one from Prometheus's config, else 15 s. */
  async scrapeIntervalMs(jobs: readonly string[] = []): Promise<number> {
    if (this.options.scrapeIntervalMs !== undefined) return this.options.scrapeIntervalMs;
    const config = await this.loadIntervals();
    const known = jobs.map((j) => config.byJob.get(j)).filter((ms): ms is number => ms !== undefined);
    if (known.length > 0) return Math.max(...known);
    return config.globalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
  }

  async close(): Promise<void> {}

  private selector(names: readonly string[]): string {
    const name = `__name__=~"${names.join('|')}"`;
    return `{${this.matchers === '' ? name : `${name},${this.matchers}`}}`;
  }

  private podKey(labels: Record<string, string>): string {
    const pod = labels[this.podLabel] ?? labels.instance ?? '(no pod label)';
    return labels.namespace === undefined ? pod : `${labels.namespace}/${pod}`;
  }

  /** Per pod key, the oldest latest-scrape time among its targets; `onJobs` gets the interval of the jobs seen. */
  private async lastScrapes(timeMs: number, onJobs?: (intervalMs: number) => void): Promise<Map<string, number>> {
    const by = [...new Set([this.podLabel, 'namespace', 'instance', 'job'])].join(', ');
    // timestamp() drops __name__, so it is applied per name and the results joined with `or` (which keeps one
    // series per label set); one selector over every name would give duplicate label sets, a query error. `up`
    // comes first: it exists for every target Prometheus has tried to scrape, even when the scrape failed.
    const perName = SERIES_NAMES.map((name) => `timestamp(${name}{${this.matchers}})`).join(' or ');
    const rows = await this.query(`min by (${by}) (${perName})`, timeMs);
    const out = new Map<string, number>();
    for (const row of rows) {
      const key = this.podKey(row.metric);
      const ts = Math.round(parsePromNumber(row.value[1]) * 1000);
      out.set(key, Math.min(out.get(key) ?? Number.POSITIVE_INFINITY, ts));
    }
    if (onJobs !== undefined && rows.length > 0) {
      const jobs = [...new Set(rows.map((r) => r.metric.job).filter((j): j is string => j !== undefined))];
      onJobs(await this.scrapeIntervalMs(jobs));
    }
    return out;
  }

  private async addRelatedNames(pods: PodSample[], timeMs: number): Promise<void> {
    const by = [...new Set(['__name__', this.podLabel, 'namespace', 'instance'])].join(', ');
    const matchers = this.matchers === '' ? '' : `,${this.matchers}`;
    const rows = await this.query(`group by (${by}) ({__name__=~".*(hfi|wasm).*"${matchers}})`, timeMs).catch(
      () => [] as VectorSample[],
    );
    for (const pod of pods) {
      const names = rows.filter((r) => this.podKey(r.metric) === pod.pod).map((r) => r.metric.__name__ as string);
      pod.metrics.related = [...new Set(names)].sort().slice(0, 20);
    }
  }

  private loadIntervals(): Promise<IntervalConfig> {
    this.intervals ??= this.get('/api/v1/status/config', {})
      .then((data) => {
        const yaml = (data as { yaml?: unknown }).yaml;
        const config = (typeof yaml === 'string' ? parseYaml(yaml) : {}) as {
          global?: { scrape_interval?: string };
          scrape_configs?: { job_name?: string; scrape_interval?: string }[];
        };
        const globalMs = parsePrometheusDuration(config.global?.scrape_interval ?? '');
        const byJob = new Map<string, number>();
        for (const job of config.scrape_configs ?? []) {
          const ms = parsePrometheusDuration(job.scrape_interval ?? '') ?? globalMs;
          if (job.job_name !== undefined && ms !== undefined) byJob.set(job.job_name, ms);
        }
        return { globalMs, byJob };
      })
      // Some Prometheus-compatible servers (Thanos, managed services) do not serve their config.
      .catch(() => ({ globalMs: undefined, byJob: new Map<string, number>() }));
    return this.intervals;
  }

  private async query(promql: string, timeMs: number): Promise<VectorSample[]> {
    const data = (await this.get('/api/v1/query', { query: promql, time: seconds(timeMs) })) as {
      resultType?: string;
      result?: VectorSample[];
    };
    if (data.resultType !== 'vector' || !Array.isArray(data.result)) {
      throw new HfiError('HFI_ERR_PROMETHEUS_QUERY', `expected a vector from ${promql}, got ${data.resultType}`, {
        details: { query: promql },
      });
    }
    return data.result;
  }

  private async get(path: string, params: Record<string, string>): Promise<unknown> {
    const url = `${this.base}${path}${Object.keys(params).length > 0 ? `?${new URLSearchParams(params)}` : ''}`;
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        headers: { accept: 'application/json', ...this.options.headers },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new HfiError('HFI_ERR_PROMETHEUS_QUERY', `Prometheus at ${this.base} unreachable: ${errorMessage(err)}`, {
        cause: err,
        details: { url },
      });
    }
    let body: { status?: string; data?: unknown; errorType?: string; error?: string } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status !== 200 || body?.status !== 'success') {
      const reason = body?.error ? `${body.errorType ?? 'error'}: ${body.error}` : text.slice(0, 300).trim();
      throw new HfiError('HFI_ERR_PROMETHEUS_QUERY', `Prometheus answered HTTP ${status} to ${path}: ${reason}`, {
        details: { url, status, ...(body?.errorType ? { errorType: body.errorType, error: body.error } : {}) },
      });
    }
    return body.data;
  }
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [item]);
    else list.push(item);
  }
  return groups;
}

/** Labels every series of the pod shares (its target labels), without `__name__` and `le`. */
function commonLabels(series: readonly VectorSample[]): Record<string, string> {
  const [first, ...rest] = series;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first?.metric ?? {})) {
    if (k === '__name__' || k === 'le') continue;
    if (rest.every((s) => s.metric[k] === v)) out[k] = v;
  }
  return out;
}

function podMetrics(series: readonly VectorSample[]): PodMetrics {
  const byName = groupBy(series, (s) => s.metric.__name__ ?? '');
  // Several series of one family (labels added by tag extraction) add up to the proxy's total, as on the page.
  const total = (name: string): number | undefined => {
    const list = byName.get(name);
    return list === undefined ? undefined : list.reduce((n, s) => n + parsePromNumber(s.value[1]), 0);
  };
  const metrics: PodMetrics = {
    aborts: total(HFI_METRICS.aborts),
    delays: total(HFI_METRICS.delays),
    delayHistogram: histogram(byName),
  };
  const uptime = byName.get(SERVER_GAUGES.uptime);
  if (uptime !== undefined) metrics.uptimeSeconds = Math.max(...uptime.map((s) => parsePromNumber(s.value[1])));
  const epoch = byName.get(SERVER_GAUGES.hotRestartEpoch);
  if (epoch !== undefined) metrics.hotRestartEpoch = Math.max(...epoch.map((s) => parsePromNumber(s.value[1])));
  return metrics;
}

/** `_bucket` by `le`, `_sum` and `_count`, one histogram per label set, summed like `sum by (le)`. */
function histogram(byName: Map<string, VectorSample[]>): HistogramValue | undefined {
  const buckets = byName.get(HISTOGRAM_SERIES.bucket) ?? [];
  const sums = byName.get(HISTOGRAM_SERIES.sum) ?? [];
  const counts = byName.get(HISTOGRAM_SERIES.count) ?? [];
  if (buckets.length === 0 && counts.length === 0) return undefined;
  const seriesKey = (m: Record<string, string>): string =>
    JSON.stringify(
      Object.entries(m)
        .filter(([k]) => k !== '__name__' && k !== 'le')
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  const perSeries = new Map<string, HistogramValue>();
  const of = (m: Record<string, string>): HistogramValue => {
    const k = seriesKey(m);
    const h = perSeries.get(k) ?? { buckets: [], sum: 0, count: 0 };
    perSeries.set(k, h);
    return h;
  };
  for (const b of buckets) {
    of(b.metric).buckets.push({ le: parsePromNumber(b.metric.le ?? 'NaN'), count: parsePromNumber(b.value[1]) });
  }
  for (const s of sums) of(s.metric).sum += parsePromNumber(s.value[1]);
  for (const c of counts) of(c.metric).count += parsePromNumber(c.value[1]);
  for (const h of perSeries.values()) h.buckets.sort((a, b) => a.le - b.le);
  const all = [...perSeries.values()];
  return all.length === 1 ? (all[0] as HistogramValue) : sumHistograms(all);
}
