// `diagnose()`: the seed's troubleshooting guide, run in its order against local sidecars or a cluster. Reading
// never throws for an unreachable endpoint (that becomes a check that could not run); only bad options and a bad
// baseline file throw.
import { HfiError } from '@hfi/core';
import { ControlPlaneClient } from '../client/control-plane-client';
import type { NodeList } from '../client/types';
import { type Baseline, readBaseline, writeBaseline } from './baseline';
import type { CheckContext, ControlPlaneView } from './checks/context';
import { checkMetricNames, checkMetricsVisible, checkPluginLoaded } from './checks/plugin';
import {
  checkPolicyAcked,
  checkPolicyApplied,
  checkPolicyMatch,
  checkPolicySelector,
  checkTraffic,
} from './checks/policies';
import { checkPrometheusMetrics, checkPrometheusTargets, readPrometheus } from './checks/prometheus';
import { checkRestart } from './checks/restart';
import { collectKubernetes, type KubernetesFacts } from './collect-kubernetes';
import { collectLocal, localTargets } from './collect-local';
import type { Page, SidecarEvidence } from './evidence';
import { buildFacts, type SidecarFacts } from './facts';
import type { FixContext } from './fixes';
import { bodyOf, getText } from './http';
import { KubeApi } from './kube-api';
import type { CheckResult, DiagnoseOptions, DiagnosisReport, SidecarSummary } from './types';

export const DEFAULT_DOCTOR_TIMEOUT_MS = 5000;
export const DEFAULT_ACK_WAIT_MS = 3000;
/** The seed's defaults. */
export const DEFAULT_K8S_NAMESPACE = 'demo';
export const DEFAULT_K8S_SELECTOR = 'app=frontend';
const SEED_CONTROL_PLANE = 'http://hfi-control-plane.boifi.svc.cluster.local:8080';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type OpenControlPlane = ControlPlaneView & { close(): Promise<void> };

async function readControlPlane(url: string, token: string | undefined, timeoutMs: number): Promise<OpenControlPlane> {
  const client = new ControlPlaneClient({ url, timeoutMs, ...(token ? { token } : {}) });
  const nodes = (): Promise<NodeList | { error: string }> => client.nodes().catch((err) => ({ error: messageOf(err) }));
  const [policies, first] = await Promise.all([
    client.listPolicies().catch((err: unknown) => ({ error: messageOf(err) })),
    nodes(),
  ]);
  return { url: client.url, policies, nodes: first, refreshNodes: nodes, close: () => client.close() };
}

interface Collection {
  sidecars: SidecarEvidence[];
  error?: string;
  k8s?: KubernetesFacts;
  rescrape(e: SidecarEvidence): Promise<Page>;
  close(): void;
}

async function collect(options: DiagnoseOptions, timeoutMs: number): Promise<Collection> {
  if (options.mode === 'local') {
    const targets = localTargets(options.sidecars);
    const sidecars = await collectLocal(targets, timeoutMs);
    return {
      sidecars,
      rescrape: async (e) => bodyOf(await getText(e.statsUrl, { timeoutMs }), e.statsUrl),
      close: () => undefined,
    };
  }
  const api = await KubeApi.connect({
    ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
    ...(options.context !== undefined ? { context: options.context } : {}),
    timeoutMs,
  });
  const namespace = options.namespace ?? api.defaultNamespace ?? DEFAULT_K8S_NAMESPACE;
  const collected = await collectKubernetes(
    api,
    namespace,
    options.selector ?? DEFAULT_K8S_SELECTOR,
    options.logTailLines ?? 500,
  );
  return {
    sidecars: collected.sidecars,
    ...(collected.error ? { error: collected.error } : {}),
    k8s: collected.facts,
    rescrape: async (e) => {
      const path = e.statsUrl.slice(api.server.length);
      const page = await api.getText(path);
      return 'text' in page ? page : { error: page.error };
    },
    close: () => api.close(),
  };
}

function checkOptions(options: DiagnoseOptions): void {
  if (options.mode !== 'local' && options.mode !== 'k8s') {
    throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', 'mode must be "local" or "k8s"', { field: 'mode' });
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
    throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', 'timeoutMs must be a positive number of milliseconds', {
      field: 'timeoutMs',
    });
  }
}

function summarize(s: SidecarFacts): SidecarSummary {
  const { workload, namespace, pod, labels } = s.identity;
  return {
    name: s.evidence.name,
    statsUrl: s.evidence.statsUrl,
    ...(workload ? { workload } : {}),
    ...(namespace ? { namespace } : {}),
    ...(pod ? { pod } : {}),
    ...(labels ? { labels } : {}),
    ...(s.promError ? { error: s.promError } : {}),
  };
}

export function exitCodeOf(checks: readonly CheckResult[]): 0 | 1 | 2 {
  if (checks.some((c) => c.status === 'problem')) return 1;
  if (checks.some((c) => (c.unreachable?.length ?? 0) > 0)) return 2;
  return 0;
}

/** Runs the seed's checks in its order and reports each; see DiagnosisReport.exitCode for the verdict. */
export async function diagnose(options: DiagnoseOptions): Promise<DiagnosisReport> {
  checkOptions(options);
  const startedAt = new Date();
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  const baseline: Baseline | undefined = options.baselineFile ? await readBaseline(options.baselineFile) : undefined;

  const controlPlanePromise =
    options.controlPlane === undefined ? undefined : readControlPlane(options.controlPlane, options.token, timeoutMs);
  let collection: Collection;
  try {
    collection = await collect(options, timeoutMs);
  } catch (err) {
    await controlPlanePromise?.then((cp) => cp.close());
    throw err;
  }
  const controlPlane = await controlPlanePromise;
  try {
    const nodes = controlPlane !== undefined && !('error' in controlPlane.nodes) ? controlPlane.nodes.nodes : [];
    const sidecars = collection.sidecars.map((e) => buildFacts(e, nodes));
    const k8sOptions = options.mode === 'k8s' ? options : undefined;
    const ctx: CheckContext = {
      mode: options.mode,
      sidecars,
      ...(collection.error ? { collectError: collection.error } : {}),
      ...(collection.k8s ? { k8s: collection.k8s } : {}),
      ...(controlPlane ? { controlPlane } : {}),
      ...(options.request ? { request: options.request } : {}),
      nowMs: () => Date.now(),
      fix: (s): FixContext => {
        const labels = s?.evidence.identity.labels ?? sidecars[0]?.evidence.identity.labels;
        return {
          mode: options.mode,
          namespace:
            collection.k8s?.namespace ??
            s?.identity.namespace ??
            sidecars[0]?.identity.namespace ??
            DEFAULT_K8S_NAMESPACE,
          selector: k8sOptions?.selector ?? (labels?.app ? `app=${labels.app}` : DEFAULT_K8S_SELECTOR),
          pod: s?.identity.pod ?? '$POD',
          controlPlane: controlPlane?.url ?? (options.mode === 'k8s' ? SEED_CONTROL_PLANE : '<control plane URL>'),
        };
      },
    };

    const checks: CheckResult[] = [
      checkPluginLoaded(ctx),
      checkMetricsVisible(ctx),
      checkMetricNames(ctx),
      checkPolicyApplied(ctx),
      checkPolicySelector(ctx),
      await checkPolicyAcked(ctx, options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
      checkTraffic(ctx),
      checkPolicyMatch(ctx, options.request),
    ];
    const promChecks: CheckResult[] = [];
    if (options.prometheus !== undefined) {
      const prom = await readPrometheus(options.prometheus, timeoutMs);
      promChecks.push(checkPrometheusTargets(ctx, prom), await checkPrometheusMetrics(ctx, prom));
    }
    // The second scrape comes last, so a restart during the run has the longest window to show.
    const second = new Map<string, Page>();
    await Promise.all(
      sidecars
        .filter((s) => s.metrics !== undefined)
        .map(async (s) => second.set(s.evidence.name, await collection.rescrape(s.evidence))),
    );
    checks.push(checkRestart(ctx, baseline, second, options.baselineFile), ...promChecks);
    if (options.baselineFile !== undefined) await writeBaseline(options.baselineFile, baseline, sidecars, new Date());

    const count = (status: CheckResult['status']) => checks.filter((c) => c.status === status).length;
    return {
      mode: options.mode,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      ...(controlPlane ? { controlPlane: controlPlane.url } : {}),
      ...(options.prometheus ? { prometheus: options.prometheus } : {}),
      sidecars: sidecars.map(summarize),
      checks,
      summary: { ok: count('ok'), problems: count('problem'), unknown: count('unknown') },
      exitCode: exitCodeOf(checks),
    };
  } finally {
    collection.close();
    await controlPlane?.close();
  }
}
