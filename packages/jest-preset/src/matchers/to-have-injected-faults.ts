import type { FaultDelta } from '@hfi/sdk';
import {
  acceptsZero,
  countArg,
  expectedLine,
  fail,
  type NumberExpectation,
  objectArg,
  receivedLine,
} from './arguments';
import type { MatcherContextLike, MatcherResult } from './context';
import type { Focus } from './likely-cause';
import { untrusted } from './likely-cause';
import { processMatch } from './process-match';

const matcher = 'toHaveInjectedFaults';
const expectedHint = 'expected';

export interface InjectedFaultsExpectation {
  aborts?: NumberExpectation;
  delays?: NumberExpectation;
}

/** The aborts and/or delays over every pod equal the given counts (keys left out are not checked). */
export function toHaveInjectedFaults(
  this: MatcherContextLike,
  received: unknown,
  ...args: unknown[]
): MatcherResult | Promise<MatcherResult> {
  const a = { ctx: this, matcher, expectedHint };
  const keys = (e: InjectedFaultsExpectation) => (['aborts', 'delays'] as const).filter((k) => e[k] !== undefined);
  return processMatch<InjectedFaultsExpectation>({
    ctx: this,
    matcher,
    received,
    args,
    arity: 1,
    expectedHint,
    accepts: 'faults',
    focus: ['aborts', 'delays'] satisfies Focus[],
    parse: (list) => {
      const raw = objectArg(a, list[0], 'the expected faults', ['aborts', 'delays']);
      const out: InjectedFaultsExpectation = {};
      if (raw.aborts !== undefined) out.aborts = countArg(a, raw.aborts, 'aborts');
      if (raw.delays !== undefined) out.delays = countArg(a, raw.delays, 'delays');
      if (keys(out).length === 0)
        fail(a, 'the expected faults need aborts, delays or both, e.g. { aborts: 3, delays: 0 }');
      return out;
    },
    expectsFaults: (expected) => keys(expected).some((k) => !acceptsZero(this, expected[k] as NumberExpectation)),
    check: (expected, delta: FaultDelta) => {
      const got = Object.fromEntries(keys(expected).map((k) => [k, delta[k]]));
      const doubt = untrusted(delta);
      return {
        pass: doubt === undefined && this.equals(got, expected),
        lines: () => [
          expectedLine(this, 'faults', expected),
          receivedLine(this, 'faults', got, doubt ? ` (not trusted: ${doubt})` : ''),
        ],
      };
    },
  });
}
