// The SDK's expectation of Envoy's histogram figures (envoy-histogram.ts) against the local sidecar's stats store and
// libcircllhist model (@hfi/filter), which render the page the SDK later reads. Both compute with the same bin
// arithmetic; this compares their public surfaces on many values so neither can drift from the other.
import {
  type BinKey,
  binLowerEdge,
  binOfNumber,
  type CircllhistRevision,
  computeStatistics,
  createStatsStore,
  LogLinearHistogram,
} from '@hfi/filter';
import { ENVOY_DEFAULT_BUCKETS, envoyBucketFor, envoyHistogramFor } from './envoy-histogram';
import { parsePodMetrics } from './pod-metrics';
import type { HistogramValue } from './types';

const REVISIONS: CircllhistRevision[] = ['63a16dd', '0.3.2'];

/** The golden-ratio sequence: evenly spread over [0, 1) and the same on every run, so a failure names one value. */
const spread = (i: number): number => (i * 0.6180339887498949) % 1;

const INTEGER_BOUNDS = [1, 2, 3, 7, 15, 99, 100, 101, 110, 220, 440, 490, 1000, 1100, 5000, 123456];
const FRACTIONAL_BOUNDS = [0.1, 0.25, 0.3, 0.75, 1.1, 2.5, 3.3, 12.5, 99.5];
const BOUND_SETS: [string, readonly number[]][] = [
  ['default bounds', ENVOY_DEFAULT_BUCKETS],
  ['custom integer bounds', INTEGER_BOUNDS],
  ['custom fractional bounds', FRACTIONAL_BOUNDS],
];

const allBounds = [...ENVOY_DEFAULT_BUCKETS, ...INTEGER_BOUNDS, ...FRACTIONAL_BOUNDS];
const INTEGERS = [
  ...Array.from({ length: 1201 }, (_, i) => i),
  ...allBounds.filter(Number.isInteger).flatMap((b) => [b - 1, b, b + 1]),
  ...Array.from({ length: 1500 }, (_, i) => Math.floor(10 ** (spread(i) * 7.5))),
];
const FRACTIONS = [
  ...allBounds.flatMap((b) => [b, b * 0.999, b * 1.001]).filter((v) => !Number.isInteger(v)),
  ...Array.from({ length: 1000 }, (_, i) => Math.round(spread(i + 1) * 100_000) / 100),
  ...Array.from({ length: 1000 }, (_, i) => Math.round(spread(i + 2000) * 10_000) / 1000),
  ...Array.from({ length: 1000 }, (_, i) => 10 ** (spread(i + 4000) * 11 - 4)),
].filter((v) => !Number.isInteger(v));

/** The values here are all recordable. */
function binOf(value: number): BinKey {
  const bin = binOfNumber(value);
  if (bin === undefined) throw new Error(`${value} has no bin`);
  return bin;
}

function filterHistogram(values: readonly number[]): LogLinearHistogram {
  const h = new LogLinearHistogram();
  for (const v of values) h.insertBin(binOf(v));
  return h;
}

/** What the sidecar's /stats/prometheus shows for these (whole-number) samples, read back as the SDK reads it. */
function renderedByStore(values: readonly number[], bounds: readonly number[], revision: CircllhistRevision) {
  const store = createStatsStore({ circllhist: revision, buckets: bounds });
  const id = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
  for (const v of values) store.recordMetric(id, BigInt(v));
  store.flush();
  const histogram = parsePodMetrics(store.renderPrometheus()).delayHistogram;
  if (histogram === undefined) throw new Error('the store rendered no delay histogram');
  return histogram;
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The values in a mixed order, so every batch holds small and large ones. */
function shuffled(values: readonly number[], offset: number): number[] {
  return values
    .map((v, i) => [spread(i + offset), v] as const)
    .sort((x, y) => x[0] - y[0])
    .map(([, v]) => v);
}

function expectSameHistogram(actual: HistogramValue, sdk: HistogramValue) {
  expect(actual.count).toBe(sdk.count);
  expect(actual.sum).toBe(sdk.sum);
  expect(actual.buckets.map((b) => b.le)).toEqual(sdk.buckets.map((b) => b.le));
  expect(actual.buckets.map((b) => b.count)).toEqual(sdk.buckets.map((b) => b.count));
}

describe.each(REVISIONS)('libcircllhist %s: the SDK and @hfi/filter agree', (revision) => {
  test.each(BOUND_SETS)(
    'whole numbers, %s: envoyHistogramFor equals the page the stats store renders',
    (_name, bounds) => {
      for (const batch of batches(shuffled(INTEGERS, 1), 97)) {
        const sdk = envoyHistogramFor(batch, bounds, revision);
        expectSameHistogram(renderedByStore(batch, bounds, revision), sdk);
      }
    },
  );

  test.each(BOUND_SETS)('fractions, %s: envoyHistogramFor equals the filter model fed doubles', (_name, bounds) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    for (const batch of batches(shuffled(FRACTIONS, 2), 89)) {
      const h = filterHistogram(batch);
      const stats = computeStatistics(h, sorted, revision);
      const model: HistogramValue = {
        buckets: [
          ...sorted.map((le, i) => ({ le, count: stats.computedBuckets[i] })),
          { le: Number.POSITIVE_INFINITY, count: stats.sampleCount },
        ],
        sum: stats.sampleSum,
        count: stats.sampleCount,
      };
      expectSameHistogram(model, envoyHistogramFor(batch, bounds, revision));
    }
  });

  test.each(BOUND_SETS)(
    'every value, %s: envoyBucketFor is the first bound the model counts it in',
    (_name, bounds) => {
      const sorted = [...bounds].sort((a, b) => a - b);
      for (const v of [...INTEGERS, ...FRACTIONS]) {
        const h = filterHistogram([v]);
        const first = sorted.find((le) => h.countBelow(le, revision) > 0);
        expect({ v, le: envoyBucketFor(v, bounds, revision) }).toEqual({ v, le: first ?? Number.POSITIVE_INFINITY });
      }
    },
  );
});

describe('a bound whose bin edge rounds above it (1.1·100 = 110.00000000000001)', () => {
  test('default bounds hold no such bound', () => {
    expect(ENVOY_DEFAULT_BUCKETS.filter((le) => binLowerEdge(binOf(le)) > le)).toEqual([]);
  });

  test('le="110": the SDK and the store both leave a 110 ms sample out, as the C comparison of doubles does', () => {
    for (const revision of REVISIONS) {
      expect(renderedByStore([110], [110, 250], revision).buckets[0]).toEqual({ le: 110, count: 0 });
      expect(envoyHistogramFor([110], [110, 250], revision).buckets[0]).toEqual({ le: 110, count: 0 });
      expect(envoyBucketFor(110, [110, 250], revision)).toBe(250);
    }
  });
});
