// What the doctor read from one sidecar, however it got there (admin URL or the Kubernetes API), and the facts the
// checks draw from it. Reading and judging are kept apart so each check is a plain function of this evidence.

/** A page that was read, or why it could not be. */
export type Page = { text: string } | { error: string };

export interface WorkloadIdentityEvidence {
  workload?: string;
  namespace?: string;
  pod?: string;
  labels?: Record<string, string>;
}

export interface KubernetesPodFacts {
  uid: string;
  podIP?: string;
  annotations: Record<string, string>;
  /** When the istio-proxy container last started (state.running.startedAt). */
  proxyStartedAt?: string;
  proxyRestartCount: number;
}

export interface SidecarEvidence {
  /** Local: the admin URL; k8s: `namespace/pod`. */
  name: string;
  /** Where `/stats/prometheus` was read. */
  statsUrl: string;
  identity: WorkloadIdentityEvidence;
  prometheus: Page;
  scrapedAtMs: number;
  /** Envoy's `/stats` text (admin port only; absent through Istio's :15090). */
  stats?: Page;
  /** `/config_dump` as JSON text (admin port only). */
  configDump?: Page;
  /** Log lines of the sidecar (Envoy's, with the plugin's `wasm log` lines). */
  logs?: { lines: string[]; source: string } | { error: string };
  /** host:port Prometheus would scrape for this sidecar (`instance` label values). */
  scrapeAddresses: string[];
  k8s?: KubernetesPodFacts;
}

export const HFI_NEW_FAMILIES = [
  'wasmcustom_hfi_faults_aborts_total',
  'wasmcustom_hfi_faults_delays_total',
  'wasmcustom_hfi_faults_delay_duration_milliseconds',
] as const;

/** The reference's old names as Envoy exports them: `hfi.faults.aborts_total` → `hfi_faults_aborts_total`. */
export const HFI_OLD_FAMILY_PREFIX = 'hfi_faults_';
/** The full stat names the bootstrap stats matcher sees for the current plugin's metrics. */
export const HFI_MATCHER_NAMES = HFI_NEW_FAMILIES.map((n) => `wasmcustom.${n.replace(/^wasmcustom_/, 'wasmcustom.')}`);

export interface PromLine {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line whose metric name passes `accept`, with its labels and value. */
export function promLines(text: string, accept: (name: string) => boolean): PromLine[] {
  const out: PromLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const m = LINE.exec(raw);
    if (m === null || !accept(m[1] as string)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    const value = m[4] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[4]);
    out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

/** The family names on a page (`_bucket`/`_sum`/`_count` folded into their histogram). */
export function familyNames(text: string, accept: (name: string) => boolean): string[] {
  const names = new Set<string>();
  for (const line of promLines(text, accept)) names.add(line.name.replace(/_(bucket|sum|count)$/, ''));
  return [...names].sort();
}

/** Names of the reference's old families on a Prometheus page (`hfi_faults_*`, no `wasmcustom_` prefix). */
export function oldFamilies(promText: string): string[] {
  return familyNames(promText, (n) => n.startsWith(HFI_OLD_FAMILY_PREFIX));
}

/** Full stat names on Envoy's `/stats` page that start with `prefix`. */
export function statNames(statsText: string, prefix: string): string[] {
  const out: string[] = [];
  for (const line of statsText.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const colon = line.indexOf(':');
    out.push(colon < 0 ? line.trim() : line.slice(0, colon));
  }
  return out;
}

/**
 * Requests the sidecar has seen, from the counters a proxy exposes: Istio's `istio_requests_total` (inbound:
 * `reporter="destination"`) or Envoy's `http.<prefix>.downstream_rq_total` (the admin listener's own excluded).
 * Undefined when the page has none of them.
 */
export function requestCount(promText: string, statsText?: string): { count: number; source: string } | undefined {
  const istio = promLines(promText, (n) => n === 'istio_requests_total');
  if (istio.length > 0) {
    const inbound = istio.filter((l) => l.labels.reporter === 'destination');
    const lines = inbound.length > 0 ? inbound : istio;
    return {
      count: lines.reduce((n, l) => n + l.value, 0),
      source: inbound.length > 0 ? 'istio_requests_total{reporter="destination"}' : 'istio_requests_total',
    };
  }
  const envoy = promLines(promText, (n) => n === 'envoy_http_downstream_rq_total').filter(
    (l) => l.labels.envoy_http_conn_manager_prefix !== 'admin',
  );
  if (envoy.length > 0) {
    return { count: envoy.reduce((n, l) => n + l.value, 0), source: 'envoy_http_downstream_rq_total' };
  }
  if (statsText !== undefined) {
    let count = 0;
    let found = false;
    for (const line of statsText.split('\n')) {
      const m = /^http\.([^:]+)\.downstream_rq_total: (\d+)/.exec(line);
      if (m === null || m[1] === 'admin') continue;
      found = true;
      count += Number(m[2]);
    }
    if (found) return { count, source: 'http.*.downstream_rq_total' };
  }
  // Istio's stats filter creates istio_requests_total at a sidecar's first inbound request, so on a live sidecar page
  // (server stats and the hfi families present) its absence means no request has arrived yet.
  const liveSidecar =
    promLines(promText, (n) => n === 'envoy_server_live').length > 0 &&
    promLines(promText, (n) => n === 'wasmcustom_hfi_faults_aborts_total').length > 0;
  if (liveSidecar) return { count: 0, source: 'istio_requests_total (no series yet)' };
  return undefined;
}

export interface LogFacts {
  vmCreated: boolean;
  filterCreated: boolean;
  /** Names from the plugin's `Defined metric: <name>` lines. */
  definedMetrics: string[];
  /** The hfi plugin said it was configured (`hfi: configured`). */
  hfiConfigured: boolean;
  /** Lines saying a Wasm module failed to load or fetch. */
  loadFailures: string[];
  /** The plugin's last `applied revision N: k of n policies apply to <workload>` line. */
  lastApplied?: { revision: number; applying: number; total: number; workload: string };
  /** Requests from access-log lines (`"GET /path HTTP/1.1" 200`). */
  requests: { method: string; path: string; status: number }[];
}

const LOAD_FAILURE =
  /failed to (load|fetch|create|instantiate)[^\n]*wasm|wasm[^\n]*(failed|error)[^\n]*(load|fetch|download)/i;
const ACCESS_LOG = /"([A-Z]+) (\S+) HTTP\/[0-9.]+" (\d{3}) /;
const APPLIED = /hfi: applied revision (\d+): (\d+) of (\d+) polic(?:y|ies) apply to (\S+)/;

export function logFacts(lines: readonly string[]): LogFacts {
  const facts: LogFacts = {
    vmCreated: false,
    filterCreated: false,
    definedMetrics: [],
    hfiConfigured: false,
    loadFailures: [],
    requests: [],
  };
  for (const line of lines) {
    if (/wasm vm created/i.test(line)) facts.vmCreated = true;
    if (/wasm filter created/i.test(line)) facts.filterCreated = true;
    const defined = /Defined metric: (\S+)/.exec(line);
    if (defined && !facts.definedMetrics.includes(defined[1] as string))
      facts.definedMetrics.push(defined[1] as string);
    if (line.includes('hfi: configured')) facts.hfiConfigured = true;
    if (LOAD_FAILURE.test(line)) facts.loadFailures.push(line.trim());
    const applied = APPLIED.exec(line);
    if (applied) {
      facts.lastApplied = {
        revision: Number(applied[1]),
        applying: Number(applied[2]),
        total: Number(applied[3]),
        workload: applied[4] as string,
      };
    }
    const access = ACCESS_LOG.exec(line);
    if (access)
      facts.requests.push({ method: access[1] as string, path: access[2] as string, status: Number(access[3]) });
  }
  return facts;
}

/** The bootstrap's `stats_config.stats_matcher.inclusion_list.patterns`, null-safe; undefined when not in the dump. */
export function inclusionPatterns(configDump: unknown): unknown[] | undefined {
  const configs = (configDump as { configs?: unknown } | undefined)?.configs;
  if (!Array.isArray(configs)) return undefined;
  for (const config of configs) {
    const c = config as { '@type'?: unknown; bootstrap?: { stats_config?: unknown } } | null;
    if (c?.['@type'] !== 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump') continue;
    const statsConfig = c.bootstrap?.stats_config as
      | { stats_matcher?: { inclusion_list?: { patterns?: unknown }; reject_all?: unknown } }
      | undefined;
    const matcher = statsConfig?.stats_matcher;
    // No matcher at all: Envoy keeps every stat.
    if (matcher === undefined || matcher === null) return undefined;
    if (matcher.reject_all === true) return [];
    const patterns = matcher.inclusion_list?.patterns;
    return Array.isArray(patterns) ? patterns : [];
  }
  return undefined;
}

/** The Wasm filters a config dump shows (name and module), null-safe. */
export function wasmFilters(configDump: unknown): { name: string; module: string }[] {
  const out: { name: string; module: string }[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 12 || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const v of value) visit(v, depth + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    const type = record['@type'];
    if (typeof type === 'string' && type.endsWith('envoy.extensions.filters.http.wasm.v3.Wasm')) {
      const config = (record.config ?? {}) as { name?: unknown; vm_config?: { code?: unknown } };
      const code = config.vm_config?.code as
        | { local?: { filename?: unknown }; remote?: { http_uri?: { uri?: unknown } } }
        | undefined;
      const module = code?.local?.filename ?? code?.remote?.http_uri?.uri ?? '(inline)';
      out.push({ name: String(config.name ?? ''), module: String(module) });
      return;
    }
    for (const v of Object.values(record)) visit(v, depth + 1);
  };
  visit(configDump, 0);
  return out;
}
