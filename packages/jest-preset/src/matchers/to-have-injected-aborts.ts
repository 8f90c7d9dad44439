import { faultCountMatcher } from './fault-count-matcher';

/** Δwasmcustom_hfi_faults_aborts_total over every pod equals `expected`. */
export const toHaveInjectedAborts = faultCountMatcher('toHaveInjectedAborts', 'aborts');
