import type { PolicyWithStatus, RuleStatus } from '@hfi/core';
import type { PolicyRecord } from '../store/types';
import { isRuleActive } from './records';

/** The policy as answered on reads: the stored policy plus its server-side status at `nowMs`. */
export function withStatus(record: PolicyRecord, nowMs: number): PolicyWithStatus {
  return {
    ...record.policy,
    status: {
      revision: record.revision,
      updated_at: new Date(record.writtenAtMs).toISOString(),
      rules: record.policy.spec.rules.map((_, i) => ruleStatus(record.ruleDeadlinesMs[i] ?? null, nowMs)),
    },
  };
}

function ruleStatus(deadlineMs: number | null, nowMs: number): RuleStatus {
  if (deadlineMs === null) return { active: true };
  return {
    active: isRuleActive(deadlineMs, nowMs),
    expires_at: new Date(deadlineMs).toISOString(),
    remaining_ms: Math.max(0, deadlineMs - nowMs),
  };
}

export function hasDeadlines(records: readonly PolicyRecord[]): boolean {
  return records.some((r) => r.ruleDeadlinesMs.some((d) => d !== null));
}

export interface PolicyStatusItem {
  name: string;
  namespace: string;
  target_service: string;
  rules_count: number;
  fault_types: ('abort' | 'delay')[];
  active: boolean;
}

export interface PolicyStatusBody {
  summary: { total_policies: number; abort_policies: number; delay_policies: number; active_policies: number };
  policies: PolicyStatusItem[];
}

/** `GET /v1/policies/status`: the reference's shape, with `[]` for no policies and a real `active`. */
export function statusBody(records: readonly PolicyRecord[], nowMs: number): PolicyStatusBody {
  const policies = records.map((record): PolicyStatusItem => {
    const { policy } = record;
    const faultTypes: ('abort' | 'delay')[] = [];
    for (const rule of policy.spec.rules) {
      if (rule.fault.abort && !faultTypes.includes('abort')) faultTypes.push('abort');
      if (rule.fault.delay && !faultTypes.includes('delay')) faultTypes.push('delay');
    }
    return {
      name: policy.metadata.name,
      namespace: orAny(policy.spec.selector?.namespace),
      target_service: orAny(policy.spec.selector?.service),
      rules_count: policy.spec.rules.length,
      fault_types: faultTypes,
      active: record.ruleDeadlinesMs.some((d) => isRuleActive(d, nowMs)),
    };
  });
  return {
    summary: {
      total_policies: policies.length,
      abort_policies: policies.filter((p) => p.fault_types.includes('abort')).length,
      delay_policies: policies.filter((p) => p.fault_types.includes('delay')).length,
      active_policies: policies.filter((p) => p.active).length,
    },
    policies,
  };
}

function orAny(value: string | undefined): string {
  return value ? value : '*';
}
