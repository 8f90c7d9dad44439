import {
  binLowerEdge,
  binOfDouble,
  binOfInteger,
  binOfNumber,
  binWidth,
  computeStatistics,
  countBelowEdge,
  DEFAULT_BUCKETS,
  LogLinearHistogram,
  SUPPORTED_QUANTILES,
  ZERO_BIN,
} from './circllhist';
import { formatG } from './format-number';

function histogramOf(values: [number, number][]): LogLinearHistogram {
  const h = new LogLinearHistogram();
  for (const [value, count] of values) h.insert(BigInt(value), count);
  return h;
}

function bucketMap(h: LogLinearHistogram, revision: '63a16dd' | '0.3.2'): Record<string, number> {
  const stats = computeStatistics(h, DEFAULT_BUCKETS, revision);
  return Object.fromEntries(DEFAULT_BUCKETS.map((b, i) => [String(b), stats.computedBuckets[i]]));
}

describe('LogLinearHistogram bins', () => {
  it.each([
    [5, 5, 0.1],
    [40, 40, 1],
    [100, 100, 10],
    [120, 120, 10],
    [1234, 1200, 100],
    [0, 0, 0],
  ])('%p is stored in the bin starting at %p with width %p', (value, lower, width) => {
    expect(histogramOf([[value, 1]]).bins()).toEqual([{ lower, width, count: 1 }]);
  });

  it('keeps bins in increasing order and merges equal bins', () => {
    const h = histogramOf([
      [1234, 1],
      [5, 2],
      [1299, 1],
      [0, 1],
    ]);
    expect(h.bins().map((b) => [b.lower, b.count])).toEqual([
      [0, 1],
      [5, 2],
      [1200, 2],
    ]);
    expect(h.sampleCount()).toBe(5);
  });
});

describe('libcircllhist 63a16dd (Envoy ≤ 1.37): upper-edge count_below, linear midpoint', () => {
  it.each([
    [25, '50'],
    [40, '50'],
    [100, '250'],
    [120, '250'],
    [24, '25'],
  ])('a sample of %p is first counted at le=%s', (value, firstBound) => {
    const buckets = bucketMap(histogramOf([[value, 1]]), '63a16dd');
    const first = DEFAULT_BUCKETS.find((b) => buckets[String(b)] === 1);
    expect(String(first)).toBe(firstBound);
  });

  it.each([
    [120, 1250],
    [100, 1050],
    [40, 405],
  ])('ten samples of %p sum to %p', (value, sum) => {
    expect(histogramOf([[value, 10]]).approxSum('63a16dd')).toBe(sum);
  });

  // Envoy's prometheus_stats_test (HistogramWithHighCounts) against this library revision.
  it('reproduces Envoy test HistogramWithHighCounts', () => {
    const h = histogramOf([
      [1, 100000],
      [100, 1000000],
      [1000, 100000000],
    ]);
    const buckets = bucketMap(h, '63a16dd');
    expect(buckets['1']).toBe(0);
    expect(buckets['5']).toBe(100000);
    expect(buckets['100']).toBe(100000);
    expect(buckets['250']).toBe(1100000);
    expect(buckets['1000']).toBe(1100000);
    expect(buckets['2500']).toBe(101100000);
    expect(formatG(h.approxSum('63a16dd'), 32)).toBe('105105105000');
  });

  // Envoy's prometheus_stats_test (OutputWithAllMetricTypes) against this library revision.
  it('reproduces Envoy test OutputWithAllMetricTypes', () => {
    const h = histogramOf([50, 20, 30, 70, 100, 5000, 200].map((v) => [v, 1]));
    const buckets = bucketMap(h, '63a16dd');
    expect([buckets['10'], buckets['25'], buckets['50'], buckets['100'], buckets['250']]).toEqual([0, 1, 2, 4, 6]);
    expect([buckets['5000'], buckets['10000']]).toEqual([6, 7]);
    expect(formatG(h.approxSum('63a16dd'), 32)).toBe('5532');
  });

  it('interpolates quantiles linearly inside a bin', () => {
    const q = histogramOf([[8, 1]]).quantiles(SUPPORTED_QUANTILES, '63a16dd');
    expect(q[0]).toBe(8);
    expect(q[q.length - 1]).toBeCloseTo(8.1, 12);
    expect(q[2]).toBeCloseTo(8.05, 12);
  });
});

describe('libcircllhist 0.3.2 (Envoy after PR #43041): lower-edge count_below, error-minimising midpoint', () => {
  it('reproduces Envoy test HistogramWithHighCounts after the library update', () => {
    const h = histogramOf([
      [1, 100000],
      [100, 1000000],
      [1000, 100000000],
    ]);
    const buckets = bucketMap(h, '0.3.2');
    expect(buckets['0.5']).toBe(0);
    expect(buckets['1']).toBe(100000);
    expect(buckets['100']).toBe(1100000);
    expect(buckets['1000']).toBe(101100000);
    expect(formatG(h.approxSum('0.3.2'), 32)).toBe('104866771428.571441650390625');
  });

  it('reproduces Envoy test OutputWithAllMetricTypes after the library update', () => {
    const h = histogramOf([50, 20, 30, 70, 100, 5000, 200].map((v) => [v, 1]));
    const buckets = bucketMap(h, '0.3.2');
    expect([buckets['25'], buckets['50'], buckets['100'], buckets['250'], buckets['5000']]).toEqual([1, 3, 5, 6, 7]);
    expect(formatG(h.approxSum('0.3.2'), 32)).toBe('5531.1160155998386471765115857124');
  });
});

describe('quantiles', () => {
  it('are NaN for an empty histogram', () => {
    expect(new LogLinearHistogram().quantiles([0, 0.5, 1], '63a16dd').every(Number.isNaN)).toBe(true);
  });

  it('walk bins in order across samples', () => {
    const h = histogramOf([
      [10, 50],
      [100, 50],
    ]);
    const [p0, p50, p100] = h.quantiles([0, 0.5, 1], '63a16dd');
    expect(p0).toBe(10);
    expect(p50).toBe(11); // the upper edge of the first bin: rank 50 of 100
    expect(p100).toBe(110);
  });
});

describe('bins of doubles (double_to_hist_bucket, for fractional input)', () => {
  it.each([
    [0.5, 0.5, 0.01],
    [0.45, 0.45, 0.01],
    [2.5, 2.5, 0.1],
    [24.5, 24, 1],
    [1234.5, 1200, 100],
    [0.001, 0.001, 0.0001],
    [0.099, 0.099, 0.001],
  ])('%p is stored in the bin starting at %p with width %p', (value, lower, width) => {
    const bin = binOfDouble(value);
    expect(binLowerEdge(bin)).toBeCloseTo(lower, 15);
    expect(binWidth(bin)).toBeCloseTo(width, 15);
  });

  it('allows 1e-13 at a bin edge: 0.11 is in [0.11, 0.12)', () => {
    expect(binLowerEdge(binOfDouble(0.11))).toBeCloseTo(0.11, 15);
  });

  it('puts whole numbers in the same bins as the integer path', () => {
    for (const v of [1, 5, 9, 10, 11, 99, 100, 101, 120, 1234, 3_600_000]) {
      expect(binOfDouble(v)).toBe(binOfInteger(BigInt(v)));
    }
    expect(binOfDouble(0)).toBe(ZERO_BIN);
  });

  it('orders the zero bin below the bins of fractions (keys with negative exponents)', () => {
    const h = new LogLinearHistogram();
    for (const v of [0.099, 0, 0.5, 0.0015]) h.insertBin(binOfDouble(v));
    h.insert(7n);
    expect(h.bins().map((b) => b.lower)).toEqual([0, binLowerEdge(binOfDouble(0.0015)), 0.099, 0.5, 7]);
    expect(h.sampleCount()).toBe(5);
  });
});

describe('bins of JS numbers (binOfNumber)', () => {
  it('takes the integer path for whole numbers and the double path for fractions', () => {
    expect(binOfNumber(120)).toBe(binOfInteger(120n));
    expect(binOfNumber(0)).toBe(ZERO_BIN);
    expect(binOfNumber(0.5)).toBe(binOfDouble(0.5));
    expect(binLowerEdge(binOfNumber(120.5) as number)).toBe(120);
  });

  it('has no bin for what Envoy cannot record', () => {
    for (const v of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(binOfNumber(v)).toBeUndefined();
    }
  });
});

describe('count_below', () => {
  it('compares the upper edge (63a16dd) or the lower edge (0.3.2) with the threshold', () => {
    const bin = binOfInteger(120n);
    expect(countBelowEdge(bin, '63a16dd')).toBe(130);
    expect(countBelowEdge(bin, '0.3.2')).toBe(120);
  });

  it('counts nothing for a NaN threshold, as the C loop (`edge <= threshold` or stop) does', () => {
    const h = histogramOf([
      [0, 1],
      [5, 2],
    ]);
    expect(h.countBelow(Number.NaN, '63a16dd')).toBe(0);
    expect(h.countBelow(Number.NaN, '0.3.2')).toBe(0);
    expect(h.countBelow(Number.POSITIVE_INFINITY, '0.3.2')).toBe(3);
  });

  // 1.1 · 100 is 110.00000000000001 in doubles: the lower edge of 110's bin is above 110 itself.
  it('bin against bin (countThroughBin) counts the bin holding the threshold even where its lower edge rounds above it', () => {
    const h = histogramOf([
      [100, 1],
      [110, 2],
      [120, 4],
    ]);
    expect(binLowerEdge(binOfInteger(110n))).toBeGreaterThan(110);
    expect(h.countBelow(110, '0.3.2')).toBe(1);
    expect(h.countThroughBin(binOfInteger(110n))).toBe(3);
    expect(h.countThroughBin(binOfInteger(125n))).toBe(7);
    expect(h.countThroughBin(ZERO_BIN)).toBe(0);
  });
});
