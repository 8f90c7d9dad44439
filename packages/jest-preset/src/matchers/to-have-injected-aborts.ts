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
  const ctx = this;
  return processMatch<NumberExpectation>({
    ctx,
    matcher,
    received,
    args,
    arity: 1,
    expectedHint,
    accepts: 'faults',
    focus: ['aborts'],
    parse: (a) => countArg({ ctx, matcher, expectedHint }, a[0], 'the expected number of aborts'),
    expectsFaults: (expected) => !acceptsZero(ctx, expected),
    check: (expected, delta: FaultDelta) => {
      const doubt = untrusted(delta);
      return {
        pass: doubt === undefined && ctx.equals(delta.aborts, expected),
        lines: () => [
          expectedLine(ctx, 'aborts', expected),
          receivedLine(ctx, 'aborts', delta.aborts, doubt ? ` (not trusted: ${doubt})` : ''),
        ],
      };
    },
  });
}
