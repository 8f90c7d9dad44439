import { faultCountMatcher } from './fault-count-matcher';

/** Δwasmcustom_hfi_faults_delays_total over every pod equals `expected`. */
export const toHaveInjectedDelays = faultCountMatcher('toHaveInjectedDelays', 'delays');
