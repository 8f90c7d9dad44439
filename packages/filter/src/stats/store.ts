// An Envoy-faithful stats store for the local sidecar: what the proxy-wasm host writes plugin metrics into and
// what the admin endpoints render. The model, with its sources:
//
// NAMES. proxy_define_metric(type, name) creates the stat from the elements {"wasmcustom", name} in the plugin's
// root scope (envoy source/extensions/common/wasm/context.cc, Context::defineMetric), so its full internal name is
// `wasmcustom.<name>`, with the name exactly as the plugin passed it:
//   name passed by plugin              full name (matcher, /stats)            /stats/prometheus family
//   wasmcustom.hfi_faults_aborts_total wasmcustom.wasmcustom.hfi_faults_...   wasmcustom_hfi_faults_aborts_total
//   hfi.faults.aborts_total            wasmcustom.hfi.faults.aborts_total     hfi_faults_aborts_total
// The Prometheus formatter strips a registered custom namespace (`wasmcustom`) ONCE and adds no `envoy_` prefix
// (PrometheusStatsFormatter::metricName, envoy PR #17357); every other stat is `envoy_<sanitised name>`.
// `/stats` prints full names, prefix included.
//
// MATCHER. The bootstrap inclusion list is tested against the full name. Istio's required prefixes include `wasm`
// (since Istio 1.6), and `wasmcustom.` starts with it, so with Istio's defaults EVERY plugin metric is created and
// exported — the reference's old names too, as `hfi_faults_aborts_total`. See stats-matcher.ts.
//
// VALUES. Counters and gauges are uint64 and read live. Histograms keep samples in a libcircllhist model
// (circllhist.ts) and the admin output shows the statistics computed at the last stats flush (Envoy's
// `stats_flush_interval`, 5 s by default; Istio's too): a recorded sample is invisible until `flush()`. Bucket
// edges and `_sum` follow libcircllhist 63a16dd (Envoy ≤ 1.37) unless `circllhist: '0.3.2'` (Envoy ≥ 1.38).
//
// WASM ID RULES (Envoy): ids encode the type in the low two bits (counter 0, gauge 1, histogram 2, step 4);
// incrementMetric on a counter needs delta > 0, on a gauge adds or subtracts; recordMetric sets a gauge or records
// into a histogram; getMetric reads counters and gauges. Differences kept from the StatsStore contract: a second
// definition of the same name returns the first id (Envoy hands out a fresh id bound to the same stat), and
// recordMetric on a counter throws (Envoy adds the value).

import { HfiError } from '@hfi/core';
import { type CircllhistRevision, DEFAULT_BUCKETS } from './circllhist';
import type { Family, PrometheusModel, TextModel } from './render';
import { renderJsonBody, renderPrometheusBody, renderTextBody } from './render';
import {
  compareSegments,
  createEntry,
  type HistogramEntry,
  mergeHistogram,
  type NumericEntry,
  prometheusMetricName,
  type StatEntry,
  WASM_CUSTOM_NAMESPACE,
} from './stat-entry';
import {
  type InclusionPattern,
  istioInclusionPatterns,
  StatsMatcher,
  type UserInclusion,
  userInclusionPatterns,
} from './stats-matcher';
import { istioStatsTags, type StatsTag, type Tag, TagExtractor } from './tag-extractor';
import type { MetricType, RenderOptions, StatsStore } from './types';

/** Envoy's and Istio's default `stats_flush_interval`. */
export const DEFAULT_FLUSH_INTERVAL_MS = 5000;

export interface StatsStoreOptions {
  /** proxyStatsMatcher.inclusionPrefixes: appended to Istio's list (or the whole list with defaultInclusion false). */
  inclusionPrefixes?: readonly string[];
  inclusionSuffixes?: readonly string[];
  /** RE2 regexes, full match. */
  inclusionRegexps?: readonly string[];
  /**
   * true (default): Istio's bootstrap inclusion list around the user patterns. false: the user patterns only — an
   * empty list rejects every stat, the server gauges included, as Envoy does.
   */
  defaultInclusion?: boolean;
  /** Milliseconds since the epoch; drives `server.uptime`. Default Date.now. */
  clock?: () => number;
  /** `server.concurrency` (Istio's sidecar default is 2 workers). */
  concurrency?: number;
  /** Define server.live / uptime / hot_restart_epoch / concurrency. Default true. */
  serverStats?: boolean;
  /** Default bounds for histograms; Envoy's 19 when omitted. */
  buckets?: readonly number[];
  /** sidecar.istio.io/statsHistogramBuckets: stat-name prefix → bounds; the first matching prefix (sorted) wins. */
  histogramBuckets?: Readonly<Record<string, readonly number[]>>;
  /**
   * Which libcircllhist arithmetic to reproduce (see circllhist.ts): '63a16dd' = Envoy ≤ 1.37, a sample equal to a
   * bound counts in the next bucket (default); '0.3.2' = Envoy ≥ 1.38, it counts in its own bucket.
   */
  circllhist?: CircllhistRevision;
  /** meshConfig.defaultConfig.extraStatTags: `<tag>=.=<value>;.;` in a name becomes a label. */
  extraStatTags?: readonly string[];
  /** Replaces Istio's stats_tags entirely. */
  statsTags?: readonly StatsTag[];
}

export interface DefineStatOptions {
  /** Labels given directly instead of being extracted from the name. */
  tags?: Readonly<Record<string, string>>;
  /** With `tags`: the family name (defaults to the full name). */
  tagExtractedName?: string;
}

export interface MetricInfo {
  readonly id: number;
  readonly type: MetricType;
  /** Full Envoy stat name (`wasmcustom.<plugin name>` for plugin metrics). */
  readonly name: string;
  readonly tagExtractedName: string;
  readonly tags: readonly Tag[];
  /** Family name in /stats/prometheus, or null when the formatter drops it. */
  readonly prometheusName: string | null;
  /** The stats matcher rejected it: it takes writes and appears nowhere. */
  readonly rejected: boolean;
}

export interface EnvoyStatsStore extends StatsStore {
  /** A built-in (non-plugin) stat under its full Envoy name, e.g. `cluster.xds-grpc.upstream_cx_total`. */
  defineStat(type: MetricType, name: string, options?: DefineStatOptions): number;
  describeMetric(id: number): MetricInfo | undefined;
  /** Every defined stat, rejected ones included. */
  metrics(): MetricInfo[];
  /** `/stats?format=json` body. */
  renderJson(options?: RenderOptions): string;
  /** The bootstrap `stats_config` as `/config_dump` shows it. */
  statsConfig(): Record<string, unknown>;
  readonly circllhist: CircllhistRevision;
  /** The interval of the running periodic flush, if any. */
  readonly flushIntervalMs: number | undefined;
  /** Seconds since the store was created, by its clock. */
  uptimeSeconds(): number;
}

const TYPE_BITS: Record<MetricType, number> = { counter: 0, gauge: 1, histogram: 2 };
/** Built-in stats get ids far from the plugin's so both keep Envoy's per-type encoding. */
const BUILTIN_ID_BASE = 0x40000000;
const UINT64 = 64;

function serverGaugeName(name: string): string {
  if (name.startsWith('envoy_server_')) return `server.${name.slice('envoy_server_'.length)}`;
  if (name.startsWith('server.')) return name;
  return `server.${name}`;
}

function sortedBucketSettings(
  settings: Readonly<Record<string, readonly number[]>> | undefined,
): { prefix: string; buckets: number[] }[] {
  if (settings === undefined) return [];
  return Object.keys(settings)
    .sort()
    .map((prefix) => ({ prefix, buckets: [...settings[prefix]].sort((a, b) => a - b) }));
}

class EnvoyStatsStoreImpl implements EnvoyStatsStore {
  readonly circllhist: CircllhistRevision;
  private readonly matcher: StatsMatcher;
  private readonly tagExtractor: TagExtractor;
  private readonly statsTags: readonly StatsTag[];
  private readonly clock: () => number;
  private readonly startedAt: number;
  private readonly defaultBuckets: readonly number[];
  private readonly bucketSettings: { prefix: string; buckets: number[] }[];
  private readonly entries = new Map<number, StatEntry>();
  private readonly byName = new Map<string, number>();
  /** proxy-wasm ids, one sequence per type as Envoy's Wasm keeps them. */
  private readonly nextPluginId: Record<MetricType, number> = { counter: 0, gauge: 0, histogram: 0 };
  private readonly nextBuiltinId: Record<MetricType, number> = { counter: 0, gauge: 0, histogram: 0 };
  private readonly hostOwnedServerGauges = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private interval: number | undefined;
  private prometheusModel: PrometheusModel | undefined;
  private textModel: TextModel | undefined;

  constructor(options: StatsStoreOptions) {
    this.circllhist = options.circllhist ?? '63a16dd';
    const user: UserInclusion = {
      prefixes: options.inclusionPrefixes,
      suffixes: options.inclusionSuffixes,
      regexps: options.inclusionRegexps,
    };
    const patterns = options.defaultInclusion === false ? userInclusionPatterns(user) : istioInclusionPatterns(user);
    this.matcher = new StatsMatcher(patterns);
    this.statsTags = options.statsTags ?? istioStatsTags(options.extraStatTags);
    this.tagExtractor = new TagExtractor(this.statsTags);
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.clock();
    this.defaultBuckets = options.buckets ? [...options.buckets].sort((a, b) => a - b) : DEFAULT_BUCKETS;
    this.bucketSettings = sortedBucketSettings(options.histogramBuckets);
    if (options.serverStats !== false) {
      this.setGauge('server.live', 1n);
      this.setGauge('server.uptime', 0n);
      this.setGauge('server.hot_restart_epoch', 0n);
      this.setGauge('server.concurrency', BigInt(options.concurrency ?? 2));
    }
  }

  // --- definition -------------------------------------------------------------------------------------------

  defineMetric(type: MetricType, name: string): number {
    return this.define(type, `${WASM_CUSTOM_NAMESPACE}.${name}`, undefined, this.nextPluginId);
  }

  defineStat(type: MetricType, name: string, options?: DefineStatOptions): number {
    return this.define(type, name, options, this.nextBuiltinId);
  }

  private define(
    type: MetricType,
    fullName: string,
    options: DefineStatOptions | undefined,
    sequence: Record<MetricType, number>,
  ): number {
    if (type !== 'counter' && type !== 'gauge' && type !== 'histogram') {
      throw new HfiError('HFI_ERR_METRIC_BAD_ARGUMENT', `Unknown metric type: ${String(type)}`, {
        field: 'type',
        details: { type, name: fullName },
      });
    }
    const key = `${type}\u0000${fullName}`;
    const existing = this.byName.get(key);
    if (existing !== undefined) return existing;
    const id = (sequence === this.nextBuiltinId ? BUILTIN_ID_BASE : 0) + sequence[type] * 4 + TYPE_BITS[type];
    sequence[type]++;
    let tagExtractedName: string;
    let tags: Tag[];
    if (options?.tags !== undefined) {
      tagExtractedName = options.tagExtractedName ?? fullName;
      tags = Object.entries(options.tags).map(([tagName, value]) => ({ name: tagName, value }));
    } else {
      ({ tagExtractedName, tags } = this.tagExtractor.extract(fullName));
    }
    const entry = createEntry({
      id,
      type,
      name: fullName,
      tagExtractedName,
      tags,
      rejected: this.matcher.rejects(fullName),
      bounds: type === 'histogram' ? this.bucketsFor(fullName) : [],
    });
    this.entries.set(id, entry);
    this.byName.set(key, id);
    if (!entry.rejected) this.invalidate();
    return id;
  }

  private bucketsFor(fullName: string): readonly number[] {
    for (const setting of this.bucketSettings) if (fullName.startsWith(setting.prefix)) return setting.buckets;
    return this.defaultBuckets;
  }

  private invalidate(): void {
    this.prometheusModel = undefined;
    this.textModel = undefined;
  }

  // --- proxy-wasm metric calls -------------------------------------------------------------------------------

  private entry(id: number, operation: string): StatEntry {
    const entry = this.entries.get(id);
    if (entry === undefined) {
      throw new HfiError('HFI_ERR_METRIC_NOT_FOUND', `No metric with id ${id}`, {
        field: 'metric_id',
        details: { id, operation },
      });
    }
    return entry;
  }

  private badArgument(entry: StatEntry, operation: string, reason: string): HfiError {
    return new HfiError('HFI_ERR_METRIC_BAD_ARGUMENT', `${operation} on ${entry.type} ${entry.name}: ${reason}`, {
      field: 'metric_id',
      details: { id: entry.id, type: entry.type, name: entry.name, operation },
    });
  }

  incrementMetric(id: number, delta: bigint): void {
    const entry = this.entry(id, 'increment');
    if (entry.type === 'histogram') throw this.badArgument(entry, 'increment', 'histograms take recordMetric');
    if (entry.type === 'counter' && delta <= 0n)
      throw this.badArgument(entry, 'increment', 'counter delta must be > 0');
    if (entry.rejected) return;
    entry.value = BigInt.asUintN(UINT64, entry.value + delta);
    entry.used = true;
  }

  recordMetric(id: number, value: bigint): void {
    const entry = this.entry(id, 'record');
    if (entry.type === 'counter') throw this.badArgument(entry, 'record', 'counters take incrementMetric');
    if (entry.rejected) return;
    if (entry.type !== 'histogram') {
      entry.value = BigInt.asUintN(UINT64, value);
      entry.used = true;
      return;
    }
    entry.pending.insert(value < 0n ? 0n : value);
  }

  getMetric(id: number): bigint {
    const entry = this.entry(id, 'get');
    if (entry.type === 'histogram') throw this.badArgument(entry, 'get', 'histograms have no single value');
    return entry.rejected ? 0n : entry.value;
  }

  // --- flushing ----------------------------------------------------------------------------------------------

  flush(): void {
    for (const entry of this.entries.values()) {
      if (entry.type === 'histogram' && !entry.rejected) mergeHistogram(entry, this.circllhist);
    }
    if (!this.hostOwnedServerGauges.has('server.uptime')) {
      const id = this.byName.get('gauge\u0000server.uptime');
      if (id !== undefined) this.setValue(id, BigInt(this.uptimeSeconds()));
    }
  }

  startFlushing(intervalMs: number = DEFAULT_FLUSH_INTERVAL_MS): void {
    if (!(intervalMs > 0)) {
      throw new HfiError('HFI_ERR_CONFIG', 'The stats flush interval must be a positive number of milliseconds', {
        field: 'intervalMs',
        details: { intervalMs },
      });
    }
    this.stopFlushing();
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
    this.interval = intervalMs;
  }

  stopFlushing(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.interval = undefined;
  }

  get flushIntervalMs(): number | undefined {
    return this.interval;
  }

  uptimeSeconds(): number {
    return Math.max(0, Math.floor((this.clock() - this.startedAt) / 1000));
  }

  // --- server gauges -----------------------------------------------------------------------------------------

  setServerGauge(name: string, value: number): void {
    const fullName = serverGaugeName(name);
    this.hostOwnedServerGauges.add(fullName);
    this.setGauge(fullName, BigInt(Math.max(0, Math.trunc(value))));
  }

  private setGauge(fullName: string, value: bigint): void {
    this.setValue(this.define('gauge', fullName, undefined, this.nextBuiltinId), value);
  }

  private setValue(id: number, value: bigint): void {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.type === 'histogram' || entry.rejected) return;
    entry.value = BigInt.asUintN(UINT64, value);
    entry.used = true;
  }

  // --- rendering ---------------------------------------------------------------------------------------------

  private visible(): StatEntry[] {
    return [...this.entries.values()].filter((e) => !e.rejected);
  }

  private families<E extends StatEntry>(entries: E[], type: MetricType): Family<E>[] {
    const groups = new Map<string, { segments: string[]; members: E[] }>();
    for (const entry of entries) {
      let group = groups.get(entry.tagExtractedName);
      if (group === undefined) {
        group = { segments: entry.tagExtractedName.split('.'), members: [] };
        groups.set(entry.tagExtractedName, group);
      }
      group.members.push(entry);
    }
    return [...groups.entries()]
      .sort((a, b) => compareSegments(a[1].segments, b[1].segments))
      .map(([tagExtractedName, group]) => {
        const prometheusName = prometheusMetricName(tagExtractedName);
        return {
          prometheusName,
          typeLine: `# TYPE ${prometheusName} ${type}\n`,
          members: group.members.sort((a, b) => compareSegments(a.segments, b.segments)),
        };
      });
  }

  private prometheus(): PrometheusModel {
    if (this.prometheusModel === undefined) {
      const visible = this.visible();
      this.prometheusModel = {
        counters: this.families(
          visible.filter((e): e is NumericEntry => e.type === 'counter'),
          'counter',
        ),
        gauges: this.families(
          visible.filter((e): e is NumericEntry => e.type === 'gauge'),
          'gauge',
        ),
        histograms: this.families(
          visible.filter((e): e is HistogramEntry => e.type === 'histogram'),
          'histogram',
        ),
      };
    }
    return this.prometheusModel;
  }

  private text(): TextModel {
    if (this.textModel === undefined) {
      const byName = (a: StatEntry, b: StatEntry) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      const visible = this.visible();
      this.textModel = {
        numeric: visible.filter((e): e is NumericEntry => e.type !== 'histogram').sort(byName),
        histograms: visible.filter((e): e is HistogramEntry => e.type === 'histogram').sort(byName),
      };
    }
    return this.textModel;
  }

  renderPrometheus(options?: RenderOptions): string {
    return renderPrometheusBody(this.prometheus(), options);
  }

  renderText(options?: RenderOptions): string {
    return renderTextBody(this.text(), options);
  }

  renderJson(options?: RenderOptions): string {
    return renderJsonBody(this.text(), options);
  }

  // --- introspection -----------------------------------------------------------------------------------------

  inclusionPatterns(): { prefix?: string; suffix?: string; safe_regex?: { regex: string } }[] {
    return this.matcher.patterns.map((p: InclusionPattern) =>
      p.safe_regex !== undefined ? { safe_regex: { regex: p.safe_regex.regex } } : { ...p },
    );
  }

  statsConfig(): Record<string, unknown> {
    const patterns = this.inclusionPatterns();
    return {
      stats_tags: this.statsTags.map((t) => ({ tag_name: t.tag_name, regex: t.regex })),
      use_all_default_tags: false,
      // proto3 JSON leaves an empty repeated field out, so an empty inclusion list prints as `{}`.
      stats_matcher: { inclusion_list: patterns.length > 0 ? { patterns } : {} },
      ...(this.bucketSettings.length > 0
        ? {
            histogram_bucket_settings: this.bucketSettings.map((s) => ({
              match: { prefix: s.prefix },
              buckets: s.buckets,
            })),
          }
        : {}),
    };
  }

  describeMetric(id: number): MetricInfo | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    return {
      id: entry.id,
      type: entry.type,
      name: entry.name,
      tagExtractedName: entry.tagExtractedName,
      tags: entry.tags,
      prometheusName: prometheusMetricName(entry.tagExtractedName),
      rejected: entry.rejected,
    };
  }

  metrics(): MetricInfo[] {
    return [...this.entries.keys()].map((id) => this.describeMetric(id) as MetricInfo);
  }
}

/** A stats store that names, filters, keeps and renders stats the way Envoy (as Istio configures it) does. */
export function createStatsStore(options: StatsStoreOptions = {}): EnvoyStatsStore {
  return new EnvoyStatsStoreImpl(options);
}
