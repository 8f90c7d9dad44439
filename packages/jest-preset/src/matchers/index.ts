// The hfi matchers, for expect.extend in Jest (the preset registers them) and Vitest.
import { toBeAppliedOnAllTargets } from './to-be-applied-on-all-targets';
import { toHaveAbortRatio } from './to-have-abort-ratio';
import { toHaveDelayHistogram } from './to-have-delay-histogram';
import { toHaveInjectedAborts } from './to-have-injected-aborts';
import { toHaveInjectedDelays } from './to-have-injected-delays';
import { toHaveInjectedFaults } from './to-have-injected-faults';
import { toHaveNoInjectedFaults } from './to-have-no-injected-faults';

export const hfiMatchers = {
  toHaveInjectedAborts,
  toHaveInjectedDelays,
  toHaveInjectedFaults,
  toHaveDelayHistogram,
  toHaveAbortRatio,
  toHaveNoInjectedFaults,
  toBeAppliedOnAllTargets,
};

export type { NumberExpectation } from './arguments';
export type { AsymmetricMatcherLike, MatcherContextLike, MatcherResult } from './context';
export type { AppliedOnAllTargetsOptions, NodesReaderLike } from './to-be-applied-on-all-targets';
export type { AbortRatioOptions } from './to-have-abort-ratio';
export type { DelayHistogramExpectation } from './to-have-delay-histogram';
export type { InjectedFaultsExpectation } from './to-have-injected-faults';
export {
  toBeAppliedOnAllTargets,
  toHaveAbortRatio,
  toHaveDelayHistogram,
  toHaveInjectedAborts,
  toHaveInjectedDelays,
  toHaveInjectedFaults,
  toHaveNoInjectedFaults,
};
