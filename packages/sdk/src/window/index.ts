export {
  ACK_POLL_MS,
  type AckState,
  ackState,
  type NodesReader,
  SUPERSEDE_GRACE_MS,
  waitForAcks,
  waitForTargets,
} from './acks';
export { FaultWindow, type WindowControlPlane } from './fault-window';
export { DEFAULT_LEASE_MS, leaseStep, renewalIntervalMs } from './lease';
export { type FaultWindowMatch, type FaultWindowOptions, parseWindowOptions } from './options';
export { buildWindowPolicy } from './policy';
export { describeNode, formatSelector, matchingTargets, mismatchReasons } from './targets';
