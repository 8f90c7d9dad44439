import type { FaultDelta } from '@hfi/sdk';
import { acceptsZero, countArg, expectedLine, type NumberExpectation, receivedLine } from './arguments';
import type { MatcherContextLike, MatcherResult } from './context';
import { untrusted } from './likely-cause';
import { processMatch } from './process-match';

const expectedHint = 'expected';

/** A matcher on one fault counter's delta summed over every pod (aborts or delays). */
export function faultCountMatcher(matcher: string, counter: 'aborts' | 'delays') {
  return function (
    this: MatcherContextLike,
    received: unknown,
    ...args: unknown[]
  ): MatcherResult | Promise<MatcherResult> {
    return processMatch<NumberExpectation>({
      ctx: this,
      matcher,
      received,
      args,
      arity: 1,
      expectedHint,
      accepts: 'faults',
      focus: [counter],
      parse: (a) => countArg({ ctx: this, matcher, expectedHint }, a[0], `the expected number of ${counter}`),
      expectsFaults: (expected) => !acceptsZero(this, expected),
      check: (expected, delta: FaultDelta) => {
        const doubt = untrusted(delta);
        return {
          pass: doubt === undefined && this.equals(delta[counter], expected),
          lines: () => [
            expectedLine(this, counter, expected),
            receivedLine(this, counter, delta[counter], doubt ? ` (not trusted: ${doubt})` : ''),
          ],
        };
      },
    });
  };
}
