// Plain-text tables for failure messages: what each pod's sidecar reported, and which sidecars applied a revision.
import type { NodeStatus, Selector } from '@hfi/core';
import { selectorMatches } from '@hfi/core';
import { type FaultDelta, mismatchReasons, type PodDelta } from '@hfi/sdk';

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Number(n.toFixed(3)).toString();
}

/** Columns padded to their widest cell; `right` columns (numbers) are right-aligned. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number>,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `  ${cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd()}`;
  return [line(header), ...rows.map(line)].join('\n');
}

export function podFlags(pod: PodDelta, delta: FaultDelta): string[] {
  const flags: string[] = [];
  if (delta.missingMetrics.includes(pod.pod)) flags.push('metrics absent');
  if (delta.scrapeErrors.includes(pod.pod)) flags.push('scrape failed');
  if (pod.reset) flags.push('reset');
  if (pod.appeared) flags.push('appeared');
  if (pod.vanished) flags.push('vanished');
  if (pod.histogramLagging) flags.push('histogram lagging');
  return flags;
}

/** One row per pod: aborts, delays, the delay histogram's count and sum, and the pod's flags. */
export function faultTable(delta: FaultDelta): string {
  if (delta.perPod.length === 0) return '  (no pod in either snapshot: the metric source found no sidecar)';
  const header = ['pod', 'aborts', 'delays', 'histogram count', 'histogram sum (ms)', 'flags'];
  const rows = delta.perPod.map((p) => [
    p.pod,
    formatNumber(p.aborts),
    formatNumber(p.delays),
    formatNumber(p.delayHistogram.count),
    formatNumber(p.delayHistogram.sum),
    podFlags(p, delta).join(', '),
  ]);
  if (delta.perPod.length > 1) {
    rows.push([
      'total',
      formatNumber(delta.aborts),
      formatNumber(delta.delays),
      formatNumber(delta.delayHistogram.count),
      formatNumber(delta.delayHistogram.sum),
      '',
    ]);
  }
  return renderTable(header, rows, new Set([1, 2, 3, 4]));
}

export type NodeState = 'applied' | 'behind' | 'stale' | 'not selected';

export function nodeState(node: NodeStatus, selector: Selector, revision: number): NodeState {
  if (!selectorMatches(selector, node)) return 'not selected';
  if (node.stale) return 'stale';
  return node.applied_revision >= revision ? 'applied' : 'behind';
}

/** One row per sidecar instance the control plane knows, with whether it applied `revision`. */
export function nodeTable(nodes: readonly NodeStatus[], selector: Selector, revision: number): string {
  if (nodes.length === 0) return '  (the control plane knows no sidecar: none has polled it)';
  const header = ['pod', 'instance', 'workload', 'namespace', 'applied revision', 'state'];
  const rows = nodes.map((n) => {
    const state = nodeState(n, selector, revision);
    const why = state === 'not selected' ? ` (${mismatchReasons(selector, n).join('; ')})` : '';
    return [n.pod || '(none)', n.instance, n.workload, n.namespace, String(n.applied_revision), `${state}${why}`];
  });
  return renderTable(header, rows, new Set([4]));
}
