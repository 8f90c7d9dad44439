// The facts every check reads about one sidecar, derived once from its evidence: which hfi families its page has,
// whether old names are there, what its stats matcher keeps, what its log says, and who the control plane thinks
// it is.
import type { NodeStatus } from '@hfi/core';
import { type InclusionPattern, StatsMatcher } from '@hfi/filter';
import { extractHfiFamilies } from '../metrics/extract';
import { parsePodMetrics } from '../metrics/pod-metrics';
import type { PromFamily } from '../metrics/prom-text';
import type { PodMetrics } from '../metrics/types';
import {
  HFI_MATCHER_NAMES,
  HFI_NEW_FAMILIES,
  inclusionPatterns,
  type LogFacts,
  logFacts,
  oldFamilies,
  requestCount,
  type SidecarEvidence,
  statNames,
  type WorkloadIdentityEvidence,
  wasmFilters,
} from './evidence';
import { parseJson } from './http';

/** Envoy's default histogram: 19 bounds and +Inf. */
export const ENVOY_BUCKET_LINES = 20;

export interface HistogramShape {
  bucketLines: number;
  hasInf: boolean;
  hasSum: boolean;
  hasCount: boolean;
}

export type MatcherVerdict =
  | { known: false; reason: string }
  | {
      known: true;
      /** The bootstrap patterns (empty: the matcher rejects every stat). */
      patterns: unknown[];
      /** The first pattern that keeps the plugin metrics, if any. */
      keeping?: string;
      /** Patterns the seed's jq looks for: a prefix containing `wasm`. */
      wasmPrefixes: string[];
      /** No stats_matcher in the bootstrap: Envoy keeps every stat. */
      noMatcher: boolean;
    };

export interface SidecarFacts {
  evidence: SidecarEvidence;
  /** Set when `/stats/prometheus` could be read. */
  metrics?: PodMetrics;
  promError?: string;
  /** The current names present on the page. */
  newFamilies: string[];
  histogram?: HistogramShape;
  oldFamilies: string[];
  /** Old-name stats on the `/stats` page (`wasmcustom.hfi.faults.*`). */
  oldStats: string[];
  /** `wasmcustom.*` stats on the `/stats` page; undefined when the page was not read. */
  wasmcustomStats?: string[];
  logs?: LogFacts;
  logsError?: string;
  matcher: MatcherVerdict;
  wasmFilters: { name: string; module: string }[];
  requests?: { count: number; source: string };
  /** The control plane's instances for this pod (one per worker). */
  nodes: NodeStatus[];
  /** Who the plugin is, for selectors: what it reported to the control plane, else what its proxy says. */
  identity: WorkloadIdentityEvidence;
}

function histogramShape(families: PromFamily[]): HistogramShape | undefined {
  const family = families.find((f) => f.name === HFI_NEW_FAMILIES[2]);
  if (family === undefined || family.type !== 'histogram' || family.series.length === 0) return undefined;
  const series = family.series[0];
  if (series === undefined) return undefined;
  return {
    bucketLines: series.buckets.length,
    hasInf: series.buckets.some((b) => b.le === Number.POSITIVE_INFINITY),
    hasSum: !Number.isNaN(series.sum),
    hasCount: !Number.isNaN(series.count),
  };
}

function describePattern(pattern: unknown): string {
  return JSON.stringify(pattern);
}

export function matcherVerdict(evidence: SidecarEvidence): MatcherVerdict {
  const page = evidence.configDump;
  if (page === undefined) return { known: false, reason: 'no /config_dump for this sidecar' };
  if ('error' in page) return { known: false, reason: page.error };
  const dump = parseJson(page.text);
  if (dump === undefined) return { known: false, reason: '/config_dump is not JSON' };
  const patterns = inclusionPatterns(dump);
  if (patterns === undefined) {
    const hasBootstrap = JSON.stringify(dump).includes('BootstrapConfigDump');
    return hasBootstrap
      ? { known: true, patterns: [], wasmPrefixes: [], noMatcher: true, keeping: '(no stats_matcher: every stat kept)' }
      : { known: false, reason: '/config_dump has no bootstrap section' };
  }
  const wasmPrefixes = patterns
    .map((p) => (p as { prefix?: unknown } | null)?.prefix)
    .filter((p): p is string => typeof p === 'string' && p.includes('wasm'));
  let keeping: string | undefined;
  for (const pattern of patterns) {
    try {
      const single = new StatsMatcher([pattern as InclusionPattern]);
      if (HFI_MATCHER_NAMES.every((name) => !single.rejects(name))) {
        keeping = describePattern(pattern);
        break;
      }
    } catch {
      // A pattern this matcher cannot compile keeps nothing we can vouch for.
    }
  }
  return { known: true, patterns, wasmPrefixes, noMatcher: false, ...(keeping ? { keeping } : {}) };
}

const nodeKey = (namespace: string | undefined, pod: string | undefined) => `${namespace ?? ''}/${pod ?? ''}`;

export function buildFacts(evidence: SidecarEvidence, nodes: readonly NodeStatus[]): SidecarFacts {
  const mine = nodes.filter(
    (n) => nodeKey(n.namespace, n.pod) === nodeKey(evidence.identity.namespace, evidence.identity.pod),
  );
  const reported = mine[0];
  const identity: WorkloadIdentityEvidence =
    reported === undefined
      ? evidence.identity
      : {
          workload: reported.workload,
          namespace: reported.namespace,
          pod: reported.pod,
          labels: reported.labels ?? {},
        };
  const facts: SidecarFacts = {
    evidence,
    newFamilies: [],
    oldFamilies: [],
    oldStats: [],
    matcher: matcherVerdict(evidence),
    wasmFilters: [],
    nodes: evidence.identity.pod === undefined ? [] : mine,
    identity,
  };
  if ('text' in evidence.prometheus) {
    const text = evidence.prometheus.text;
    facts.metrics = parsePodMetrics(text);
    const families = extractHfiFamilies(text);
    facts.newFamilies = HFI_NEW_FAMILIES.filter((name) => families.some((f) => f.name === name));
    const shape = histogramShape(families);
    if (shape) facts.histogram = shape;
    facts.oldFamilies = oldFamilies(text);
    const statsText = evidence.stats && 'text' in evidence.stats ? evidence.stats.text : undefined;
    const requests = requestCount(text, statsText);
    if (requests) facts.requests = requests;
  } else {
    facts.promError = evidence.prometheus.error;
  }
  if (evidence.stats && 'text' in evidence.stats) {
    facts.wasmcustomStats = statNames(evidence.stats.text, 'wasmcustom.');
    facts.oldStats = facts.wasmcustomStats.filter((n) => n.includes('hfi.faults'));
  }
  if (evidence.logs && 'lines' in evidence.logs) facts.logs = logFacts(evidence.logs.lines);
  else if (evidence.logs) facts.logsError = evidence.logs.error;
  if (evidence.configDump && 'text' in evidence.configDump) {
    facts.wasmFilters = wasmFilters(parseJson(evidence.configDump.text));
  }
  return facts;
}

/** The plugin's own metrics, by either name, show it runs. */
export function hfiMetricsPresent(f: SidecarFacts): boolean {
  return (
    f.newFamilies.length > 0 ||
    f.oldFamilies.length > 0 ||
    (f.wasmcustomStats ?? []).some((n) => n.includes('hfi_faults') || n.includes('hfi.faults'))
  );
}

/** The plugin's own log lines show it runs. */
export function hfiLogLines(f: SidecarFacts): boolean {
  return (f.logs?.definedMetrics.some((n) => n.includes('hfi')) ?? false) || f.logs?.hfiConfigured === true;
}
