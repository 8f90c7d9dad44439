import type { Policy } from '@hfi/core';
import type { PolicyRecord } from '../store/types';

/** A new record for `policy` written at `writtenAtMs`: every rule's deadline counts from this write. */
export function newRecord(policy: Policy, writtenAtMs: number): Omit<PolicyRecord, 'revision'> {
  return {
    policy,
    writtenAtMs,
    ruleDeadlinesMs: policy.spec.rules.map((rule) => {
      const seconds = rule.fault.duration_seconds ?? 0;
      return seconds > 0 ? writtenAtMs + seconds * 1000 : null;
    }),
  };
}

/**
 * When the whole policy expires: the latest rule deadline, but only if every rule has one. A policy with any
 * open-ended rule never expires as a whole (its timed rules just turn inactive).
 */
export function policyDeadlineMs(record: PolicyRecord): number | null {
  let latest = Number.NEGATIVE_INFINITY;
  for (const deadline of record.ruleDeadlinesMs) {
    if (deadline === null) return null;
    if (deadline > latest) latest = deadline;
  }
  return record.ruleDeadlinesMs.length === 0 ? null : latest;
}

export function isRuleActive(deadlineMs: number | null, nowMs: number): boolean {
  return deadlineMs === null || nowMs < deadlineMs;
}
