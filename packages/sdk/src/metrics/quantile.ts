// Prometheus's histogram_quantile for classic histograms, step for step (promql/quantile.go, bucketQuantile):
// sort by bound, require +Inf, merge equal bounds, absorb float noise (relative 1e-12), force monotonicity,
// then interpolate linearly inside the bucket where the rank falls.

interface Bucket {
  le: number;
  count: number;
}

const PRECISION_TOLERANCE = 1e-12;

function coalesce(buckets: Bucket[]): Bucket[] {
  const out: Bucket[] = [];
  for (const b of buckets) {
    const last = out[out.length - 1];
    if (last !== undefined && last.le === b.le) last.count += b.count;
    else out.push({ le: b.le, count: b.count });
  }
  return out;
}

/** Tiny relative differences between neighbours come from float sums; Prometheus flattens them first. */
function correctPrecisionErrors(buckets: Bucket[]): void {
  let prev = (buckets[0] as Bucket).count;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    const delta = Math.abs(b.count - prev);
    if (delta === 0) continue;
    if (delta / b.count <= PRECISION_TOLERANCE) b.count = prev;
    else prev = b.count;
  }
}

/** The envelope: a bucket lower than one before it is raised to it. */
function ensureMonotonic(buckets: Bucket[]): boolean {
  let forced = false;
  let max = (buckets[0] as Bucket).count;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (b.count > max) max = b.count;
    else if (b.count < max) {
      b.count = max;
      forced = true;
    }
  }
  return forced;
}

/**
 * `histogram_quantile(q, buckets)` exactly as Prometheus computes it for classic buckets (cumulative counts with
 * `le` bounds, `+Inf` included). Returns NaN for q = NaN, fewer than 2 buckets, no `+Inf` bucket or 0 observations;
 * -Inf for q < 0 and +Inf for q > 1. A rank in the `+Inf` bucket yields the second-highest bound; the lowest bucket
 * interpolates from 0 when its bound is positive, and returns its bound when it is ≤ 0.
 */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  if (buckets.length === 0) return Number.NaN;
  const sorted = buckets.map((b) => ({ le: b.le, count: b.count })).sort((a, b) => a.le - b.le);
  if ((sorted[sorted.length - 1] as Bucket).le !== Number.POSITIVE_INFINITY) return Number.NaN;

  const bs = coalesce(sorted);
  correctPrecisionErrors(bs);
  ensureMonotonic(bs);

  if (bs.length < 2) return Number.NaN;
  const observations = (bs[bs.length - 1] as Bucket).count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  // sort.Search over all but the +Inf bucket: the first bucket whose cumulative count reaches the rank.
  let b = 0;
  while (b < bs.length - 1 && (bs[b] as Bucket).count < rank) b++;

  if (b === bs.length - 1) return (bs[bs.length - 2] as Bucket).le;
  if (b === 0 && (bs[0] as Bucket).le <= 0) return (bs[0] as Bucket).le;
  let bucketStart = 0;
  const bucketEnd = (bs[b] as Bucket).le;
  let count = (bs[b] as Bucket).count;
  if (b > 0) {
    const prev = bs[b - 1] as Bucket;
    bucketStart = prev.le;
    count -= prev.count;
    rank -= prev.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}
