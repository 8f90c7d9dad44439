import { envoyBucketFor, envoyHistogramSum, type FaultDelta } from '@hfi/sdk';
import {
  acceptsZero,
  amountArg,
  countArg,
  expectedLine,
  fail,
  type NumberExpectation,
  objectArg,
  receivedLine,
} from './arguments';
import type { MatcherContextLike, MatcherResult } from './context';
import { untrusted } from './likely-cause';
import { processMatch } from './process-match';
import { type WindowLike, windowFault } from './subject';

const matcher = 'toHaveDelayHistogram';
const expectedHint = 'expected';

export interface DelayHistogramExpectation {
  /** Δ_count: delays recorded in the histogram. */
  count?: NumberExpectation;
  /** Δ_sum in milliseconds (Envoy sums bin midpoints: ten 120 ms delays show as 1250). */
  sumMs?: NumberExpectation;
  /** Cumulative Δ_bucket{le} counts by bound, as the stats page shows them: `{ '250': 10, '+Inf': 10 }`. */
  buckets?: Record<string, NumberExpectation>;
}

function parseBound(key: string): number | undefined {
  const text = key.trim();
  if (text === '+Inf' || text === 'Inf' || text === 'Infinity' || text === '+Infinity') return Number.POSITIVE_INFINITY;
  if (!/^\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function bucketAt(delta: FaultDelta, le: number): number | undefined {
  return delta.delayHistogram.buckets.find((b) => b.le === le)?.count;
}

function formatBound(le: number): string {
  return le === Number.POSITIVE_INFINITY ? '+Inf' : String(le);
}

/** The delay histogram summed over pods has this count, sum and/or cumulative bucket counts. */
export function toHaveDelayHistogram(
  this: MatcherContextLike,
  received: unknown,
  ...args: unknown[]
): MatcherResult | Promise<MatcherResult> {
  const a = { ctx: this, matcher, expectedHint };
  return processMatch<DelayHistogramExpectation>({
    ctx: this,
    matcher,
    received,
    args,
    arity: 1,
    expectedHint,
    accepts: 'faults',
    focus: ['histogram'],
    parse: (list) => {
      const raw = objectArg(a, list[0], 'the expected histogram', ['count', 'sumMs', 'buckets']);
      const out: DelayHistogramExpectation = {};
      if (raw.count !== undefined) out.count = countArg(a, raw.count, 'count');
      if (raw.sumMs !== undefined) out.sumMs = amountArg(a, raw.sumMs, 'sumMs');
      if (raw.buckets !== undefined) {
        const buckets = objectArg(a, raw.buckets, 'buckets', Object.keys(raw.buckets as object));
        out.buckets = {};
        for (const [key, value] of Object.entries(buckets)) {
          if (parseBound(key) === undefined) {
            fail(
              a,
              `buckets key ${JSON.stringify(key)} is not a bucket bound (use the le value: '250', '0.5', '+Inf')`,
            );
          }
          out.buckets[key] = countArg(a, value, `buckets['${key}']`);
        }
        if (Object.keys(out.buckets).length === 0)
          fail(a, "buckets is empty: give at least one bound, e.g. { '250': 10 }");
      }
      if (Object.keys(out).length === 0) {
        fail(a, "the expected histogram needs count, sumMs or buckets, e.g. { count: 10, buckets: { '250': 10 } }");
      }
      return out;
    },
    expectsFaults: (e) =>
      (e.count !== undefined && !acceptsZero(this, e.count)) ||
      Object.values(e.buckets ?? {}).some((v) => !acceptsZero(this, v)),
    check: (expected, delta: FaultDelta, window: WindowLike | undefined) => {
      const got: Record<string, unknown> = {};
      if (expected.count !== undefined) got.count = delta.delayHistogram.count;
      if (expected.sumMs !== undefined) got.sumMs = delta.delayHistogram.sum;
      if (expected.buckets !== undefined) {
        got.buckets = Object.fromEntries(
          Object.keys(expected.buckets).map((k) => [k, bucketAt(delta, parseBound(k) as number)]),
        );
      }
      const doubt = untrusted(delta);
      return {
        pass: doubt === undefined && this.equals(got, expected),
        lines: () => [
          expectedLine(this, 'histogram', expected),
          receivedLine(this, 'histogram', got, doubt ? ` (not trusted: ${doubt})` : ''),
        ],
        causes: () => {
          const causes: string[] = [];
          const bounds = delta.delayHistogram.buckets.map((b) => formatBound(b.le));
          const unknown = Object.keys(expected.buckets ?? {}).filter(
            (k) => bucketAt(delta, parseBound(k) as number) === undefined,
          );
          if (unknown.length > 0) {
            causes.push(
              bounds.length === 0
                ? 'the delta has no histogram buckets at all (no pod exports the delay histogram)'
                : `no bucket with le = ${unknown.join(', ')}; the bounds are ${bounds.join(', ')}`,
            );
          }
          const delayMs = window ? windowFault(window).delayMs : undefined;
          if (delayMs !== undefined && expected.buckets !== undefined) {
            causes.push(
              `a ${delayMs} ms delay is counted from Envoy's le="${formatBound(envoyBucketFor(delayMs))}" bucket up ` +
                '(the buckets are cumulative, and a value equal to a bound lands in the next bucket)',
            );
          }
          if (delayMs !== undefined && expected.sumMs !== undefined && delta.delayHistogram.count > 0) {
            const n = delta.delayHistogram.count;
            causes.push(
              `Envoy's _sum adds bin midpoints, not the values: ${n} delays of ${delayMs} ms show as ${envoyHistogramSum(Array(n).fill(delayMs))}`,
            );
          }
          return causes;
        },
      };
    },
  });
}
