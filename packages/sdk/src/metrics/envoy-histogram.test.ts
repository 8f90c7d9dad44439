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
