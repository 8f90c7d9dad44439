import { expectedRange, type FaultDelta, proportionInterval } from '@hfi/sdk';
import { fail, objectArg } from './arguments';
import type { MatcherContextLike, MatcherResult } from './context';
import { untrusted } from './likely-cause';
import { processMatch } from './process-match';

const matcher = 'toHaveAbortRatio';
const expectedHint = 'p, options';
const DEFAULT_CONFIDENCE = 0.99;

export interface AbortRatioOptions {
  /** How sure the range is (0..1, exclusive). Default 0.99: a correct filter fails this 1 run in 100 at most. */
  confidence?: number;
  /** How many requests matched the window (the binomial n); the aborts are the k. */
  requests?: number;
}

interface RatioArgs {
  p: number;
  confidence: number;
  requests: number;
}

const fixed = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(4)).toString() : String(x));
const percent = (c: number) => `${Number((c * 100).toFixed(2))}%`;

/**
 * The aborts are what a filter aborting with probability `p` (0..1) gives for `requests` matching requests, at the
 * given confidence: the count lies in the exact binomial test's acceptance range.
 */
export function toHaveAbortRatio(
  this: MatcherContextLike,
  received: unknown,
  ...args: unknown[]
): MatcherResult | Promise<MatcherResult> {
  const a = { ctx: this, matcher, expectedHint };
  return processMatch<RatioArgs>({
    ctx: this,
    matcher,
    received,
    args,
    arity: 2,
    expectedHint,
    accepts: 'faults',
    focus: ['aborts'],
    parse: (list) => {
      const p = list[0];
      if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
        const asPercent = typeof p === 'number' && p > 1 && p <= 100 ? ` (for ${p}% write ${p / 100})` : '';
        fail(a, `p must be a probability between 0 and 1${asPercent}, got ${this.utils.printExpected(p)}`);
      }
      const options = list[1] === undefined ? {} : objectArg(a, list[1], 'options', ['confidence', 'requests']);
      const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
      if (typeof confidence !== 'number' || !(confidence > 0 && confidence < 1)) {
        fail(
          a,
          `options.confidence must be between 0 and 1 (exclusive), e.g. 0.99, got ${this.utils.printExpected(confidence)}`,
        );
      }
      const requests = options.requests;
      if (requests === undefined) {
        fail(
          a,
          'options.requests is required: the number of requests the window matched (the metrics count aborts, not requests), e.g. toHaveAbortRatio(0.3, { requests: 200 })',
        );
      }
      if (typeof requests !== 'number' || !Number.isSafeInteger(requests) || requests <= 0) {
        fail(a, `options.requests must be a positive integer, got ${this.utils.printExpected(requests)}`);
      }
      return { p, confidence, requests };
    },
    expectsFaults: ({ p }) => p > 0,
    check: ({ p, confidence, requests: n }, delta: FaultDelta) => {
      const k = delta.aborts;
      const range = expectedRange(n, p, confidence);
      const doubt = untrusted(delta);
      const inRange = k >= range.low && k <= range.high;
      return {
        pass: doubt === undefined && k <= n && inRange,
        lines: () => {
          const observed =
            k <= n
              ? (() => {
                  const ci = proportionInterval(k, n, confidence);
                  return `p̂ = ${fixed(ci.estimate)}, ${percent(confidence)} interval for p: [${fixed(ci.low)}, ${fixed(ci.high)}]`;
                })()
              : 'more aborts than requests';
          return [
            `Expected abort ratio: ${this.isNot ? 'not ' : ''}${this.utils.printExpected(p)} (${percent(confidence)} confidence)`,
            `Received: ${this.utils.printReceived(k)} aborts of n = ${n} requests, ${observed}${doubt ? ` (not trusted: ${doubt})` : ''}`,
            `Accepted for p = ${p} and n = ${n}: ${range.low}..${range.high} aborts (mean ${fixed(range.mean)}, sd ${fixed(range.sd)})`,
          ];
        },
        causes: () =>
          k > n
            ? [
                `${k} aborts for ${n} requests: other traffic went through the sidecars during the window, or options.requests is not the number of matching requests`,
              ]
            : [],
      };
    },
  });
}
