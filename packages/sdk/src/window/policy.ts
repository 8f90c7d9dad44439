// A fault window as a BOIFI policy: one rule, `duration_seconds` always set (the dead-man's switch).
import { type FaultSpec, type Policy, type RuleMatch, validatePolicy } from '@hfi/core';
import { type OptionIssue, type WindowSpec, windowOptionsError } from './options';

/** The match a window without conditions uses: every request (paths always start with `/`). */
const MATCH_EVERYTHING: RuleMatch = { path: { prefix: '/' } };

function hasCondition(match: RuleMatch): boolean {
  const set = (m: { exact?: string; prefix?: string; regex?: string } | undefined) =>
    m !== undefined && [m.exact, m.prefix, m.regex].some((v) => v !== undefined && v !== '');
  return set(match.method) || set(match.path) || (match.headers?.length ?? 0) > 0;
}

export function buildWindowPolicy(spec: WindowSpec, durationSeconds: number): Policy {
  const match: RuleMatch = {
    ...(spec.match.method ? { method: spec.match.method } : {}),
    ...(spec.match.path ? { path: spec.match.path } : {}),
    ...(spec.match.headers?.length ? { headers: spec.match.headers } : {}),
  };
  const fault: FaultSpec = {
    percentage: spec.percentage,
    ...(spec.startDelayMs ? { start_delay_ms: spec.startDelayMs } : {}),
    duration_seconds: durationSeconds,
    ...(spec.delay ? { delay: { fixed_delay_ms: spec.delay.fixedDelayMs } } : {}),
    ...(spec.abort ? { abort: { ...spec.abort } } : {}),
  };
  return {
    metadata: { name: spec.name },
    spec: {
      selector: { ...spec.selector },
      rules: [{ match: hasCondition(match) ? match : MATCH_EVERYTHING, fault }],
    },
  };
}

// Policy paths back to the option paths the caller wrote.
const FIELD_MAP: [RegExp, string][] = [
  [/^metadata\.name/, 'name'],
  [/^spec\.selector/, 'selector'],
  [/^spec\.rules\[0\]\.match/, 'match'],
  [/^spec\.rules\[0\]\.fault\.delay\.fixed_delay_ms/, 'delay.fixedDelayMs'],
  [/^spec\.rules\[0\]\.fault\.delay/, 'delay'],
  [/^spec\.rules\[0\]\.fault\.abort/, 'abort'],
  [/^spec\.rules\[0\]\.fault\.start_delay_ms/, 'startDelayMs'],
  [/^spec\.rules\[0\]\.fault\.duration_seconds/, 'duration'],
  [/^spec\.rules\[0\]\.fault\.percentage/, 'percentage'],
];

export function optionPath(policyField: string): string {
  for (const [pattern, option] of FIELD_MAP) {
    if (pattern.test(policyField)) return policyField.replace(pattern, option);
  }
  return policyField;
}

/**
 * Runs the policy model's own validation (header names, the regex dialect, limits) so a bad window fails before
 * any write, with option paths. Delay limits are left to the control plane, whose maximum is configurable.
 */
export function checkWindowPolicy(policy: Policy): void {
  const result = validatePolicy(policy, { maxDelayMs: Number.MAX_SAFE_INTEGER });
  if (result.ok) return;
  const issues: OptionIssue[] = result.issues.map((i) => ({ field: optionPath(i.field), message: i.message }));
  throw windowOptionsError(issues);
}
