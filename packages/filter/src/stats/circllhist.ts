// A model of the libcircllhist log-linear histogram that Envoy keeps behind every histogram stat, reduced to what
// Envoy uses: integer inserts (`hist_insert_intscale(h, value, 0, 1)`), merging, sample count, approximate sum,
// `count_below` for each Prometheus bucket bound, and the quantiles of the `/stats` summary line. It is the one home
// of the bin arithmetic: the SDK's envoy-histogram (what a test should expect Envoy to print, fractional values
// included, binned as the library bins a double) is computed here too.
//
// Storage: a value lands in a bin of two significant digits — mantissa `val` in 10..99 and exponent `exp`; the bin
// is [val/10 · 10^exp, val/10 · 10^exp + 10^exp/10). 0 has its own bin of width 0. So 5 → [5, 5.1), 40 → [40, 41),
// 100 → [100, 110), 120 → [120, 130), 1234 → [1200, 1300).
//
// Two revisions of the library differ in exactly the arithmetic that tests observe:
//   '63a16dd' (2019-02-11) — pinned by Envoy until PR #43041 (merged 2026-01-16, after 1.37.0 of 2026-01-13), so
//       Envoy ≤ 1.37 and the Istio releases built on it. `count_below(t)` counts the bins whose UPPER edge is <= t, so a value equal to a bound is
//       reported in the next bucket (envoy#36549: 25 → le="50"; envoy#20087); the sum uses the bin's linear
//       midpoint (ten samples of 120 → 1250, of 100 → 1050, of 40 → 405); quantiles interpolate linearly inside a bin.
//   '0.3.2' (py-0.3.2 tag) — pinned by Envoy since PR #43041, so (derived from the dates) Envoy ≥ 1.38.0. `count_below(t)` counts the bins whose LOWER edge
//       is <= t (100 is in le="100", and so is 105), the sum uses the error-minimising midpoint
//       lower + width·lower/(lower+upper), quantiles are Hyndman–Fan type 1 inside a bin.
// The arithmetic below performs the same IEEE double operations in the same order as the C code, so sums print
// with the same 32 significant digits Envoy prints.

export type CircllhistRevision = '63a16dd' | '0.3.2';

// Exact powers of ten as literals (what the C table holds), never computed with Math.pow; other exponents (only
// fractional input reaches them) parse the decimal literal, which is the same correctly rounded double.
const POW10 = [
  1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
];

function powerOfTen(exp: number): number {
  return exp >= 0 && exp < POW10.length ? POW10[exp] : Number(`1e${exp}`);
}

/**
 * A bin: ZERO_BIN, or exp·100 + val (val the two-digit mantissa, exp the decimal exponent, possibly negative for
 * fractional input). Increasing keys are increasing bins, so a key is all the ordering and arithmetic needs.
 */
export type BinKey = number;

/** The bin of 0 (width 0), below every other bin. */
export const ZERO_BIN: BinKey = Number.NEGATIVE_INFINITY;

const INT64_MAX = (1n << 63n) - 1n;

/** int_scale_to_hist_bucket(value, 0): the bin hist_insert_intscale(h, value, 0, n) fills — Envoy's recording path. */
export function binOfInteger(value: bigint): BinKey {
  if (value <= 0n) return ZERO_BIN;
  // Envoy hands the uint64 to an int64 parameter; values past INT64_MAX are clamped here rather than wrapped.
  let v = value > INT64_MAX ? INT64_MAX : value;
  let scale = 1;
  if (v < 10n) {
    v *= 10n;
    scale = 0;
  }
  while (v >= 100n) {
    v /= 10n;
    scale++;
  }
  return scale * 100 + Number(v);
}

/**
 * double_to_hist_bucket for a finite value >= 0 (hist_insert of a double): the exponent from log10, the mantissa
 * floored with the library's 1e-13 allowance for rounding at a bin edge. Right below a power of ten, where log10
 * rounds up, the mantissa can come out below 10; it is kept as computed.
 */
export function binOfDouble(value: number): BinKey {
  if (value === 0) return ZERO_BIN;
  let exp = Math.floor(Math.log10(value));
  let val = Math.floor((value / powerOfTen(exp)) * 10 + 1e-13);
  if (val === 100) {
    val = 10;
    exp++;
  }
  return val === 0 ? ZERO_BIN : exp * 100 + val;
}

/**
 * The bin of a JS number: whole numbers by Envoy's integer path (what the plugin records), fractions as the library
 * bins a double. undefined for what Envoy cannot record: NaN, negative or infinite values.
 */
export function binOfNumber(value: number): BinKey | undefined {
  if (Number.isNaN(value) || value < 0 || !Number.isFinite(value)) return undefined;
  return Number.isSafeInteger(value) ? binOfInteger(BigInt(value)) : binOfDouble(value);
}

function exponentOf(key: BinKey): number {
  return Math.floor(key / 100);
}

/** hist_bucket_to_double: the lower edge, val/10 · 10^exp, in the C code's order of operations. */
export function binLowerEdge(key: BinKey): number {
  if (key === ZERO_BIN) return 0;
  const exp = exponentOf(key);
  return ((key - exp * 100) / 10) * powerOfTen(exp);
}

/** hist_bucket_to_double_bin_width: 10^exp / 10. */
export function binWidth(key: BinKey): number {
  if (key === ZERO_BIN) return 0;
  return powerOfTen(exponentOf(key)) / 10;
}

/** hist_bucket_midpoint: what hist_approx_sum multiplies a bin's count by. */
export function binMidpoint(key: BinKey, revision: CircllhistRevision): number {
  if (key === ZERO_BIN) return 0;
  const bottom = binLowerEdge(key);
  const interval = binWidth(key);
  if (revision === '63a16dd') return bottom + interval / 2;
  const top = bottom + interval;
  const ratio = bottom / (bottom + top);
  return bottom + interval * ratio;
}

/** The edge hist_approx_count_below compares with its threshold: the upper one in 63a16dd, the lower in 0.3.2. */
export function countBelowEdge(key: BinKey, revision: CircllhistRevision): number {
  return revision === '63a16dd' ? binLowerEdge(key) + binWidth(key) : binLowerEdge(key);
}

export interface Bin {
  /** Lower edge of the bin. */
  readonly lower: number;
  readonly width: number;
  readonly count: number;
}

export class LogLinearHistogram {
  private readonly counts = new Map<BinKey, number>();
  private sortedKeys: BinKey[] | undefined;

  /** hist_insert_intscale(h, value, 0, count). */
  insert(value: bigint, count = 1): void {
    this.insertBin(binOfInteger(value), count);
  }

  /** Adds `count` samples to one bin (from binOfInteger or binOfDouble). */
  insertBin(key: BinKey, count = 1): void {
    const prev = this.counts.get(key);
    if (prev === undefined) this.sortedKeys = undefined;
    this.counts.set(key, (prev ?? 0) + count);
  }

  /** hist_accumulate(this, [other]). */
  accumulate(other: LogLinearHistogram): void {
    for (const [key, count] of other.counts) {
      const prev = this.counts.get(key);
      if (prev === undefined) this.sortedKeys = undefined;
      this.counts.set(key, (prev ?? 0) + count);
    }
  }

  get isEmpty(): boolean {
    return this.counts.size === 0;
  }

  private keys(): BinKey[] {
    if (this.sortedKeys === undefined) this.sortedKeys = [...this.counts.keys()].sort((a, b) => a - b);
    return this.sortedKeys;
  }

  /** Bins in increasing order (what `/stats?histogram_buckets=detailed` would show). */
  bins(): Bin[] {
    return this.keys().map((key) => ({
      lower: binLowerEdge(key),
      width: binWidth(key),
      count: this.counts.get(key) ?? 0,
    }));
  }

  /** hist_sample_count: exact. */
  sampleCount(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }

  /** hist_approx_sum: Σ midpoint × count, bins in increasing order. */
  approxSum(revision: CircllhistRevision): number {
    let sum = 0;
    for (const key of this.keys()) sum += binMidpoint(key, revision) * (this.counts.get(key) ?? 0);
    return sum;
  }

  /** hist_approx_count_below(threshold): bins in increasing order while their countBelowEdge is <= threshold. */
  countBelow(threshold: number, revision: CircllhistRevision): number {
    let running = 0;
    for (const key of this.keys()) {
      if (!(countBelowEdge(key, revision) <= threshold)) break;
      running += this.counts.get(key) ?? 0;
    }
    return running;
  }

  /**
   * The samples in bins up to and including `key`: count_below asked bin against bin, as libcircllhist does since
   * its commit 9d44436 (after py-0.3.2), instead of comparing the lower edge, a double, with the threshold.
   */
  countThroughBin(key: BinKey): number {
    let running = 0;
    for (const bin of this.keys()) {
      if (bin > key) break;
      running += this.counts.get(bin) ?? 0;
    }
    return running;
  }

  /** hist_approx_quantile for quantiles in increasing order; NaN for every quantile of an empty histogram. */
  quantiles(qs: readonly number[], revision: CircllhistRevision): number[] {
    const keys = this.keys().filter((key) => (this.counts.get(key) ?? 0) > 0);
    const total = keys.reduce((acc, key) => acc + (this.counts.get(key) ?? 0), 0);
    if (total === 0) return qs.map(() => Number.NaN);
    const out: number[] = [];
    let index = 0;
    let lowerCnt = 0;
    let upperCnt = this.counts.get(keys[0]) ?? 0;
    for (const q of qs) {
      const qn = total * q;
      while (index < keys.length - 1 && upperCnt < qn) {
        index++;
        lowerCnt = upperCnt;
        upperCnt = lowerCnt + (this.counts.get(keys[index]) ?? 0);
      }
      const left = binLowerEdge(keys[index]);
      const width = binWidth(keys[index]);
      if (revision === '63a16dd') {
        if (lowerCnt === qn) out.push(left);
        else if (upperCnt === qn) out.push(left + width);
        else if (width === 0) out.push(left);
        else out.push(left + ((qn - lowerCnt) / (upperCnt - lowerCnt)) * width);
      } else if (width === 0) {
        out.push(left);
      } else {
        const n = this.counts.get(keys[index]) ?? 0;
        const k = qn === lowerCnt ? 1 : Math.ceil(qn - lowerCnt);
        out.push(left + (k / (n + 1)) * width);
      }
    }
    return out;
  }
}

/** Envoy's default bounds (HistogramSettingsImpl::defaultBuckets), in milliseconds by convention. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

/** The quantiles of Envoy's `/stats` summary line (HistogramStatisticsImpl::supportedQuantiles). */
export const SUPPORTED_QUANTILES: readonly number[] = Object.freeze([
  0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1,
]);

/** What HistogramStatisticsImpl::refresh computes from one histogram. */
export interface HistogramStatistics {
  readonly sampleCount: number;
  readonly sampleSum: number;
  /** Cumulative count per bound (same order as the bounds). */
  readonly computedBuckets: readonly number[];
  readonly computedQuantiles: readonly number[];
}

export function computeStatistics(
  histogram: LogLinearHistogram,
  bounds: readonly number[],
  revision: CircllhistRevision,
): HistogramStatistics {
  return {
    sampleCount: histogram.sampleCount(),
    sampleSum: histogram.approxSum(revision),
    computedBuckets: bounds.map((bound) => histogram.countBelow(bound, revision)),
    computedQuantiles: histogram.quantiles(SUPPORTED_QUANTILES, revision),
  };
}

export function emptyStatistics(bounds: readonly number[]): HistogramStatistics {
  return {
    sampleCount: 0,
    sampleSum: 0,
    computedBuckets: bounds.map(() => 0),
    computedQuantiles: SUPPORTED_QUANTILES.map(() => Number.NaN),
  };
}
