import {
  ENVOY_DEFAULT_BUCKETS,
  envoyBinEdges,
  envoyBucketFor,
  envoyHistogramFor,
  envoyHistogramSum,
} from './envoy-histogram';

const tenOf = (v: number): number[] => Array.from({ length: 10 }, () => v);

describe("Envoy's default buckets", () => {
  test('are the 19 bounds of HistogramSettingsImpl::defaultBuckets, frozen', () => {
    expect(ENVOY_DEFAULT_BUCKETS).toEqual([
      0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
    ]);
    expect(Object.isFrozen(ENVOY_DEFAULT_BUCKETS)).toBe(true);
  });
});

describe('envoyBinEdges (libcircllhist bins of two significant digits)', () => {
  test.each([
    [120, 120, 130],
    [100, 100, 110],
    [40, 40, 41],
    [5, 5, 5.1],
    [1234, 1200, 1300],
    [0, 0, 0],
  ])('%d ms is stored in [%d, %d)', (v, lower, upper) => {
    expect(envoyBinEdges(v)).toEqual({ lower, upper });
  });
});

describe("envoyBucketFor, Envoy's libcircllhist until 2026 (63a16dd: a bin counts once its upper edge ≤ le)", () => {
  test.each([
    [100, 250],
    [25, 50],
    [120, 250],
    [40, 50],
    [24, 25],
    [49, 50],
    [99, 100],
    [450, 500],
    [500, 1000],
    [1, 5],
    [0, 0.5],
    [3_599_999, 3_600_000],
    [3_600_000, Number.POSITIVE_INFINITY],
    [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
  ])('%d ms is first counted in le=%d', (value, le) => {
    expect(envoyBucketFor(value)).toBe(le);
  });

  test('a value equal to a bound is never counted in that bound', () => {
    for (const le of ENVOY_DEFAULT_BUCKETS.filter((x) => Number.isInteger(x))) {
      expect(envoyBucketFor(le)).toBeGreaterThan(le);
    }
  });

  test('honours custom bounds, in any order', () => {
    expect(envoyBucketFor(103, [112, 104, 105, 110])).toBe(110);
    expect(envoyBucketFor(103, [100, 200])).toBe(200);
  });

  test('NaN for values Envoy cannot record', () => {
    expect(envoyBucketFor(-1)).toBeNaN();
    expect(envoyBucketFor(Number.NaN)).toBeNaN();
  });
});

describe('envoyBucketFor, libcircllhist 0.3.2 (Envoy since PR #43041: a bin counts once its lower edge ≤ le)', () => {
  test.each([
    [100, 100],
    [104, 100],
    [109, 100],
    [110, 250],
    [25, 25],
    [1, 1],
    [2, 5],
    [251, 250],
    [260, 500],
  ])('%d ms is first counted in le=%d', (value, le) => {
    expect(envoyBucketFor(value, ENVOY_DEFAULT_BUCKETS, '0.3.2')).toBe(le);
  });
});

describe('envoyHistogramSum: bin midpoints times counts', () => {
  test('63a16dd: linear midpoints (ten 120 → 1250, ten 100 → 1050, ten 40 → 405)', () => {
    expect(envoyHistogramSum(tenOf(120))).toBe(1250);
    expect(envoyHistogramSum(tenOf(100))).toBe(1050);
    expect(envoyHistogramSum(tenOf(40))).toBe(405);
    expect(envoyHistogramSum([5, 1234, 0])).toBeCloseTo(5.05 + 1250, 9);
    expect(envoyHistogramSum([])).toBe(0);
  });

  test('0.3.2: error-minimising midpoints (120 → 120 + 10·120/250 = 124.8)', () => {
    expect(envoyHistogramSum(tenOf(120), '0.3.2')).toBeCloseTo(1248, 9);
    expect(envoyHistogramSum([100], '0.3.2')).toBeCloseTo(100 + (10 * 100) / 210, 12);
  });
});

describe('envoyHistogramFor', () => {
  test('ten 120 ms delays: nothing up to le="100", all ten from le="250", 20 buckets', () => {
    const h = envoyHistogramFor(tenOf(120));
    expect(h.buckets).toHaveLength(20);
    expect(h.buckets.filter((b) => b.count === 0).map((b) => b.le)).toEqual([0.5, 1, 5, 10, 25, 50, 100]);
    expect(h.buckets.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, count: 10 });
    expect(h.count).toBe(10);
    expect(h.sum).toBe(1250);
  });

  test('mixed values are cumulative', () => {
    const h = envoyHistogramFor([3, 30, 300, 3000]);
    expect(h.buckets.slice(0, 12).map((b) => b.count)).toEqual([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4]);
  });
});

// Envoy records whole numbers; a fraction (a computed expectation, a sub-millisecond delay) is binned the way
// libcircllhist bins a double: exponent from log10, two-digit mantissa with a 1e-13 allowance at the bin edge.
describe('fractional values', () => {
  test.each([
    [0.5, 0.5, 0.51],
    [0.45, 0.45, 0.46],
    [2.5, 2.5, 2.6],
    [24.5, 24, 25],
    [99.9, 99, 100],
    [100.5, 100, 110],
    [1234.5, 1200, 1300],
    [0.001, 0.001, 0.0011],
  ])('%d ms is stored in [%d, %d)', (v, lower, upper) => {
    const edges = envoyBinEdges(v);
    expect(edges.lower).toBeCloseTo(lower, 12);
    expect(edges.upper).toBeCloseTo(upper, 12);
  });

  test('0.11 lands in [0.11, 0.12), not [0.10, 0.11): 0.11 / 0.1 · 10 is 10.999999999999998 before the allowance', () => {
    const edges = envoyBinEdges(0.11);
    expect(edges.lower).toBeCloseTo(0.11, 15);
    expect(edges.upper).toBeCloseTo(0.12, 15);
  });

  test.each([
    [0.45, 0.5, 0.5],
    [0.5, 1, 0.5],
    [2.5, 5, 5],
    [24.5, 25, 25],
    [25.5, 50, 25],
    [99.9, 100, 100],
    [100.5, 250, 100],
    [0.001, 0.5, 0.5],
  ])('%d ms is first counted in le=%d (63a16dd) and le=%d (0.3.2)', (value, legacy, current) => {
    expect(envoyBucketFor(value)).toBe(legacy);
    expect(envoyBucketFor(value, ENVOY_DEFAULT_BUCKETS, '0.3.2')).toBe(current);
  });

  test('_sum adds the midpoints of the fractions’ bins', () => {
    expect(envoyHistogramSum(tenOf(0.5))).toBeCloseTo(5.05, 12);
    expect(envoyHistogramSum([0.45, 0.5, 24.5, 25.5])).toBeCloseTo(0.455 + 0.505 + 24.5 + 25.5, 12);
    expect(envoyHistogramSum([2.5], '0.3.2')).toBeCloseTo(2.5 + (0.1 * 2.5) / 5.1, 12);
  });

  test('envoyHistogramFor mixes fractions into the cumulative buckets', () => {
    const values = [0.45, 0.5, 24.5, 25.5, 100.5];
    const first8 = (h: ReturnType<typeof envoyHistogramFor>) => h.buckets.slice(0, 8).map((b) => b.count);
    // le: 0.5, 1, 5, 10, 25, 50, 100, 250
    expect(first8(envoyHistogramFor(values))).toEqual([1, 2, 2, 2, 3, 4, 4, 5]);
    expect(first8(envoyHistogramFor(values, ENVOY_DEFAULT_BUCKETS, '0.3.2'))).toEqual([2, 2, 2, 2, 4, 4, 5, 5]);
    expect(envoyHistogramFor(values).count).toBe(5);
  });

  test('values Envoy cannot record are left out of the histogram and have no bin', () => {
    expect(envoyHistogramFor([-1, Number.NaN, 120]).count).toBe(1);
    expect(envoyHistogramSum([-1, Number.NaN, 120])).toBe(125);
    expect(envoyBinEdges(-0.5)).toEqual({ lower: Number.NaN, upper: Number.NaN });
  });
});
