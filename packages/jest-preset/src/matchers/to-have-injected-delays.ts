import type { FaultDelta } from '@hfi/sdk';
import { acceptsZero, countArg, expectedLine, type NumberExpectation, receivedLine } from './arguments';
import type { MatcherContextLike, MatcherResult } from './context';
import { untrusted } from './likely-cause';
import { processMatch } from './process-match';

const matcher = 'toHaveInjectedDelays';
const expectedHint = 'expected';

/** Δwasmcustom_hfi_faults_delays_total over every pod equals `expected`. */
export function toHaveInjectedDelays(
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
    focus: ['delays'],
    parse: (a) => countArg({ ctx: this, matcher, expectedHint }, a[0], 'the expected number of delays'),
    expectsFaults: (expected) => !acceptsZero(this, expected),
    check: (expected, delta: FaultDelta) => {
      const doubt = untrusted(delta);
      return {
        pass: doubt === undefined && this.equals(delta.delays, expected),
        lines: () => [
          expectedLine(this, 'delays', expected),
          receivedLine(this, 'delays', delta.delays, doubt ? ` (not trusted: ${doubt})` : ''),
        ],
      };
    },
  });
}
