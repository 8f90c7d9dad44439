// The seed's Problem 4 (metrics visible on the sidecar, missing in Prometheus): does Prometheus scrape each sidecar,
// is the target up, and do the hfi series survive relabeling into its storage.
import { parse as parseYaml } from 'yaml';
import type { SidecarFacts } from '../facts';
import { fixPrometheusNotScraping, fixRelabelDrop, fixTargetDown } from '../fixes';
import { asRecord, getText, parseJson } from '../http';
import type { CheckResult } from '../types';
import { type CheckContext, type Finding, fold, noSidecars, podName } from './context';

export interface PromTarget {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
}

export interface PrometheusView {
  url: string;
  targets: { active: PromTarget[]; dropped: Record<string, string>[] } | { error: string };
  /** The series of `selector`, or why the query failed. */
  query(promql: string): Promise<{ series: Record<string, string>[] } | { error: string }>;
  /** `metric_relabel_configs` of a job, from `/api/v1/status/config`. */
  metricRelabelConfigs(job: string): Promise<unknown[] | undefined>;
}

function labelsOf(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(asRecord(value) ?? {}).map(([k, v]) => [k, String(v)]));
}

async function apiGet(base: string, path: string, timeoutMs: number): Promise<{ data: unknown } | { error: string }> {
  const url = `${base}${path}`;
  const answer = await getText(url, { timeoutMs, headers: { accept: 'application/json' } });
  if (!answer.ok) return { error: `${url}: ${answer.error}` };
  const body = asRecord(parseJson(answer.text));
  if (answer.status !== 200 || body?.status !== 'success') {
    const why = typeof body?.error === 'string' ? body.error : answer.text.slice(0, 200);
    return { error: `${url}: HTTP ${answer.status} ${why}` };
  }
  return { data: body.data };
}

export async function readPrometheus(url: string, timeoutMs: number): Promise<PrometheusView> {
  const base = url.replace(/\/+$/, '');
  const targetsAnswer = await apiGet(base, '/api/v1/targets', timeoutMs);
  let targets: PrometheusView['targets'];
  if ('error' in targetsAnswer) targets = { error: targetsAnswer.error };
  else {
    const data = asRecord(targetsAnswer.data) ?? {};
    const active = (Array.isArray(data.activeTargets) ? data.activeTargets : []).map((t): PromTarget => {
      const r = asRecord(t) ?? {};
      return {
        scrapePool: String(r.scrapePool ?? ''),
        scrapeUrl: String(r.scrapeUrl ?? ''),
        health: String(r.health ?? 'unknown'),
        lastError: String(r.lastError ?? ''),
        labels: labelsOf(r.labels),
        discoveredLabels: labelsOf(r.discoveredLabels),
      };
    });
    const dropped = (Array.isArray(data.droppedTargets) ? data.droppedTargets : []).map((t) =>
      labelsOf(asRecord(t)?.discoveredLabels),
    );
    targets = { active, dropped };
  }
  let config: unknown;
  return {
    url: base,
    targets,
    async query(promql) {
      const answer = await apiGet(base, `/api/v1/query?query=${encodeURIComponent(promql)}`, timeoutMs);
      if ('error' in answer) return answer;
      const result = asRecord(answer.data)?.result;
      return { series: (Array.isArray(result) ? result : []).map((s) => labelsOf(asRecord(s)?.metric)) };
    },
    async metricRelabelConfigs(job) {
      if (config === undefined) {
        const answer = await apiGet(base, '/api/v1/status/config', timeoutMs);
        const yaml = 'data' in answer ? asRecord(answer.data)?.yaml : undefined;
        try {
          config = typeof yaml === 'string' ? parseYaml(yaml) : null;
        } catch {
          config = null;
        }
      }
      const jobs = asRecord(config)?.scrape_configs;
      const entry = (Array.isArray(jobs) ? jobs : []).map(asRecord).find((j) => j?.job_name === job);
      const rules = entry?.metric_relabel_configs;
      return Array.isArray(rules) ? rules : undefined;
    },
  };
}

const normalizeHost = (hostPort: string) =>
  hostPort.replace(/^localhost(?=:)/, '127.0.0.1').replace(/^\[::1\]/, '127.0.0.1');

function hostOf(url: string): string | undefined {
  try {
    return normalizeHost(new URL(url).host);
  } catch {
    return undefined;
  }
}

/** The active targets that scrape this sidecar: by address, or by pod labels (Kubernetes service discovery). */
export function targetsFor(f: SidecarFacts, active: readonly PromTarget[]): PromTarget[] {
  const addresses = new Set(f.evidence.scrapeAddresses.map(normalizeHost));
  const { pod, namespace } = f.evidence.identity;
  return active.filter((t) => {
    const host = hostOf(t.scrapeUrl) ?? normalizeHost(t.discoveredLabels.__address__ ?? '');
    if (addresses.has(host)) return true;
    if (f.evidence.k8s === undefined || pod === undefined) return false;
    const targetPod = t.labels.pod ?? t.labels.kubernetes_pod_name ?? t.discoveredLabels.__meta_kubernetes_pod_name;
    const targetNs =
      t.labels.namespace ?? t.labels.kubernetes_namespace ?? t.discoveredLabels.__meta_kubernetes_namespace;
    return targetPod === pod && (targetNs === undefined || targetNs === namespace);
  });
}

function droppedFor(f: SidecarFacts, dropped: readonly Record<string, string>[]): boolean {
  const addresses = new Set(f.evidence.scrapeAddresses.map(normalizeHost));
  return dropped.some(
    (d) =>
      addresses.has(normalizeHost(d.__address__ ?? '')) ||
      (f.evidence.identity.pod !== undefined && d.__meta_kubernetes_pod_name === f.evidence.identity.pod),
  );
}

export function checkPrometheusTargets(ctx: CheckContext, prom: PrometheusView): CheckResult {
  const id = 'prometheus-targets';
  const title = 'Prometheus scrapes the sidecars';
  if ('error' in prom.targets) {
    return {
      id,
      title,
      status: 'unknown',
      detail: `Prometheus could not be read: ${prom.targets.error}`,
      unreachable: [prom.url],
    };
  }
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  const { active, dropped } = prom.targets;
  const findings = ctx.sidecars.map((f): Finding => {
    const pod = podName(f);
    const mine = targetsFor(f, active);
    if (mine.length === 0) {
      const why = droppedFor(f, dropped)
        ? 'its target is discovered but dropped by relabel_configs'
        : `no scrape target for ${f.evidence.scrapeAddresses.join(' or ')} among the ${active.length} active targets`;
      return {
        pod,
        status: 'problem',
        seedProblem: 4,
        fix: fixPrometheusNotScraping(ctx.fix(f)),
        detail: `Prometheus at ${prom.url} does not scrape this sidecar: ${why}`,
      };
    }
    const up = mine.find((t) => t.health === 'up');
    if (up)
      return { pod, status: 'ok', detail: `target ${up.scrapeUrl} (job ${up.labels.job ?? up.scrapePool}) is up` };
    const down = mine.find((t) => t.health === 'down');
    if (down) {
      return {
        pod,
        status: 'problem',
        seedProblem: 4,
        fix: fixTargetDown(ctx.fix(f)),
        detail: `target ${down.scrapeUrl} is DOWN: ${down.lastError || 'no error given'}`,
      };
    }
    return { pod, status: 'unknown', detail: `target ${mine[0]?.scrapeUrl} has not been scraped yet` };
  });
  return fold(id, title, findings, (n) => `Prometheus scrapes all ${n} sidecars and their targets are up`);
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

export async function checkPrometheusMetrics(ctx: CheckContext, prom: PrometheusView): Promise<CheckResult> {
  const id = 'prometheus-metrics';
  const title = 'Metrics reach Prometheus';
  if ('error' in prom.targets) {
    return {
      id,
      title,
      status: 'unknown',
      detail: `Prometheus could not be read: ${prom.targets.error}`,
      unreachable: [prom.url],
    };
  }
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  const active = prom.targets.active;
  const findings = await Promise.all(
    ctx.sidecars.map(async (f): Promise<Finding> => {
      const pod = podName(f);
      const up = targetsFor(f, active).find((t) => t.health === 'up');
      if (up === undefined)
        return { pod, status: 'unknown', detail: 'no up target for it (see "Prometheus scrapes the sidecars")' };
      const instance = up.labels.instance ?? '';
      const job = up.labels.job ?? up.scrapePool;
      const selector = `{__name__=~"wasmcustom_hfi_faults_.*",instance="${escapeLabel(instance)}",job="${escapeLabel(job)}"}`;
      const answer = await prom.query(selector);
      if ('error' in answer)
        return { pod, status: 'unknown', detail: `the query failed: ${answer.error}`, unreachable: prom.url };
      const names = [...new Set(answer.series.map((s) => s.__name__ ?? ''))].sort();
      if (names.length > 0) {
        return { pod, status: 'ok', detail: `${answer.series.length} series in Prometheus (${names.join(', ')})` };
      }
      if (f.newFamilies.length === 0) {
        return {
          pod,
          status: 'unknown',
          detail: 'not in Prometheus, and not on the sidecar page either (see "Metrics visible")',
        };
      }
      const rules = await prom.metricRelabelConfigs(job);
      const quoted =
        rules && rules.length > 0 ? `; job ${job} has metric_relabel_configs ${JSON.stringify(rules)}` : '';
      return {
        pod,
        status: 'problem',
        seedProblem: 4,
        fix: fixRelabelDrop(),
        detail: `the sidecar page has ${f.newFamilies.join(', ')} and target ${up.scrapeUrl} is up, but Prometheus keeps no wasmcustom_hfi_faults_* series for ${selector}${quoted}`,
      };
    }),
  );
  return fold(id, title, findings, (n) => `the hfi series of all ${n} sidecars are in Prometheus`);
}
