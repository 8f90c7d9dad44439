// `hfi metrics`: one snapshot of the three hfi metrics per pod, from sidecar admin endpoints, the Kubernetes API's
// pod proxy, or a Prometheus server — the quick look before (or instead of) writing a test.
import { HfiError } from '@hfi/core';
import { type Command, Option } from 'commander';
import { DirectSource } from '../../metrics/direct-source';
import { KubernetesSource } from '../../metrics/kubernetes-source';
import { PrometheusSource } from '../../metrics/prometheus-source';
import { histogramQuantile } from '../../metrics/quantile';
import type { MetricSource } from '../../metrics/source';
import type { PodSample, Snapshot } from '../../metrics/types';
import type { CommandContext } from '../context';
import { type OutputFormat, outputOption, serialize } from '../format/output';
import { renderTable } from '../format/table';
import { EXIT_FAILURE } from '../io';

interface MetricsFlags {
  target?: string[];
  k8s?: string;
  kubeconfig?: string;
  prometheus?: string;
  selector?: string;
  output: OutputFormat;
}

/** One pod's row, also the JSON shape. Absent families are `null` (JSON has no `undefined`). */
export interface PodMetricsRow {
  pod: string;
  aborts: number | null;
  delays: number | null;
  delayCount: number | null;
  delaySumMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  labels?: Record<string, string>;
  error?: string;
  related?: string[];
}

const METRICS_HELP = `
Exactly one source:
  --target URL            a sidecar admin address (http://127.0.0.1:15000) or a full /stats/prometheus URL; repeat
                          for several pods (local sidecars, kubectl port-forward)
  --k8s NS/SELECTOR       every Running pod in NS matching the label selector, read through the API server's pod
                          proxy (:15090/stats/prometheus); SELECTOR may be empty (NS/)
  --prometheus URL        the series a Prometheus server scraped; --selector narrows them with PromQL matchers

P50/P99 are histogram_quantile over the cumulative delay histogram since the proxy started (NaN: no delays yet).
"-" marks a metric absent from the page. Pods that could not be read are listed after the table; the command exits 1
only when no pod could be read.

Examples:
  hfi metrics --target http://127.0.0.1:15000
  hfi metrics --k8s demo/app=frontend -o json
  hfi metrics --prometheus http://prometheus.istio-system:9090 --selector '{namespace="demo"}'
`;

const ABSENT_NOTE =
  'A "-" means the metric is not on the stats page: the plugin is not loaded in that proxy, it is an older build ' +
  "exposing the old hfi.faults.* names (hfi_faults_* in Prometheus), or the proxy's stats matcher drops " +
  'wasmcustom.hfi_faults_* (check stats_config.stats_matcher in /config_dump).';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function quantileOrNull(sample: PodSample, q: number): number | null {
  const h = sample.metrics.delayHistogram;
  return h === undefined ? null : histogramQuantile(q, h.buckets);
}

export function podRow(sample: PodSample): PodMetricsRow {
  const m = sample.metrics;
  const h = m.delayHistogram;
  return {
    pod: sample.pod,
    aborts: m.aborts ?? null,
    delays: m.delays ?? null,
    delayCount: h?.count ?? null,
    delaySumMs: h?.sum ?? null,
    p50Ms: quantileOrNull(sample, 0.5),
    p99Ms: quantileOrNull(sample, 0.99),
    ...(sample.labels ? { labels: sample.labels } : {}),
    ...(sample.error === undefined ? {} : { error: sample.error }),
    ...(m.related && m.related.length > 0 ? { related: m.related } : {}),
  };
}

function cell(value: number | null): string {
  if (value === null) return '-';
  if (Number.isNaN(value)) return 'NaN';
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}

function absent(row: PodMetricsRow): boolean {
  return row.aborts === null || row.delays === null || row.delayCount === null;
}

/** The table, then the pods that failed and the reason for any "-". */
export function metricsTable(rows: readonly PodMetricsRow[]): string {
  const header = ['POD', 'ABORTS', 'DELAYS', 'DELAY COUNT', 'DELAY SUM MS', 'P50 MS', 'P99 MS'];
  const body = rows.map((r) => [
    r.pod,
    ...[r.aborts, r.delays, r.delayCount, r.delaySumMs, r.p50Ms, r.p99Ms].map(cell),
  ]);
  const notes: string[] = [];
  for (const r of rows) if (r.error !== undefined) notes.push(`${r.pod}: not read: ${r.error}`);
  const missing = rows.filter((r) => r.error === undefined && absent(r));
  if (missing.length > 0) {
    notes.push(ABSENT_NOTE);
    for (const r of missing) {
      if (r.related) notes.push(`${r.pod}: related metrics on its page: ${r.related.join(', ')}`);
    }
  }
  return renderTable(header, body) + (notes.length > 0 ? `\n${notes.join('\n')}\n` : '');
}

/** Splits `NS/SELECTOR`; the selector may be empty (every pod) and may itself contain `/` (`app.kubernetes.io/name`). */
function parseK8sTarget(value: string): { namespace: string; labelSelector?: string } | undefined {
  const slash = value.indexOf('/');
  if (slash <= 0) return undefined;
  const selector = value.slice(slash + 1).trim();
  return { namespace: value.slice(0, slash), ...(selector === '' ? {} : { labelSelector: selector }) };
}

function buildSource(command: Command, ctx: CommandContext, flags: MetricsFlags): MetricSource {
  const chosen = [flags.target !== undefined, flags.k8s !== undefined, flags.prometheus !== undefined].filter(
    Boolean,
  ).length;
  if (chosen !== 1) ctx.usageError(command, 'give exactly one of --target, --k8s or --prometheus');
  if (flags.kubeconfig !== undefined && flags.k8s === undefined) {
    ctx.usageError(command, '--kubeconfig goes with --k8s');
  }
  if (flags.selector !== undefined && flags.prometheus === undefined) {
    ctx.usageError(command, '--selector goes with --prometheus');
  }
  try {
    if (flags.target !== undefined) return new DirectSource(flags.target.map((url) => ({ url })));
    if (flags.k8s !== undefined) {
      const target = parseK8sTarget(flags.k8s);
      if (target === undefined) {
        return ctx.usageError(command, `--k8s wants NAMESPACE/LABELSELECTOR, got ${JSON.stringify(flags.k8s)}`);
      }
      return new KubernetesSource({
        ...target,
        ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
      });
    }
    return new PrometheusSource({
      url: flags.prometheus as string,
      ...(flags.selector === undefined ? {} : { selector: flags.selector }),
    });
  } catch (err) {
    // The sources check their arguments in the constructor: a bad URL or selector is a command-line mistake.
    if (err instanceof HfiError && err.code === 'HFI_ERR_CONFIG') return ctx.usageError(command, err.message);
    throw err;
  }
}

export function registerMetricsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('metrics')
    .description('print the hfi fault metrics (aborts, delays, delay histogram) of each pod, from one snapshot')
    .addOption(
      new Option('--target <url>', 'sidecar admin URL or /stats/prometheus URL (repeatable)').argParser(collect),
    )
    .addOption(new Option('--k8s <namespace/selector>', 'pods in a namespace matching a label selector'))
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig for --k8s (default: $KUBECONFIG, ~/.kube/config)'))
    .addOption(new Option('--prometheus <url>', 'a Prometheus server that scrapes the sidecars'))
    .addOption(
      new Option('--selector <matchers>', 'PromQL label matchers for --prometheus, e.g. \'{namespace="demo"}\''),
    )
    .addOption(outputOption())
    .addHelpText('after', METRICS_HELP)
    .action(async (flags: MetricsFlags, command: Command) => {
      const source = buildSource(command, ctx, flags);
      try {
        const snapshot: Snapshot = await source.snapshot();
        const rows = snapshot.pods.map(podRow);
        if (flags.output === 'table') ctx.print(metricsTable(rows));
        else
          ctx.print(serialize(flags.output, { source: source.describe(), takenAtMs: snapshot.takenAtMs, pods: rows }));
        // A source that returns only failed pods (rather than throwing) still means nothing was read.
        if (rows.length === 0 || rows.every((r) => r.error !== undefined)) ctx.exitCode = EXIT_FAILURE;
      } catch (err) {
        ctx.fail(err);
      } finally {
        await source.close?.();
      }
    });
}
