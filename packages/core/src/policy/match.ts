// The filter's request matching, in TypeScript: which rule, if any, a request would hit. Diagnosis tools use it;
// shared test vectors (packages/filter/test-vectors, packages/core/test-vectors) keep it and the filter agreeing.

import { type CompiledRegex, compileRegex } from './regex';
import type { HeaderMatch, Policy, PolicyWithStatus, Selector, StringMatch } from './types';

export interface RequestInfo {
  method: string;
  /** As the client sent it, query string included; matching uses the part before the first `?`. */
  path: string;
  /** In order, repeats allowed; names in any case. */
  headers: [string, string][];
}

export interface WorkloadIdentity {
  workload: string;
  namespace: string;
  labels?: Record<string, string>;
}

export interface RuleRef {
  policy: string;
  rule: number;
}

const isAny = (value: string | undefined) => value === undefined || value === '' || value === '*';

/** Missing selector, or "" / "*" in a field, matches any workload. `service` also matches the app labels. */
export function selectorMatches(selector: Selector | undefined, identity: WorkloadIdentity): boolean {
  if (selector === undefined || selector === null) return true;
  const { service, namespace } = selector;
  const serviceOk =
    isAny(service) ||
    service === identity.workload ||
    service === identity.labels?.app ||
    service === identity.labels?.['app.kubernetes.io/name'];
  return serviceOk && (isAny(namespace) || namespace === identity.namespace);
}

const MAX_CACHED = 1000;
const regexCache = new Map<string, CompiledRegex | null>();

/** A pattern outside the dialect never matches (validation keeps such patterns out of stored policies). */
function regexMatches(pattern: string, text: string): boolean {
  let compiled = regexCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = compileRegex(pattern);
    } catch {
      compiled = null;
    }
    if (regexCache.size >= MAX_CACHED) regexCache.clear();
    regexCache.set(pattern, compiled);
  }
  return compiled?.test(text) === true;
}

const set = (value: string | undefined): value is string => typeof value === 'string' && value !== '';

/** The first set condition counts (exact, then prefix, then regex); a matcher with none matches anything. */
function stringMatches(matcher: StringMatch, value: string): boolean {
  if (set(matcher.exact)) return value === matcher.exact;
  if (set(matcher.prefix)) return value.startsWith(matcher.prefix);
  if (set(matcher.regex)) return regexMatches(matcher.regex, value);
  return true;
}

function headerMatches(matcher: HeaderMatch, headers: [string, string][]): boolean {
  const name = matcher.name.toLowerCase();
  const values = headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  if (values.length === 0) return false;
  return stringMatches(matcher, values.join(','));
}

/** Whether a rule's match part accepts the request (all parts must match). */
export function ruleMatches(rule: Policy['spec']['rules'][number], request: RequestInfo): boolean {
  const { method, path, headers } = rule.match ?? {};
  if (method && !stringMatches(method, request.method)) return false;
  if (path) {
    const q = request.path.indexOf('?');
    if (!stringMatches(path, q < 0 ? request.path : request.path.slice(0, q))) return false;
  }
  return (headers ?? []).every((h) => headerMatches(h, request.headers));
}

function ruleActive(policy: Policy | PolicyWithStatus, index: number, nowMs: number | undefined): boolean {
  const status = 'status' in policy ? policy.status?.rules?.[index] : undefined;
  if (status === undefined || status === null) return true;
  if (status.active === false || status.remaining_ms === 0) return false;
  if (nowMs !== undefined && status.expires_at !== undefined) {
    const deadline = Date.parse(status.expires_at);
    if (!Number.isNaN(deadline) && nowMs >= deadline) return false;
  }
  return true;
}

/**
 * The rule a request hits: policies in name order, rules in order, first match wins. Skips policies whose
 * selector excludes the workload and rules the status marks inactive (active false, remaining_ms 0, or, when
 * nowMs is given, an expires_at at or before it). Percentage and start delay are not considered: they decide
 * whether a matched rule injects, not which rule matches.
 */
export function findMatchingRule(
  policies: (Policy | PolicyWithStatus)[],
  identity: WorkloadIdentity,
  request: RequestInfo,
  nowMs?: number,
): RuleRef | null {
  const ordered = [...policies].sort((a, b) =>
    a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
  );
  for (const policy of ordered) {
    if (!selectorMatches(policy.spec.selector, identity)) continue;
    const rules = policy.spec.rules ?? [];
    for (let i = 0; i < rules.length; i++) {
      if (ruleActive(policy, i, nowMs) && ruleMatches(rules[i], request))
        return { policy: policy.metadata.name, rule: i };
    }
  }
  return null;
}
