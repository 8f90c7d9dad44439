// Envoy's bootstrap `stats_config.stats_matcher.inclusion_list`, as Istio writes it.
//
// What the matcher sees: the stat's full name before tag extraction. For a plugin metric that is
// `wasmcustom.<name exactly as passed to proxy_define_metric>` (see store.ts). A stat the matcher rejects is never
// created: Envoy hands the plugin a null stat, so the name appears in no admin output at all.
//
// Matching (Envoy StatsMatcherImpl / StringMatcher): `prefix` and `suffix` compare strings; `safe_regex` is an RE2
// FULL match; a stat is kept if any pattern matches. An inclusion list with no patterns rejects every stat.
//
// Istio's list (istio/istio pkg/bootstrap/config.go + tools/packaging/common/envoy_bootstrap.json), in order:
//   prefix  reporter=
//   prefix  <user inclusionPrefixes>        (annotation sidecar.istio.io/statsInclusionPrefixes, else
//                                            proxyStatsMatcher.inclusionPrefixes; appended, never replacing)
//   prefix  cluster_manager, listener_manager, server, cluster.xds-grpc, wasm   (requiredEnvoyStatsMatcherInclusionPrefixes)
//   suffix  <user inclusionSuffixes>
//   suffix  rbac.allowed, rbac.denied, shadow_allowed, shadow_denied   (+ downstream_cx_active when draining is configured)
//   regex   <user inclusionRegexps>
//   regex   vhost\..*\.route\..*
//   prefix  component, istio
// `wasm` has been required since istio/istio PR #22639 (Istio 1.6), so every plugin metric (`wasmcustom.*`) is
// included by default, whatever name the plugin chose.

import { HfiError } from '@hfi/core';

export interface InclusionPattern {
  prefix?: string;
  suffix?: string;
  safe_regex?: { regex: string };
}

export const ISTIO_REQUIRED_INCLUSION_PREFIXES: readonly string[] = Object.freeze([
  'cluster_manager',
  'listener_manager',
  'server',
  'cluster.xds-grpc',
  'wasm',
]);
export const ISTIO_RBAC_INCLUSION_SUFFIXES: readonly string[] = Object.freeze([
  'rbac.allowed',
  'rbac.denied',
  'shadow_allowed',
  'shadow_denied',
]);
export const ISTIO_REQUIRED_INCLUSION_REGEXES: readonly string[] = Object.freeze(['vhost\\..*\\.route\\..*']);

export interface UserInclusion {
  prefixes?: readonly string[];
  suffixes?: readonly string[];
  regexps?: readonly string[];
}

/** Istio's inclusion list with the user's patterns placed where Istio places them. */
export function istioInclusionPatterns(user: UserInclusion = {}): InclusionPattern[] {
  return [
    { prefix: 'reporter=' },
    ...(user.prefixes ?? []).map((prefix) => ({ prefix })),
    ...ISTIO_REQUIRED_INCLUSION_PREFIXES.map((prefix) => ({ prefix })),
    ...(user.suffixes ?? []).map((suffix) => ({ suffix })),
    ...ISTIO_RBAC_INCLUSION_SUFFIXES.map((suffix) => ({ suffix })),
    ...(user.regexps ?? []).map((regex) => ({ safe_regex: { regex } })),
    ...ISTIO_REQUIRED_INCLUSION_REGEXES.map((regex) => ({ safe_regex: { regex } })),
    { prefix: 'component' },
    { prefix: 'istio' },
  ];
}

/** Only the user's patterns (an empty result rejects every stat, as an empty Envoy inclusion list does). */
export function userInclusionPatterns(user: UserInclusion = {}): InclusionPattern[] {
  return [
    ...(user.prefixes ?? []).map((prefix) => ({ prefix })),
    ...(user.suffixes ?? []).map((suffix) => ({ suffix })),
    ...(user.regexps ?? []).map((regex) => ({ safe_regex: { regex } })),
  ];
}

/** RE2 → JavaScript for the constructs stats regexes use (POSIX classes, named groups). */
export function re2ToJs(re2: string): string {
  return re2
    .replace(/\[:digit:\]/g, '0-9')
    .replace(/\[:alpha:\]/g, 'A-Za-z')
    .replace(/\[:alnum:\]/g, '0-9A-Za-z')
    .replace(/\[:space:\]/g, '\\s')
    .replace(/\(\?P</g, '(?<');
}

type Test = (name: string) => boolean;

export class StatsMatcher {
  private readonly tests: Test[];
  readonly patterns: readonly InclusionPattern[];

  constructor(patterns: readonly InclusionPattern[]) {
    this.patterns = patterns;
    this.tests = patterns.map((pattern, i) => StatsMatcher.compile(pattern, i));
  }

  private static compile(pattern: InclusionPattern, index: number): Test {
    if (pattern.prefix !== undefined) {
      const prefix = pattern.prefix;
      return (name) => name.startsWith(prefix);
    }
    if (pattern.suffix !== undefined) {
      const suffix = pattern.suffix;
      return (name) => name.endsWith(suffix);
    }
    if (pattern.safe_regex !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${re2ToJs(pattern.safe_regex.regex)})$`);
      } catch (cause) {
        throw new HfiError('HFI_ERR_CONFIG', `Invalid stats matcher regex: ${pattern.safe_regex.regex}`, {
          field: `stats_matcher.inclusion_list.patterns[${index}].safe_regex.regex`,
          cause,
        });
      }
      return (name) => re.test(name);
    }
    throw new HfiError('HFI_ERR_CONFIG', 'A stats matcher pattern needs prefix, suffix or safe_regex', {
      field: `stats_matcher.inclusion_list.patterns[${index}]`,
    });
  }

  /** True when the stat named `fullName` would never be created. */
  rejects(fullName: string): boolean {
    for (const test of this.tests) if (test(fullName)) return false;
    return true;
  }
}
