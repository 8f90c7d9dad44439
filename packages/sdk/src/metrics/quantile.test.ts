import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { histogramQuantile } from './quantile';

const INF = Number.POSITIVE_INFINITY;
type B = { le: number; count: number }[];
const b = (...pairs: [number, number][]): B => pairs.map(([le, count]) => ({ le, count }));

// Ten delays counted from le="250" on (what Envoy shows for ten 120 ms delays).
const TEN_AT_250 = b(
  [0.5, 0],
  [1, 0],
  [5, 0],
  [10, 0],
  [25, 0],
  [50, 0],
  [100, 0],
  [250, 10],
  [500, 10],
  [1000, 10],
  [INF, 10],
);

describe('histogramQuantile (expected values worked out by hand from promql/quantile.go)', () => {
  test('interpolates linearly inside the bucket where the rank falls', () => {
    // rank 5 of 10 falls in (100, 250] holding 10: 100 + 150 · 5/10.
    expect(histogramQuantile(0.5, TEN_AT_250)).toBe(175);
    // rank 9: 100 + 150 · 9/10.
    expect(histogramQuantile(0.9, TEN_AT_250)).toBe(235);
    // rank 10 reaches the top of that bucket.
    expect(histogramQuantile(1, TEN_AT_250)).toBe(250);
  });

  test('subtracts the previous bucket from rank and count', () => {
    // counts 2, 6, 10: rank 0.75·10 = 7.5 lands in (2, 4] holding 4 with 1.5 to go: 2 + 2 · 1.5/4.
    expect(histogramQuantile(0.75, b([1, 2], [2, 6], [4, 10], [INF, 10]))).toBe(2.75);
  });

  test('the lowest bucket interpolates from 0 when its bound is positive', () => {
    // rank 2 of 8 in (0, 10] holding 4: 10 · 2/4.
    expect(histogramQuantile(0.25, b([10, 4], [20, 8], [INF, 8]))).toBe(5);
  });

  test('the lowest bucket returns its bound when that bound is ≤ 0', () => {
    expect(histogramQuantile(0.25, b([0, 3], [10, 6], [INF, 6]))).toBe(0);
    expect(histogramQuantile(0.1, b([-5, 3], [10, 6], [INF, 6]))).toBe(-5);
  });

  test('a rank in the +Inf bucket returns the upper bound of the second-highest bucket', () => {
    // rank 5 of 10; only 2 observations are ≤ 2.
    expect(histogramQuantile(0.5, b([1, 1], [2, 2], [INF, 10]))).toBe(2);
  });

  test('q = 0 with an empty first bucket is 0/0 inside that bucket: NaN, as Prometheus returns', () => {
    expect(histogramQuantile(0, TEN_AT_250)).toBeNaN();
    // With observations in the first bucket, rank 0 interpolates to its lower edge 0.
    expect(histogramQuantile(0, b([10, 4], [INF, 4]))).toBe(0);
  });

  test('NaN for fewer than two buckets, no +Inf bucket, zero observations or q = NaN', () => {
    expect(histogramQuantile(0.5, b([INF, 5]))).toBeNaN();
    expect(histogramQuantile(0.5, [])).toBeNaN();
    expect(histogramQuantile(0.5, b([1, 1], [2, 2]))).toBeNaN();
    expect(histogramQuantile(0.5, b([1, 0], [2, 0], [INF, 0]))).toBeNaN();
    expect(histogramQuantile(Number.NaN, TEN_AT_250)).toBeNaN();
  });

  test('-Inf below 0 and +Inf above 1, before any bucket check', () => {
    expect(histogramQuantile(-0.1, TEN_AT_250)).toBe(Number.NEGATIVE_INFINITY);
    expect(histogramQuantile(1.1, TEN_AT_250)).toBe(INF);
    expect(histogramQuantile(-1, [])).toBe(Number.NEGATIVE_INFINITY);
  });

  test('corrects non-monotone buckets to their envelope first', () => {
    // counts 2, 5, 3, 6 → envelope 2, 5, 5, 6. rank 0.9·6 = 5.4 falls in (3, 4] holding 1 with 0.4 to go: 3.4.
    // Without the correction the same search would give 3 + 1 · 2.4/3 = 3.8.
    expect(histogramQuantile(0.9, b([1, 2], [2, 5], [3, 3], [4, 6], [INF, 6]))).toBeCloseTo(3.4, 12);
  });

  test('sorts buckets and merges equal bounds', () => {
    // [1: 2+2, 2: 4, +Inf: 4]: rank 2 of 4 in (0, 1] holding 4: 0.5.
    expect(histogramQuantile(0.5, b([INF, 4], [1, 2], [2, 4], [1, 2]))).toBe(0.5);
  });

  test('absorbs float noise below 1e-12 relative before searching', () => {
    // 10 and 10.0000000000001 count as equal: observations become 10, rank 10 lands in (1, 2]: 1 + 1 · 5/5 = 2.
    // Taken literally, the rank would fall in (2, 3] and give 3.
    expect(histogramQuantile(1, b([1, 5], [2, 10], [3, 10.0000000000001], [INF, 10.0000000000001]))).toBe(2);
  });

  test('does not modify its input', () => {
    const input = b([2, 5], [1, 2], [3, 3], [INF, 6]);
    const copy = structuredClone(input);
    histogramQuantile(0.5, input);
    expect(input).toEqual(copy);
  });
});

// The same function against a real Prometheus: promtool evaluates histogram_quantile over the same buckets and
// checks our values. (promtool 2.42, Debian's, predates the 1e-12 noise correction, so no case depends on it.)
describe('histogramQuantile against promtool', () => {
  const cases: { name: string; buckets: B; qs: number[] }[] = [
    { name: 'ten_at_250', buckets: TEN_AT_250, qs: [0.01, 0.25, 0.5, 0.9, 0.99, 1] },
    {
      name: 'spread',
      buckets: b([0.5, 0], [1, 1], [5, 3], [10, 3], [25, 9], [50, 20], [100, 41], [250, 77], [INF, 80]),
      qs: [0.1, 0.5, 0.95, 0.99],
    },
    { name: 'inf_rank', buckets: b([1, 1], [2, 2], [INF, 10]), qs: [0.3, 0.5, 1] },
    { name: 'non_monotone', buckets: b([1, 2], [2, 5], [3, 3], [4, 6], [INF, 6]), qs: [0.2, 0.6, 0.9] },
    { name: 'non_positive', buckets: b([0, 3], [10, 6], [INF, 6]), qs: [0.25, 0.75] },
  ];

  test('gives the values Prometheus computes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hfi-promtool-'));
    try {
      const series = cases.flatMap((c) =>
        c.buckets.map(
          (x) =>
            `      - series: 'h_bucket{case="${c.name}",le="${x.le === INF ? '+Inf' : x.le}"}'\n        values: '${x.count}'`,
        ),
      );
      const exprs = cases.flatMap((c) =>
        c.qs.map((q) => {
          const v = histogramQuantile(q, c.buckets);
          expect(Number.isFinite(v)).toBe(true);
          return `      - expr: 'histogram_quantile(${q}, h_bucket{case="${c.name}"})'\n        eval_time: 0m\n        exp_samples:\n          - labels: '{case="${c.name}"}'\n            value: ${v}`;
        }),
      );
      const yaml = `rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n${series.join('\n')}\n    promql_expr_test:\n${exprs.join('\n')}\n`;
      const file = join(dir, 'quantile_test.yml');
      await writeFile(file, yaml);
      const run = promisify(execFile);
      const result = await run('promtool', ['test', 'rules', file]).catch(
        (err: { stdout?: string; stderr?: string }) => err,
      );
      expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toMatch(/SUCCESS/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
