// The canonical form of a valid policy: the shape the reference control plane serialises (Go struct field order,
// `metadata.version` always present, zero start/duration and empty strings omitted), with nothing else in it.
// Written defensively (null counts as absent) because validatePolicy hands it raw decoded input.

import type {
  AbortAction,
  FaultSpec,
  HeaderMatch,
  Policy,
  PolicyMetadata,
  Rule,
  RuleMatch,
  Selector,
  StringMatch,
} from './types';

type Loose<T> = { [K in keyof T]?: T[K] | null };

const present = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null;
const nonEmpty = (value: string | null | undefined): value is string => typeof value === 'string' && value !== '';
/** JSON has no -0; keep it out so that deep equality holds after a round trip. */
const num = (value: number): number => (value === 0 ? 0 : value);

function normalizeStringMatch<T extends StringMatch>(target: T, source: Loose<StringMatch>): T {
  if (nonEmpty(source.exact)) target.exact = source.exact;
  if (nonEmpty(source.prefix)) target.prefix = source.prefix;
  if (nonEmpty(source.regex)) target.regex = source.regex;
  return target;
}

function normalizeMatch(match: Loose<RuleMatch> | null | undefined): RuleMatch {
  const out: RuleMatch = {};
  if (!present(match)) return out;
  if (present(match.method)) out.method = normalizeStringMatch({}, match.method);
  if (present(match.path)) out.path = normalizeStringMatch({}, match.path);
  if (present(match.headers) && match.headers.length > 0) {
    out.headers = match.headers.map((h) => normalizeStringMatch<HeaderMatch>({ name: h.name }, h));
  }
  return out;
}

function normalizeFault(fault: Loose<FaultSpec> | null | undefined): FaultSpec {
  const f: Loose<FaultSpec> = fault ?? {};
  const out: FaultSpec = { percentage: num(f.percentage ?? 0) };
  if (present(f.start_delay_ms) && f.start_delay_ms !== 0) out.start_delay_ms = f.start_delay_ms;
  if (present(f.duration_seconds) && f.duration_seconds !== 0) out.duration_seconds = f.duration_seconds;
  if (present(f.delay)) out.delay = { fixed_delay_ms: num(f.delay.fixed_delay_ms ?? 0) };
  if (present(f.abort)) {
    const abort: Loose<AbortAction> = f.abort;
    out.abort = { httpStatus: num(abort.httpStatus ?? 0) };
    if (present(abort.body)) out.abort.body = abort.body;
  }
  return out;
}

function normalizeSelector(selector: Loose<Selector>): Selector {
  const out: Selector = {};
  if (nonEmpty(selector.service)) out.service = selector.service;
  if (nonEmpty(selector.namespace)) out.namespace = selector.namespace;
  return out;
}

/**
 * Returns the canonical form of a policy that passed validation: canonical key order, `metadata.version` ""
 * when absent, `start_delay_ms`/`duration_seconds` omitted when 0, empty matcher strings and empty header lists
 * omitted, and every field outside the schema (apiVersion, kind, status, ...) dropped. Idempotent.
 */
export function normalizePolicy(policy: Policy): Policy {
  const metadata: Loose<PolicyMetadata> = policy.metadata ?? {};
  const spec: Loose<Policy['spec']> = policy.spec ?? {};
  const out: Policy = {
    metadata: { name: metadata.name ?? '', version: metadata.version ?? '' },
    spec: { rules: [] },
  };
  const rules = (spec.rules ?? []).map(
    (rule: Loose<Rule>): Rule => ({ match: normalizeMatch(rule.match), fault: normalizeFault(rule.fault) }),
  );
  out.spec = present(spec.selector) ? { selector: normalizeSelector(spec.selector), rules } : { rules };
  return out;
}
