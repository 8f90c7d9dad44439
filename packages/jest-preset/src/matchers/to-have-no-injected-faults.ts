import type { FaultDelta } from '@hfi/sdk';
import type { MatcherContextLike, MatcherResult } from './context';
import { untrusted } from './likely-cause';
import { processMatch } from './process-match';

const matcher = 'toHaveNoInjectedFaults';

/** No abort, no delay and nothing in the delay histogram on any pod (and every pod's hfi metrics were read). */
export function toHaveNoInjectedFaults(
  this: MatcherContextLike,
  received: unknown,
  ...args: unknown[]
): MatcherResult | Promise<MatcherResult> {
  return processMatch<null>({
    ctx: this,
    matcher,
    received,
    args,
    arity: 0,
    expectedHint: '',
    accepts: 'faults',
    focus: ['aborts', 'delays', 'histogram'],
    parse: () => null,
    expectsFaults: () => false,
    check: (_none, delta: FaultDelta) => {
      const doubt = untrusted(delta);
      const count = delta.delayHistogram.count;
      return {
        pass: doubt === undefined && delta.aborts === 0 && delta.delays === 0 && count === 0,
        lines: () => [
          `Expected: ${this.isNot ? 'some injected faults' : 'no injected faults'}`,
          `Received: ${this.utils.printReceived(delta.aborts)} aborts, ${this.utils.printReceived(delta.delays)} delays, ${this.utils.printReceived(count)} in the delay histogram${doubt ? ` (not trusted: ${doubt})` : ''}`,
        ],
      };
    },
  });
}
