// The seed's Problem 1 (metrics not visible) and Problem 5 (old names): is the plugin loaded, are its metrics on
// the stats page, and under which names.

import { type IstioResource, resourceLabels, targetsPod } from '../collect-kubernetes';
import { HFI_NEW_FAMILIES } from '../evidence';
import { ENVOY_BUCKET_LINES, hfiLogLines, hfiMetricsPresent, type SidecarFacts } from '../facts';
import {
  fixOldNames,
  fixPluginNotAccessible,
  fixPluginNotLoaded,
  fixRestartAfterEnvoyFilter,
  fixStatsMatcher,
} from '../fixes';
import { asRecord } from '../http';
import type { CheckResult } from '../types';
import { type CheckContext, type Finding, fold, noSidecars, podName } from './context';

const labelsText = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || 'no labels';

function wasmPluginsFor(
  ctx: CheckContext,
  f: SidecarFacts,
): { targeting: IstioResource[]; all: IstioResource[] } | undefined {
  const list = ctx.k8s?.wasmPlugins;
  if (list === undefined || 'error' in list) return undefined;
  const namespace = f.identity.namespace ?? '';
  const labels = f.evidence.identity.labels ?? {};
  return { all: list.items, targeting: list.items.filter((w) => targetsPod(w, namespace, labels)) };
}

function pluginFinding(ctx: CheckContext, f: SidecarFacts): Finding {
  const pod = podName(f);
  const fix = ctx.fix(f);
  const positive: string[] = [];
  if (hfiMetricsPresent(f)) positive.push('its stats show the plugin metrics');
  if (hfiLogLines(f))
    positive.push(
      `its log shows ${f.logs?.definedMetrics.length ? '"Defined metric: …" lines' : 'the plugin starting'}`,
    );
  if (f.nodes.length > 0)
    positive.push(`it polls the control plane (${f.nodes.length} worker VM${f.nodes.length === 1 ? '' : 's'})`);
  if (positive.length > 0) return { pod, status: 'ok', detail: `hfi plugin loaded: ${positive.join('; ')}` };

  // Kubernetes: is there a WasmPlugin for this pod, and does its module answer?
  const plugins = wasmPluginsFor(ctx, f);
  if (plugins !== undefined && plugins.targeting.length === 0) {
    const known = plugins.all.map((w) => `${w.namespace}/${w.name} (selector ${labelsText(resourceLabels(w))})`);
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixPluginNotLoaded(fix),
      detail:
        `no WasmPlugin targets this pod (labels ${labelsText(f.evidence.identity.labels)})` +
        (known.length > 0
          ? `; WasmPlugins seen: ${known.join(', ')}`
          : '; no WasmPlugin in its namespace or istio-system'),
    };
  }
  if (plugins !== undefined) {
    const urls = plugins.targeting.map((w) => (typeof w.spec.url === 'string' ? w.spec.url : ''));
    const failed = ctx.k8s?.pluginFetches.find((p) => urls.includes(p.url) && p.ok === false);
    if (failed) {
      return {
        pod,
        status: 'problem',
        seedProblem: 1,
        fix: fixPluginNotAccessible(fix, failed.url),
        detail: `the WasmPlugin targets this pod but its module is not accessible: ${failed.detail}`,
      };
    }
  }
  if (f.logs && f.logs.loadFailures.length > 0) {
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixPluginNotAccessible(fix, plugins?.targeting[0]?.spec.url?.toString() ?? '<plugin url>'),
      detail: `its log says the Wasm module failed to load: ${f.logs.loadFailures[0]}`,
    };
  }

  const module = f.wasmFilters[0]?.module;
  const otherModule = module ? ` (the Wasm filter it runs is ${module})` : '';
  if (f.logs) {
    if (!f.logs.vmCreated && !f.logs.filterCreated) {
      return {
        pod,
        status: 'problem',
        seedProblem: 1,
        fix: fixPluginNotLoaded(fix),
        detail: `no wasm lines in its log (${f.evidence.logs && 'source' in f.evidence.logs ? f.evidence.logs.source : 'log'}): the plugin is not loaded`,
      };
    }
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixPluginNotLoaded(fix),
      detail: `a Wasm VM runs but it is not hfi's: no "Defined metric: wasmcustom.hfi_faults_…" line in its log${otherModule}`,
    };
  }
  const matcherKeeps = f.matcher.known && f.matcher.keeping !== undefined;
  if (f.wasmcustomStats !== undefined && f.wasmcustomStats.length === 0 && matcherKeeps) {
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixPluginNotLoaded(fix),
      detail: `no plugin metric (wasmcustom.*) on its /stats although its stats matcher keeps them: the hfi plugin is not loaded${otherModule}`,
    };
  }
  if (f.promError !== undefined) {
    return { pod, status: 'unknown', detail: `its stats could not be read: ${f.promError}`, unreachable: f.promError };
  }
  if (matcherKeeps) {
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixPluginNotLoaded(fix),
      detail: `no hfi metric on its stats page although its stats matcher keeps them: the hfi plugin is not loaded${otherModule}`,
    };
  }
  return {
    pod,
    status: 'unknown',
    detail:
      'no hfi metric shows, but the stats matcher may hide them and no log was read to tell' +
      (ctx.mode === 'local' ? ' (pass --log FILE with the sidecar log)' : ''),
  };
}

export function checkPluginLoaded(ctx: CheckContext): CheckResult {
  const id = 'plugin-loaded';
  const title = 'Plugin loaded';
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  return fold(
    id,
    title,
    ctx.sidecars.map((f) => pluginFinding(ctx, f)),
    (n) => `the hfi plugin runs in all ${n} sidecars`,
  );
}

/** EnvoyFilters patching the bootstrap stats matcher for this pod, changed after its proxy started. */
function envoyFilterAfterStart(ctx: CheckContext, f: SidecarFacts): IstioResource | undefined {
  const list = ctx.k8s?.envoyFilters;
  const started = f.evidence.k8s?.proxyStartedAt;
  if (list === undefined || 'error' in list || started === undefined) return undefined;
  return list.items.find((ef) => {
    const patches = Array.isArray(ef.spec.configPatches) ? ef.spec.configPatches : [];
    const bootstrapStats = patches.some(
      (p) => asRecord(p)?.applyTo === 'BOOTSTRAP' && JSON.stringify(p).includes('stats_matcher'),
    );
    return (
      bootstrapStats &&
      targetsPod(ef, f.identity.namespace ?? '', f.evidence.identity.labels ?? {}) &&
      ef.changedAt !== undefined &&
      Date.parse(ef.changedAt) > Date.parse(started)
    );
  });
}

function visibleFinding(ctx: CheckContext, f: SidecarFacts): Finding {
  const pod = podName(f);
  const fix = ctx.fix(f);
  if (f.promError !== undefined) {
    return {
      pod,
      status: 'unknown',
      detail: `/stats/prometheus could not be read: ${f.promError}`,
      unreachable: f.promError,
    };
  }
  if (f.newFamilies.length === HFI_NEW_FAMILIES.length) {
    const h = f.histogram;
    if (h === undefined || !h.hasInf || !h.hasSum || !h.hasCount) {
      const missing = [
        h?.hasInf ? '' : 'le="+Inf" bucket',
        h?.hasSum ? '' : '_sum',
        h?.hasCount ? '' : '_count',
      ].filter((s) => s !== '');
      return {
        pod,
        status: 'problem',
        seedProblem: 1,
        detail: `the delay histogram is incomplete: no ${missing.join(', ')}`,
      };
    }
    const m = f.metrics;
    const buckets =
      h.bucketLines === ENVOY_BUCKET_LINES
        ? `${h.bucketLines} buckets`
        : `${h.bucketLines} buckets (Envoy's default is ${ENVOY_BUCKET_LINES}: custom statsHistogramBuckets?)`;
    return {
      pod,
      status: 'ok',
      detail: `wasmcustom_hfi_faults_* visible: aborts ${m?.aborts}, delays ${m?.delays}, delay histogram with ${buckets}, _sum and _count`,
    };
  }
  const absent = HFI_NEW_FAMILIES.filter((n) => !f.newFamilies.includes(n));
  const head = `${absent.join(', ')} absent from ${f.evidence.statsUrl}`;
  if (f.matcher.known && f.matcher.keeping === undefined) {
    const wasm = f.matcher.wasmPrefixes.length > 0 ? f.matcher.wasmPrefixes.join(', ') : 'none';
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixStatsMatcher(fix),
      detail:
        `${head}: the bootstrap stats matcher keeps none of them (${f.matcher.patterns.length} inclusion patterns; ` +
        `prefixes with "wasm": ${wasm})`,
    };
  }
  const lateFilter = envoyFilterAfterStart(ctx, f);
  if (lateFilter !== undefined) {
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixRestartAfterEnvoyFilter(fix),
      detail:
        `${head}: EnvoyFilter ${lateFilter.namespace}/${lateFilter.name} changed at ${lateFilter.changedAt}, after ` +
        `istio-proxy started at ${f.evidence.k8s?.proxyStartedAt}: the pod was not restarted since`,
    };
  }
  if (f.oldFamilies.length > 0 || f.oldStats.length > 0) {
    return {
      pod,
      status: 'problem',
      seedProblem: 5,
      fix: fixOldNames(fix),
      detail: `${head}: the plugin exports the old names instead (${[...f.oldFamilies, ...f.oldStats].slice(0, 3).join(', ')})`,
    };
  }
  if (!hfiMetricsPresent(f) && !hfiLogLines(f) && f.nodes.length === 0) {
    return {
      pod,
      status: 'problem',
      seedProblem: 1,
      fix: fixPluginNotLoaded(fix),
      detail: `${head}: the hfi plugin is not loaded (see "Plugin loaded")`,
    };
  }
  const matcher = f.matcher.known
    ? 'its stats matcher keeps them'
    : `its stats matcher could not be read (${f.matcher.reason})`;
  return {
    pod,
    status: 'problem',
    seedProblem: 1,
    fix: fixStatsMatcher(fix),
    detail: `${head}; the plugin runs and ${matcher}`,
  };
}

export function checkMetricsVisible(ctx: CheckContext): CheckResult {
  const id = 'metrics-visible';
  const title = 'Metrics visible';
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  return fold(
    id,
    title,
    ctx.sidecars.map((f) => visibleFinding(ctx, f)),
    (n) => `the three wasmcustom_hfi_faults_* families are visible on all ${n} sidecars`,
  );
}

function namesFinding(ctx: CheckContext, f: SidecarFacts): Finding {
  const pod = podName(f);
  const oldDefined = f.logs?.definedMetrics.filter((n) => n.startsWith('hfi.faults')) ?? [];
  const old = [...f.oldFamilies, ...f.oldStats, ...oldDefined];
  if (old.length > 0) {
    return {
      pod,
      status: 'problem',
      seedProblem: 5,
      fix: fixOldNames(ctx.fix(f)),
      detail: `old metric names (an old plugin version): ${[...new Set(old)].slice(0, 4).join(', ')}`,
    };
  }
  if (f.promError !== undefined) {
    return {
      pod,
      status: 'unknown',
      detail: `/stats/prometheus could not be read: ${f.promError}`,
      unreachable: f.promError,
    };
  }
  return {
    pod,
    status: 'ok',
    detail:
      f.newFamilies.length > 0
        ? 'current names (wasmcustom_hfi_faults_*), no old hfi.faults.* names'
        : 'no old hfi.faults.* names',
  };
}

export function checkMetricNames(ctx: CheckContext): CheckResult {
  const id = 'metric-names';
  const title = 'Metric names';
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  return fold(
    id,
    title,
    ctx.sidecars.map((f) => namesFinding(ctx, f)),
    (n) => `no old hfi.faults.* names on any of the ${n} sidecars`,
  );
}
