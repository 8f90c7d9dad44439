// The seed's Problem 3: counters lower than before because the proxy restarted — expected, and said so. Evidence:
// a baseline from an earlier run, a second scrape at the end of this run, and (Kubernetes) the pod UID and
// istio-proxy's restart count.
import { parsePodMetrics } from '../../metrics/pod-metrics';
import type { PodMetrics } from '../../metrics/types';
import type { Baseline, BaselineEntry } from '../baseline';
import type { Page } from '../evidence';
import type { SidecarFacts } from '../facts';
import { fixRestart } from '../fixes';
import type { CheckResult } from '../types';
import { type CheckContext, type Finding, fold, noSidecars, podName } from './context';

/** Envoy reports whole seconds; allow for that and for clocks read at slightly different moments. */
const UPTIME_SLACK_S = 3;

function counterDrops(before: BaselineEntry, now: PodMetrics): string[] {
  const drops: string[] = [];
  const pairs: [string, number | undefined, number | undefined][] = [
    ['aborts_total', before.aborts, now.aborts],
    ['delays_total', before.delays, now.delays],
    ['delay histogram _count', before.delayCount, now.delayHistogram?.count],
  ];
  for (const [name, a, b] of pairs) if (a !== undefined && b !== undefined && b < a) drops.push(`${name} ${a} → ${b}`);
  return drops;
}

function restartSigns(f: SidecarFacts, before: BaselineEntry, nowMs: number): string[] {
  const signs: string[] = [];
  const m = f.metrics;
  if (m === undefined) return signs;
  const drops = counterDrops(before, m);
  if (drops.length > 0) signs.push(`counters lower than at ${before.takenAt}: ${drops.join(', ')}`);
  if (before.uptimeSeconds !== undefined && m.uptimeSeconds !== undefined) {
    const elapsed = (nowMs - Date.parse(before.takenAt)) / 1000;
    if (m.uptimeSeconds + UPTIME_SLACK_S < before.uptimeSeconds + elapsed) {
      signs.push(
        `envoy_server_uptime is ${m.uptimeSeconds}s, it was ${before.uptimeSeconds}s ${Math.round(elapsed)}s ago`,
      );
    }
  }
  const k8s = f.evidence.k8s;
  if (k8s && before.uid && before.uid !== k8s.uid) signs.push(`the pod was replaced (UID ${before.uid} → ${k8s.uid})`);
  else if (k8s && before.proxyRestartCount !== undefined && k8s.proxyRestartCount > before.proxyRestartCount) {
    signs.push(`istio-proxy restarted (restartCount ${before.proxyRestartCount} → ${k8s.proxyRestartCount})`);
  }
  return signs;
}

function duringRun(f: SidecarFacts, second: Page | undefined): string[] {
  if (second === undefined || f.metrics === undefined) return [];
  if ('error' in second) return [`it stopped answering during this run (${second.error})`];
  const later = parsePodMetrics(second.text);
  const entry: BaselineEntry = {
    takenAt: new Date(f.evidence.scrapedAtMs).toISOString(),
    ...(f.metrics.aborts !== undefined ? { aborts: f.metrics.aborts } : {}),
    ...(f.metrics.delays !== undefined ? { delays: f.metrics.delays } : {}),
    ...(f.metrics.delayHistogram ? { delayCount: f.metrics.delayHistogram.count } : {}),
  };
  const signs = counterDrops(entry, later).map((d) => `during this run: ${d}`);
  if (
    f.metrics.uptimeSeconds !== undefined &&
    later.uptimeSeconds !== undefined &&
    later.uptimeSeconds < f.metrics.uptimeSeconds
  ) {
    signs.push(`during this run: envoy_server_uptime ${f.metrics.uptimeSeconds}s → ${later.uptimeSeconds}s`);
  }
  return signs;
}

export function checkRestart(
  ctx: CheckContext,
  baseline: Baseline | undefined,
  secondScrape: ReadonlyMap<string, Page>,
  baselineFile: string | undefined,
): CheckResult {
  const id = 'restart';
  const title = 'Counters not reset by a restart';
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  const now = ctx.nowMs();
  const findings = ctx.sidecars.map((f): Finding => {
    const pod = podName(f);
    if (f.metrics === undefined)
      return { pod, status: 'unknown', detail: `its stats could not be read: ${f.promError}` };
    const before = baseline?.sidecars[f.evidence.name];
    const signs = [...(before ? restartSigns(f, before, now) : []), ...duringRun(f, secondScrape.get(f.evidence.name))];
    if (signs.length > 0) {
      return {
        pod,
        status: 'problem',
        seedProblem: 3,
        fix: fixRestart(ctx.fix(f)),
        detail: `the proxy restarted, so its counters started again from 0 (expected): ${signs.join('; ')}`,
      };
    }
    const uptime = f.metrics.uptimeSeconds;
    const k8s = f.evidence.k8s;
    const restarts =
      k8s && k8s.proxyRestartCount > 0
        ? `; istio-proxy has restarted ${k8s.proxyRestartCount} time${k8s.proxyRestartCount === 1 ? '' : 's'}, counters count since ${k8s.proxyStartedAt ?? 'its last start'}`
        : '';
    if (before) {
      return {
        pod,
        status: 'ok',
        detail: `no restart since the baseline of ${before.takenAt}${uptime !== undefined ? ` (up ${uptime}s)` : ''}${restarts}`,
      };
    }
    if (uptime === undefined && !k8s) {
      return { pod, status: 'unknown', detail: 'no envoy_server_uptime on its page and no baseline to compare with' };
    }
    const hint = baselineFile
      ? ` (baseline ${baselineFile} starts with this run)`
      : ' (pass --baseline FILE to compare with a later run)';
    return {
      pod,
      status: 'ok',
      detail: `${uptime !== undefined ? `up ${uptime}s` : 'uptime unknown'}, no restart seen during this run${restarts}${hint}`,
    };
  });
  return fold(id, title, findings, (n) => `no restart seen on any of the ${n} sidecars`);
}
