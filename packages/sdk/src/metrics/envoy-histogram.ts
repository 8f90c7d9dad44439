// What Envoy's Prometheus output shows for recorded values. Envoy keeps histograms in libcircllhist: a value is
// stored in a bin of two significant digits (lower edge val/10·10^exp, width 10^exp/10, val in 10..99), `_bucket`
// lines come from hist_approx_count_below(le), `_sum` from hist_approx_sum (bin midpoint × count), `_count` is exact.
//
// Two libcircllhist generations differ exactly where tests look:
// - '63a16dd': the libcircllhist commit Envoy pinned from 2019 until envoy PR #43041 (merged 2026-01-16). A bin is
//   counted below `le` only when its UPPER edge is ≤ le, so a value equal to a bound lands in the next bucket
//   (100 → le="250", 25 → le="50"); the midpoint is the linear one (120 → 125).
// - '0.3.2': the py-0.3.2 tag Envoy uses since that PR. A bin is counted when the bin holding `le` is not below it, i.e.
//   when its LOWER edge is ≤ le (100 → le="100", but also 104 → le="100"); the midpoint minimises relative error
//   (bottom + width·bottom/(bottom+top): 120 → 124.8).
// The bin arithmetic lives in @hfi/filter's libcircllhist model, which the local sidecar's stats store also uses;
// this module shapes its answers the way tests ask them (first bucket of a value, the rendered histogram).
import {
  binLowerEdge,
  binOfNumber,
  binWidth,
  type CircllhistRevision,
  DEFAULT_BUCKETS,
  LogLinearHistogram,
} from '@hfi/filter';
import type { HistogramValue } from './types';

export type { CircllhistRevision } from '@hfi/filter';

/** Envoy's default bounds (HistogramSettingsImpl::defaultBuckets); with `+Inf` that is 20 `_bucket` lines. */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = DEFAULT_BUCKETS;

function histogramOf(valuesMs: readonly number[]): LogLinearHistogram {
  const histogram = new LogLinearHistogram();
  for (const v of valuesMs) {
    const bin = binOfNumber(v);
    if (bin !== undefined) histogram.insertBin(bin);
  }
  return histogram;
}

/** hist_approx_count_below(le), as the stats store computes it (lower edges compared as doubles, as the C code does). */
function countBelow(histogram: LogLinearHistogram, le: number, version: CircllhistRevision): number {
  if (le === Number.POSITIVE_INFINITY) return histogram.sampleCount();
  return histogram.countBelow(le, version);
}

/** The bin `[lower, upper)` libcircllhist stores a value in. */
export function envoyBinEdges(valueMs: number): { lower: number; upper: number } {
  const bin = binOfNumber(valueMs);
  if (bin === undefined) return { lower: Number.NaN, upper: Number.NaN };
  const lower = binLowerEdge(bin);
  return { lower, upper: lower + binWidth(bin) };
}

/**
 * The smallest `le` whose bucket counts this value in Envoy's Prometheus output (Infinity: only `+Inf`; NaN for a
 * negative or NaN value, which Envoy cannot record). Envoy records integers (the plugin records whole ms); a
 * fraction is binned as libcircllhist bins a double.
 */
export function envoyBucketFor(
  valueMs: number,
  bounds: readonly number[] = ENVOY_DEFAULT_BUCKETS,
  version: CircllhistRevision = '63a16dd',
): number {
  if (valueMs === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (binOfNumber(valueMs) === undefined) return Number.NaN;
  const histogram = histogramOf([valueMs]);
  for (const le of [...bounds].sort((a, b) => a - b)) if (countBelow(histogram, le, version) > 0) return le;
  return Number.POSITIVE_INFINITY;
}

/** What Envoy's `_sum` shows for these values: Σ bin midpoint × count (ten 120 ms delays → 1250, not 1200). */
export function envoyHistogramSum(valuesMs: readonly number[], version: CircllhistRevision = '63a16dd'): number {
  return histogramOf(valuesMs).approxSum(version);
}

/** The whole histogram Envoy renders for these values once flushed: cumulative buckets, `_sum`, `_count`. */
export function envoyHistogramFor(
  valuesMs: readonly number[],
  bounds: readonly number[] = ENVOY_DEFAULT_BUCKETS,
  version: CircllhistRevision = '63a16dd',
): HistogramValue {
  const histogram = histogramOf(valuesMs);
  const count = histogram.sampleCount();
  const buckets = [...bounds].sort((a, b) => a - b).map((le) => ({ le, count: countBelow(histogram, le, version) }));
  buckets.push({ le: Number.POSITIVE_INFINITY, count });
  return { buckets, sum: histogram.approxSum(version), count };
}
