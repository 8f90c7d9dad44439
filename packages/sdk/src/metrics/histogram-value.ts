// Arithmetic on classic histograms: merging series, subtracting snapshots, attaching quantile().
import { histogramQuantile } from './quantile';
import type { HistogramDelta, HistogramValue } from './types';

export const EMPTY_HISTOGRAM: HistogramValue = Object.freeze({ buckets: [], sum: 0, count: 0 }) as HistogramValue;

export function cloneHistogram(h: HistogramValue): HistogramValue {
  return { buckets: h.buckets.map((b) => ({ le: b.le, count: b.count })), sum: h.sum, count: h.count };
}

/** Bucket-wise sum over the union of bounds, like PromQL's `sum by (le)`; `_sum` and `_count` add up. */
export function sumHistograms(histograms: readonly HistogramValue[]): HistogramValue {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const h of histograms) {
    for (const b of h.buckets) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
    sum += h.sum;
    count += h.count;
  }
  const buckets = [...byLe].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le);
  return { buckets, sum, count };
}

export function sameBounds(a: HistogramValue, b: HistogramValue): boolean {
  return a.buckets.length === b.buckets.length && a.buckets.every((x, i) => x.le === b.buckets[i]?.le);
}

export interface HistogramSubtraction {
  value: HistogramValue;
  /** Some bucket, `_count` or `_sum` went down. */
  decreased: boolean;
  /** The bucket bounds differ between the two (bucket settings changed, i.e. a new bootstrap). */
  boundsChanged: boolean;
}

/** `after − before`, bucket by bucket, `_sum` and `_count` separately. */
export function subtractHistograms(after: HistogramValue, before: HistogramValue): HistogramSubtraction {
  if (!sameBounds(after, before)) return { value: cloneHistogram(after), decreased: false, boundsChanged: true };
  let decreased = after.count < before.count || after.sum < before.sum;
  const buckets = after.buckets.map((b, i) => {
    const d = b.count - (before.buckets[i] as { count: number }).count;
    if (d < 0) decreased = true;
    return { le: b.le, count: d };
  });
  return {
    value: { buckets, sum: after.sum - before.sum, count: after.count - before.count },
    decreased,
    boundsChanged: false,
  };
}

/** Problems a well-formed histogram (or a delta of two) cannot have; empty when consistent. */
export function histogramProblems(h: HistogramValue): string[] {
  const problems: string[] = [];
  if (h.buckets.length === 0) return problems;
  for (let i = 1; i < h.buckets.length; i++) {
    const prev = h.buckets[i - 1] as { le: number; count: number };
    const cur = h.buckets[i] as { le: number; count: number };
    if (cur.count < prev.count) {
      problems.push(
        `buckets not monotone: le="${formatLe(cur.le)}" ${cur.count} < le="${formatLe(prev.le)}" ${prev.count}`,
      );
      break;
    }
  }
  const last = h.buckets[h.buckets.length - 1] as { le: number; count: number };
  if (last.le !== Number.POSITIVE_INFINITY) problems.push('no le="+Inf" bucket');
  else if (last.count !== h.count) problems.push(`le="+Inf" is ${last.count} but _count is ${h.count}`);
  return problems;
}

export function formatLe(le: number): string {
  return le === Number.POSITIVE_INFINITY ? '+Inf' : String(le);
}

export function toHistogramDelta(h: HistogramValue): HistogramDelta {
  const value = cloneHistogram(h);
  return {
    ...value,
    quantile(q: number): number {
      return histogramQuantile(q, value.buckets);
    },
  };
}
