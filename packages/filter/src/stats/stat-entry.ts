// One stat as the store keeps it, with the strings the renderers need computed once at definition time.

import {
  type CircllhistRevision,
  computeStatistics,
  emptyStatistics,
  type HistogramStatistics,
  LogLinearHistogram,
} from './circllhist';
import { formatG } from './format-number';
import type { Tag } from './tag-extractor';
import type { MetricType } from './types';

/** Envoy registers `wasmcustom` as a custom stat namespace (source/extensions/common/wasm/stats_handler.h). */
export const WASM_CUSTOM_NAMESPACE = 'wasmcustom';
/** Istio's stats filter registers `istiocustom` the same way (istio_requests_total and friends). */
const CUSTOM_NAMESPACES = new Set([WASM_CUSTOM_NAMESPACE, 'istiocustom']);

/** PrometheusStatsFormatter's sanitiser: every code point outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, '_');
}

/**
 * PrometheusStatsFormatter::metricName: a name whose first segment is a registered custom namespace loses that
 * segment and gets no `envoy_` prefix (and is dropped — null — if what remains is empty or starts with a digit);
 * every other name becomes `envoy_<sanitised>`.
 */
export function prometheusMetricName(tagExtractedName: string): string | null {
  const dot = tagExtractedName.indexOf('.');
  if (dot !== -1 && CUSTOM_NAMESPACES.has(tagExtractedName.slice(0, dot))) {
    const stripped = sanitizeName(tagExtractedName.slice(dot + 1));
    if (stripped === '' || (stripped[0] >= '0' && stripped[0] <= '9')) return null;
    return stripped;
  }
  return `envoy_${sanitizeName(tagExtractedName)}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function formatTags(tags: readonly Tag[]): string {
  return tags.map((t) => `${sanitizeName(t.name)}="${escapeLabelValue(t.value)}"`).join(',');
}

/** StatName ordering: segment by segment (split at '.'), a shorter prefix first. */
export function compareSegments(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

interface EntryBase {
  readonly id: number;
  readonly name: string;
  readonly segments: readonly string[];
  readonly tagExtractedName: string;
  readonly tags: readonly Tag[];
  /** `name{tags}` label block contents. */
  readonly labelText: string;
  /** Stats the matcher rejected: Envoy's null stats. They take writes and render nowhere. */
  readonly rejected: boolean;
  used: boolean;
}

export interface NumericEntry extends EntryBase {
  readonly type: 'counter' | 'gauge';
  value: bigint;
  /** `name{labels} ` once the family name is known (render cache). */
  seriesPrefix?: string;
}

export interface HistogramEntry extends EntryBase {
  readonly type: 'histogram';
  readonly bounds: readonly number[];
  /** Bound spelled as Envoy prints it (`{:.32g}`). */
  readonly boundText: readonly string[];
  /** Samples recorded since the last flush (Envoy's thread-local histograms). */
  pending: LogLinearHistogram;
  readonly cumulative: LogLinearHistogram;
  cumulativeStatistics: HistogramStatistics;
  intervalStatistics: HistogramStatistics;
  /** Rendered Prometheus lines for the statistics they were made from (they change only at a flush). */
  prometheusCache?: { readonly statistics: HistogramStatistics; readonly text: string };
  /** Rendered `/stats` summary for the statistics it was made from. */
  summaryCache?: {
    readonly interval: HistogramStatistics;
    readonly cumulative: HistogramStatistics;
    readonly text: string;
  };
}

export type StatEntry = NumericEntry | HistogramEntry;

export interface EntrySpec {
  id: number;
  type: MetricType;
  name: string;
  tagExtractedName: string;
  tags: readonly Tag[];
  rejected: boolean;
  bounds: readonly number[];
}

export function createEntry(spec: EntrySpec): StatEntry {
  const base = {
    id: spec.id,
    name: spec.name,
    segments: spec.name.split('.'),
    tagExtractedName: spec.tagExtractedName,
    tags: spec.tags,
    labelText: formatTags(spec.tags),
    rejected: spec.rejected,
    used: false,
  };
  if (spec.type === 'histogram') {
    return {
      ...base,
      type: 'histogram',
      bounds: spec.bounds,
      boundText: spec.bounds.map((b) => formatG(b, 32)),
      pending: new LogLinearHistogram(),
      cumulative: new LogLinearHistogram(),
      cumulativeStatistics: emptyStatistics(spec.bounds),
      intervalStatistics: emptyStatistics(spec.bounds),
    };
  }
  return { ...base, type: spec.type, value: 0n };
}

/**
 * ParentHistogramImpl::merge at a stats flush: once anything was ever recorded, every flush moves the pending
 * samples into the interval histogram, adds them to the cumulative one and recomputes both statistics. A histogram
 * counts as used (`?usedonly`, `/stats` "No recorded values") only from its first merge on.
 */
export function mergeHistogram(entry: HistogramEntry, revision: CircllhistRevision): void {
  if (!entry.used && entry.pending.isEmpty) return;
  const interval = entry.pending;
  entry.pending = new LogLinearHistogram();
  entry.cumulative.accumulate(interval);
  entry.cumulativeStatistics = computeStatistics(entry.cumulative, entry.bounds, revision);
  entry.intervalStatistics = computeStatistics(interval, entry.bounds, revision);
  entry.used = true;
}
