// The admin bodies, laid out as Envoy lays them out.
//
// /stats/prometheus (PrometheusStatsFormatter::statsAsPrometheus):
//   all counter families, then all gauge families, then all histogram families; within a type, families sorted by
//   tag-extracted name (segment-wise, as StatNameLessThan compares) and series within a family by full name;
//   one `# TYPE <name> <type>` line per family, no HELP; `name{labels} value` with `{}` kept when there are no
//   labels; histograms as one `_bucket` line per bound (`le` last, bound printed `{:.32g}`), `le="+Inf"` = count,
//   `_sum` printed `{:.32g}`, `_count`. `?usedonly` keeps written stats; `?filter=` is a regex SEARCH on the full
//   stat name (dots, not underscores). Families with no series shown get no TYPE line. Histogram figures are the
//   cumulative statistics of the last flush.
// /stats (StatsRequest + StatsTextRender): counters and gauges together sorted by full name, `name: value`; then
//   histograms sorted by name, `name: P0(interval,cumulative) P25(..) ... P100(..)` with quantile labels `{:g}` and
//   values fmt `{}` (`nan` for an empty interval), or `name: No recorded values` before the first merge.
// /stats?format=json: `{"stats":[{"name":..,"value":..},..,{"histograms":{"supported_quantiles":[..],
//   "computed_quantiles":[{"name":..,"values":[{"interval":..,"cumulative":..},..]}]}}]}` (NaN as null).

import { SUPPORTED_QUANTILES } from './circllhist';
import { formatG, formatShortest } from './format-number';
import type { HistogramEntry, NumericEntry, StatEntry } from './stat-entry';
import type { RenderOptions } from './types';

export interface Family<E extends StatEntry = StatEntry> {
  readonly prometheusName: string | null;
  readonly typeLine: string;
  readonly members: readonly E[];
}

export interface PrometheusModel {
  counters: readonly Family<NumericEntry>[];
  gauges: readonly Family<NumericEntry>[];
  histograms: readonly Family<HistogramEntry>[];
}

function shows(entry: StatEntry, options: RenderOptions): boolean {
  if (options.usedOnly === true && !entry.used) return false;
  if (options.filter !== undefined && entry.name.search(options.filter) === -1) return false;
  return true;
}

function numericLines(prom: string, entry: NumericEntry, out: string[]): void {
  entry.seriesPrefix ??= `${prom}{${entry.labelText}} `;
  out.push(entry.seriesPrefix, String(entry.value), '\n');
}

function histogramLines(prom: string, entry: HistogramEntry, out: string[]): void {
  const stats = entry.cumulativeStatistics;
  if (entry.prometheusCache?.statistics !== stats) {
    const bucketLabels = entry.labelText === '' ? '' : `${entry.labelText},`;
    const lines: string[] = [];
    for (let i = 0; i < entry.bounds.length; i++) {
      lines.push(`${prom}_bucket{${bucketLabels}le="${entry.boundText[i]}"} ${stats.computedBuckets[i]}\n`);
    }
    lines.push(`${prom}_bucket{${bucketLabels}le="+Inf"} ${stats.sampleCount}\n`);
    lines.push(`${prom}_sum{${entry.labelText}} ${formatG(stats.sampleSum, 32)}\n`);
    lines.push(`${prom}_count{${entry.labelText}} ${stats.sampleCount}\n`);
    // join() yields a flat string; a `+=` rope would be re-walked by every later join.
    entry.prometheusCache = { statistics: stats, text: lines.join('') };
  }
  out.push(entry.prometheusCache.text);
}

function renderFamilies<E extends StatEntry>(
  families: readonly Family<E>[],
  options: RenderOptions,
  lines: (prom: string, entry: E, out: string[]) => void,
  out: string[],
): void {
  for (const family of families) {
    const prom = family.prometheusName;
    if (prom === null) continue;
    let typed = false;
    for (const entry of family.members) {
      if (!shows(entry, options)) continue;
      if (!typed) {
        out.push(family.typeLine);
        typed = true;
      }
      lines(prom, entry, out);
    }
  }
}

export function renderPrometheusBody(model: PrometheusModel, options: RenderOptions = {}): string {
  const out: string[] = [];
  renderFamilies(model.counters, options, numericLines, out);
  renderFamilies(model.gauges, options, numericLines, out);
  renderFamilies(model.histograms, options, histogramLines, out);
  return out.join('');
}

export interface TextModel {
  /** Counters and gauges sorted by full name. */
  numeric: readonly NumericEntry[];
  /** Histograms sorted by full name. */
  histograms: readonly HistogramEntry[];
}

const QUANTILE_LABELS = SUPPORTED_QUANTILES.map((q) => `P${formatG(100 * q)}`);

function quantileSummary(entry: HistogramEntry): string {
  if (!entry.used) return 'No recorded values';
  const { intervalStatistics: interval, cumulativeStatistics: cumulative } = entry;
  const cached = entry.summaryCache;
  if (cached?.interval === interval && cached.cumulative === cumulative) return cached.text;
  const text = QUANTILE_LABELS.map(
    (label, i) =>
      `${label}(${formatShortest(interval.computedQuantiles[i])},${formatShortest(cumulative.computedQuantiles[i])})`,
  ).join(' ');
  entry.summaryCache = { interval, cumulative, text };
  return text;
}

export function renderTextBody(model: TextModel, options: RenderOptions = {}): string {
  const out: string[] = [];
  for (const entry of model.numeric) if (shows(entry, options)) out.push(entry.name, ': ', String(entry.value), '\n');
  for (const entry of model.histograms) {
    if (shows(entry, options)) out.push(entry.name, ': ', quantileSummary(entry), '\n');
  }
  return out.join('');
}

function jsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function renderJsonBody(model: TextModel, options: RenderOptions = {}): string {
  const stats: unknown[] = [];
  for (const entry of model.numeric) {
    if (shows(entry, options)) stats.push({ name: entry.name, value: Number(entry.value) });
  }
  const histograms = model.histograms.filter((entry) => shows(entry, options));
  if (histograms.length > 0) {
    stats.push({
      histograms: {
        supported_quantiles: SUPPORTED_QUANTILES.map((q) => Number(formatG(100 * q))),
        computed_quantiles: histograms.map((entry) => ({
          name: entry.name,
          values: SUPPORTED_QUANTILES.map((_, i) => ({
            interval: jsonNumber(entry.intervalStatistics.computedQuantiles[i]),
            cumulative: jsonNumber(entry.cumulativeStatistics.computedQuantiles[i]),
          })),
        })),
      },
    });
  }
  return JSON.stringify({ stats });
}
