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
import type { HistogramValue } from './types';

/** Envoy's default bounds (HistogramSettingsImpl::defaultBuckets); with `+Inf` that is 20 `_bucket` lines. */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

export type CircllhistRevision = '63a16dd' | '0.3.2';

/** A libcircllhist bin. `val` 0 is the zero bin; otherwise 10 ≤ val ≤ 99. */
interface Bin {
  val: number;
  exp: number;
}

/** power_of_ten[exp] of the C library: the correctly rounded double of 10^exp. */
function pow10(exp: number): number {
  return Number(`1e${exp}`);
}

/** int_scale_to_hist_bucket(value, 0) for integers, double_to_hist_bucket otherwise. NaN/negative → undefined. */
function binOf(value: number): Bin | undefined {
  if (Number.isNaN(value) || value < 0 || !Number.isFinite(value)) return undefined;
  if (value === 0) return { val: 0, exp: 0 };
  if (Number.isSafeInteger(value)) {
    let v = value;
    let scale = 1;
    if (v < 10) {
      v *= 10;
      scale -= 1;
    }
    while (v >= 100) {
      v = Math.floor(v / 10);
      scale++;
    }
    return { val: v, exp: scale };
  }
  let exp = Math.floor(Math.log10(value));
  let val = Math.floor((value / pow10(exp)) * 10 + 1e-13);
  if (val === 100) {
    val = 10;
    exp++;
  }
  return val === 0 ? { val: 0, exp: 0 } : { val, exp };
}

function binLower(bin: Bin): number {
  return bin.val === 0 ? 0 : (bin.val / 10) * pow10(bin.exp);
}

function binWidth(bin: Bin): number {
  return bin.val === 0 ? 0 : pow10(bin.exp) / 10;
}

function binMidpoint(bin: Bin, version: CircllhistRevision): number {
  if (bin.val === 0) return 0;
  const bottom = binLower(bin);
  const width = binWidth(bin);
  if (version === '63a16dd') return bottom + width / 2;
  const top = bottom + width;
  return bottom + width * (bottom / (bottom + top));
}

/** Bin order on the real axis (both non-negative here). */
function binLessOrEqual(a: Bin, b: Bin): boolean {
  if (a.val === 0) return true;
  if (b.val === 0) return false;
  return a.exp < b.exp || (a.exp === b.exp && a.val <= b.val);
}

/** Whether hist_approx_count_below(le) counts a sample stored in `bin`. */
function countedBelow(bin: Bin, le: number, version: CircllhistRevision): boolean {
  if (le === Number.POSITIVE_INFINITY) return true;
  if (version === '63a16dd') return binLower(bin) + binWidth(bin) <= le;
  const target = binOf(le);
  return target !== undefined && binLessOrEqual(bin, target);
}

/** The bin `[lower, upper)` libcircllhist stores a value in. */
export function envoyBinEdges(valueMs: number): { lower: number; upper: number } {
  const bin = binOf(valueMs);
  if (bin === undefined) return { lower: Number.NaN, upper: Number.NaN };
  const lower = binLower(bin);
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
  const bin = binOf(valueMs);
  if (bin === undefined) return Number.NaN;
  for (const le of [...bounds].sort((a, b) => a - b)) if (countedBelow(bin, le, version)) return le;
  return Number.POSITIVE_INFINITY;
}

function binsOf(valuesMs: readonly number[]): { bin: Bin; count: number }[] {
  const byKey = new Map<string, { bin: Bin; count: number }>();
  for (const v of valuesMs) {
    const bin = binOf(v);
    if (bin === undefined) continue;
    const key = `${bin.exp}:${bin.val}`;
    const entry = byKey.get(key);
    if (entry) entry.count++;
    else byKey.set(key, { bin, count: 1 });
  }
  // The library keeps bins sorted and sums in that order; float addition order matters for the last digits.
  return [...byKey.values()].sort((a, b) => binLower(a.bin) - binLower(b.bin));
}

/** What Envoy's `_sum` shows for these values: Σ bin midpoint × count (ten 120 ms delays → 1250, not 1200). */
export function envoyHistogramSum(valuesMs: readonly number[], version: CircllhistRevision = '63a16dd'): number {
  let sum = 0;
  for (const { bin, count } of binsOf(valuesMs)) sum += binMidpoint(bin, version) * count;
  return sum;
}

/** The whole histogram Envoy renders for these values once flushed: cumulative buckets, `_sum`, `_count`. */
export function envoyHistogramFor(
  valuesMs: readonly number[],
  bounds: readonly number[] = ENVOY_DEFAULT_BUCKETS,
  version: CircllhistRevision = '63a16dd',
): HistogramValue {
  const bins = binsOf(valuesMs);
  const count = bins.reduce((n, b) => n + b.count, 0);
  const buckets = [...bounds]
    .sort((a, b) => a - b)
    .map((le) => ({ le, count: bins.reduce((n, b) => n + (countedBelow(b.bin, le, version) ? b.count : 0), 0) }));
  buckets.push({ le: Number.POSITIVE_INFINITY, count });
  return { buckets, sum: envoyHistogramSum(valuesMs, version), count };
}
