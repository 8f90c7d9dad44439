// The experiment's report as plain text: every phase's traffic and hypothesis verdicts with the values received,
// every window's injected faults per pod and, for delays, the histogram change with its quantile estimates.
import { ENVOY_DEFAULT_BUCKETS, envoyBucketFor, type FaultDelta, histogramQuantile } from '@hfi/sdk';
import type { ExperimentReport, PhaseReport, Verdict, WindowReport } from './experiment';
import { describeTolerance, type HypothesisResult } from './hypothesis';
import type { TrafficSummary } from './traffic';

export const HISTOGRAM_METRIC = 'wasmcustom_hfi_faults_delay_duration_milliseconds';

const INDENT = '   ';
const LABEL_WIDTH = 12;

function row(label: string, text: string): string {
  return `${INDENT}${label.padEnd(LABEL_WIDTH)}${text}`;
}

function continuation(text: string): string {
  return `${INDENT}${' '.repeat(LABEL_WIDTH)}${text}`;
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value < 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(0)} ms`;
}

export function formatTraffic(t: TrafficSummary): string {
  const other = Object.entries(t.statuses)
    .filter(([status]) => !status.startsWith('2'))
    .map(([status, n]) => `${n}× ${status === '0' ? 'no answer' : status}`);
  return (
    `${t.sent} requests: ${t.ok} ok (${t.degraded} from the fallback), ${t.failed} failed` +
    `${other.length > 0 ? ` [${other.join(', ')}]` : ''} · p50 ${ms(t.p50Ms)} · p99 ${ms(t.p99Ms)} · max ${ms(t.maxMs)}`
  );
}

function formatHypothesis(h: HypothesisResult): string[] {
  const lines = [row('hypothesis', h.ok ? 'HELD' : 'BROKEN')];
  for (const r of h.results) {
    lines.push(continuation(`${r.ok ? '✓' : '✗'} ${r.probe} ${r.received} (expected ${r.expected})`));
  }
  if (h.insufficient) lines.push(continuation(`✗ ${h.insufficient}`));
  return lines;
}

function formatErrors(t: TrafficSummary): string[] {
  return Object.entries(t.errors).map(([error, n]) => row('no answer', `${n}× ${error}`));
}

function formatPhase(p: PhaseReport): string[] {
  return [
    `── ${p.label}`,
    row('traffic', formatTraffic(p.traffic)),
    ...formatErrors(p.traffic),
    ...formatHypothesis(p.hypothesis),
  ];
}

function formatInjected(delta: FaultDelta): string[] {
  const width = Math.max(5, ...delta.perPod.map((p) => p.pod.length));
  const line = (pod: string, aborts: number | string, delays: number | string) =>
    `${pod.padEnd(width)}  ${String(aborts).padStart(6)}  ${String(delays).padStart(6)}`;
  const lines = [row('injected', line('pod', 'aborts', 'delays'))];
  for (const p of delta.perPod) {
    const flags = [p.reset ? 'restarted' : '', p.histogramLagging ? 'histogram not flushed yet' : '']
      .filter(Boolean)
      .join(', ');
    lines.push(continuation(`${line(p.pod, p.aborts, p.delays)}${flags ? `  (${flags})` : ''}`));
  }
  lines.push(continuation(line('total', delta.aborts, delta.delays)));
  return lines;
}

/** The buckets worth showing: the last empty one before the counts start, up to the first that holds them all. */
export function formatHistogram(delta: FaultDelta, delayMs?: number): string[] {
  const h = delta.delayHistogram;
  if (h.count === 0) return [];
  const buckets = h.buckets;
  const first = buckets.findIndex((b) => b.count > 0);
  const full = buckets.findIndex((b) => b.count >= h.count);
  const shown = buckets.slice(Math.max(0, first - 1), full + 1);
  const inf = buckets.at(-1);
  if (inf && !shown.includes(inf)) shown.push(inf);
  const le = (v: number) => (v === Number.POSITIVE_INFINITY ? '+Inf' : String(v));
  const width = Math.max(...shown.map((b) => le(b.le).length)) + 6;
  const lines = [row('histogram', `${HISTOGRAM_METRIC}, change over the window (all pods):`)];
  for (const b of shown) lines.push(continuation(`${`le="${le(b.le)}"`.padEnd(width)}${String(b.count).padStart(6)}`));
  const p50 = histogramQuantile(0.5, buckets);
  const p99 = histogramQuantile(0.99, buckets);
  lines.push(
    continuation(
      `count ${h.count} · sum ${h.sum.toFixed(0)} ms · p50 ${ms(p50)} · p99 ${ms(p99)} (histogram_quantile over the bucket deltas)`,
    ),
  );
  if (delayMs !== undefined) {
    const onBound = ENVOY_DEFAULT_BUCKETS.includes(delayMs)
      ? `, not in le="${delayMs}": Envoy counts a value equal to a bound in the next bucket`
      : '';
    lines.push(
      continuation(
        `a ${delayMs} ms delay lands in le="${le(envoyBucketFor(delayMs))}"${onBound}; p50 and p99 are linear estimates inside that bucket`,
      ),
    );
  }
  return lines;
}

function formatWindow(w: WindowReport, total: number): string[] {
  const lines = [`── window ${w.index}/${total}: ${w.step.title}`];
  if (w.policy) {
    const targets = w.targets.map((t) => `${t.pod} (${t.instances} workers)`).join(', ');
    lines.push(row('policy', `${w.policy}, applied by ${targets || 'no sidecar'}; rolled back after the traffic`));
  }
  if (w.error !== undefined) lines.push(row('error', w.error));
  lines.push(row('traffic', formatTraffic(w.traffic)), ...formatErrors(w.traffic));
  if (!w.delta && w.error === undefined) {
    lines.push(row('injected', 'not measured: the window was closed (interrupt) before its final snapshot'));
  }
  if (w.delta) {
    lines.push(...formatInjected(w.delta));
    lines.push(...formatHistogram(w.delta, w.step.fault.delay?.fixedDelayMs));
    for (const pod of w.delta.missingMetrics) {
      lines.push(row('warning', `${pod}: hfi metrics absent from its stats page (plugin not loaded?)`));
    }
    for (const pod of w.delta.scrapeErrors) lines.push(row('warning', `${pod}: metrics scrape failed`));
    for (const note of w.delta.notes) lines.push(row('note', note));
  }
  if (w.error === undefined) lines.push(...formatHypothesis(w.hypothesis));
  return lines;
}

export function formatHeader(report: Pick<ExperimentReport, 'experiment'>, where: string[]): string[] {
  const { experiment } = report;
  return [
    `══ hfi chaos experiment: ${experiment.title}`,
    row('hypothesis', experiment.hypothesis.title),
    ...experiment.hypothesis.probes.map((p) => continuation(`• ${p.name} ${describeTolerance(p)}`)),
    ...where.map((w, i) => (i === 0 ? row('where', w) : continuation(w))),
  ];
}

const VERDICT_WORD: Record<Verdict, string> = {
  held: 'HELD',
  deviated: 'DEVIATED',
  'not-steady': 'NOT STEADY',
  inconclusive: 'INCONCLUSIVE',
  interrupted: 'INTERRUPTED',
};

/** 0: held; 1: the hypothesis broke (before, during or after); 2: inconclusive; 130: interrupted. */
export function exitCodeFor(verdict: Verdict): number {
  switch (verdict) {
    case 'held':
      return 0;
    case 'deviated':
    case 'not-steady':
      return 1;
    case 'inconclusive':
      return 2;
    case 'interrupted':
      return 130;
  }
}

export function formatReport(report: ExperimentReport, where: string[] = []): string {
  const total = report.experiment.steps.length;
  const blocks: string[][] = [formatHeader(report, where)];
  if (report.before) blocks.push(formatPhase(report.before));
  for (const w of report.windows) blocks.push(formatWindow(w, total));
  if (report.skipped.length > 0) {
    blocks.push([`── skipped`, ...report.skipped.map((s) => row('', s.title))]);
  }
  if (report.after) blocks.push(formatPhase(report.after));
  blocks.push([
    `══ verdict: ${VERDICT_WORD[report.verdict]}: ${report.reason} (${(report.durationMs / 1000).toFixed(1)} s, exit code ${exitCodeFor(report.verdict)})`,
  ]);
  return `${blocks.map((b) => b.join('\n')).join('\n\n')}\n`;
}
