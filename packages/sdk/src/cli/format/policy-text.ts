// Human-readable policy views: the reference CLI's table cells and its `describe` text, plus hfi's additions.
import type { Policy, PolicyWithStatus, Rule, Selector, StringMatch } from '@hfi/core';
import { renderTable } from './table';

export const NO_POLICIES = 'No fault injection policies found.';

function stringMatchSummary(label: string, match: StringMatch | undefined): string | undefined {
  if (match === undefined) return undefined;
  if (match.exact) return `${label}=${match.exact}`;
  if (match.prefix) return `${label}=${match.prefix}*`;
  if (match.regex) return `${label}~${match.regex}`;
  return undefined;
}

function ruleMatchSummary(rule: Rule): string {
  const parts: string[] = [];
  // The reference showed only an exact method; prefix and regex methods are shown the way paths are.
  const method = stringMatchSummary('method', rule.match?.method);
  if (method !== undefined) parts.push(method);
  const path = stringMatchSummary('path', rule.match?.path);
  if (path !== undefined) parts.push(path);
  const headers = rule.match?.headers ?? [];
  if (headers.length > 0) parts.push(`headers(${headers.length})`);
  return parts.join(',');
}

function firstAndCount(items: string[], none: string): string {
  if (items.length === 0) return none;
  if (items.length === 1) return items[0] as string;
  return `${items[0]} (+${items.length - 1} more)`;
}

/** MATCHES cell: `method=GET,path=/`, `path=/api/*`, `path~<re>`, `headers(N)`; `<first> (+N more)`; `any`. */
export function summarizeMatches(rules: readonly Rule[]): string {
  return firstAndCount(
    rules.map(ruleMatchSummary).filter((summary) => summary !== ''),
    'any',
  );
}

/** FAULTS cell: `delay(1000ms)@100%`, `abort(503)@50%` (`@N%` only when N > 0); `<first> (+N more)`; `none`. */
export function summarizeFaults(rules: readonly Rule[]): string {
  const faults: string[] = [];
  for (const rule of rules) {
    const fault = rule.fault;
    if (fault === undefined) continue;
    const percentage = fault.percentage > 0 ? `@${fault.percentage}%` : '';
    if (fault.delay !== undefined) faults.push(`delay(${fault.delay.fixed_delay_ms}ms)${percentage}`);
    if (fault.abort !== undefined) faults.push(`abort(${fault.abort.httpStatus})${percentage}`);
  }
  return firstAndCount(faults, 'none');
}

/** The reference's four-column table, or its empty-list sentence. */
export function policyTable(policies: readonly Policy[]): string {
  if (policies.length === 0) return `${NO_POLICIES}\n`;
  return renderTable(
    ['NAME', 'RULES', 'MATCHES', 'FAULTS'],
    policies.map((policy) => [
      policy.metadata.name,
      String(policy.spec.rules.length),
      summarizeMatches(policy.spec.rules),
      summarizeFaults(policy.spec.rules),
    ]),
  );
}

/** `service=frontend namespace=demo`; `any` when the policy applies everywhere. */
export function selectorText(selector: Selector | undefined): string {
  const service = selector?.service && selector.service !== '*' ? selector.service : undefined;
  const namespace = selector?.namespace && selector.namespace !== '*' ? selector.namespace : undefined;
  if (service === undefined && namespace === undefined) return 'any';
  return `service=${service ?? '*'} namespace=${namespace ?? '*'}`;
}

function stringMatchLines(match: StringMatch, indent: string): string[] {
  const lines: string[] = [];
  if (match.exact) lines.push(`${indent}Exact: ${match.exact}`);
  if (match.prefix) lines.push(`${indent}Prefix: ${match.prefix}`);
  if (match.regex) lines.push(`${indent}Regex: ${match.regex}`);
  return lines;
}

function hasStatus(policy: Policy): policy is PolicyWithStatus {
  return typeof (policy as Partial<PolicyWithStatus>).status === 'object';
}

function remainingText(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** The reference's `describe` text, with the selector and the server-side status added. */
export function describePolicy(policy: Policy): string {
  const status = hasStatus(policy) ? policy.status : undefined;
  const lines = [`Name: ${policy.metadata.name}`];
  if (policy.metadata.version) lines.push(`Version: ${policy.metadata.version}`);
  lines.push(`Selector: ${selectorText(policy.spec.selector)}`);
  if (status !== undefined) {
    lines.push(`Revision: ${status.revision}`);
    lines.push(`Updated: ${status.updated_at}`);
  }
  lines.push(`Total Rules: ${policy.spec.rules.length}`, '');

  policy.spec.rules.forEach((rule, index) => {
    lines.push(`Rule ${index + 1}:`, '  Match Conditions:');
    if (rule.match.method !== undefined) lines.push('    Method:', ...stringMatchLines(rule.match.method, '      '));
    if (rule.match.path !== undefined) lines.push('    Path:', ...stringMatchLines(rule.match.path, '      '));
    if (rule.match.headers !== undefined && rule.match.headers.length > 0) {
      lines.push('    Headers:');
      for (const header of rule.match.headers) {
        lines.push(`      ${header.name}:`, ...stringMatchLines(header, '        '));
      }
    }
    lines.push(
      '  Fault Actions:',
      `    Percentage: ${rule.fault.percentage}%`,
      `    Start Delay: ${rule.fault.start_delay_ms ?? 0} ms`,
      `    Duration: ${rule.fault.duration_seconds ?? 0} seconds`,
    );
    if (rule.fault.delay !== undefined) lines.push(`    Delay: ${rule.fault.delay.fixed_delay_ms} ms`);
    if (rule.fault.abort !== undefined) {
      lines.push(`    Abort HTTP Status: ${rule.fault.abort.httpStatus}`);
      if (rule.fault.abort.body !== undefined) lines.push(`    Abort Body: ${JSON.stringify(rule.fault.abort.body)}`);
    }
    const ruleStatus = status?.rules[index];
    if (ruleStatus !== undefined) {
      let state = ruleStatus.active ? 'active' : 'expired';
      if (ruleStatus.expires_at !== undefined) {
        state += ruleStatus.active
          ? ` (expires ${ruleStatus.expires_at}${ruleStatus.remaining_ms === undefined ? '' : `, ${remainingText(ruleStatus.remaining_ms)} left`})`
          : ` (expired ${ruleStatus.expires_at})`;
      }
      lines.push(`  Status: ${state}`);
    }
    lines.push('');
  });
  return `${lines.join('\n')}\n`;
}
