import type { FaultDelta } from '@hfi/sdk';
import { acceptsZero, countArg, expectedLine, type NumberExpectation, receivedLine } from './arguments';
import type { MatcherContextLike, MatcherResult } from './context';
import { untrusted } from './likely-cause';
import { processMatch } from './process-match';

const matcher = 'toHaveInjectedAborts';
const expectedHint = 'expected';

/** Δwasmcustom_hfi_faults_aborts_total over every pod equals `expected`. */
export function toHaveInjectedAborts(
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
    focus: ['aborts'],
    parse: (a) => countArg({ ctx: this, matcher, expectedHint }, a[0], 'the expected number of aborts'),
    expectsFaults: (expected) => !acceptsZero(this, expected),
    check: (expected, delta: FaultDelta) => {
      const doubt = untrusted(delta);
      return {
        pass: doubt === undefined && this.equals(delta.aborts, expected),
        lines: () => [
          expectedLine(this, 'aborts', expected),
          receivedLine(this, 'aborts', delta.aborts, doubt ? ` (not trusted: ${doubt})` : ''),
        ],
      };
    },
  });
}
