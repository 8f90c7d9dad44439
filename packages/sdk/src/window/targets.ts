// Which sidecars a window targets, out of `GET /v1/nodes`, and the words for why one is not a target — the
// "why did my fault not fire" question answered before any traffic is sent.
import { HfiError, type NodeStatus, type Selector, selectorMatches } from '@hfi/core';

const isAny = (value: string | undefined) => value === undefined || value === '' || value === '*';

/** `{ service: "frontend", namespace: "demo" }`, with `*` for an open field. */
export function formatSelector(selector: Selector): string {
  const show = (v: string | undefined) => (isAny(v) ? '*' : JSON.stringify(v));
  return `{ service: ${show(selector.service)}, namespace: ${show(selector.namespace)} }`;
}

/** Distinct sidecars: a proxy with several workers reports one instance per worker. */
export function sidecarKey(node: NodeStatus): string {
  return `${node.namespace}/${node.pod || node.instance}`;
}

export function countSidecars(nodes: readonly NodeStatus[]): number {
  return new Set(nodes.map(sidecarKey)).size;
}

function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? 'no labels' : `labels ${entries.map(([k, v]) => `${k}=${v}`).join(',')}`;
}

function ago(lastSeen: string, nowMs: number): string {
  const ms = nowMs - Date.parse(lastSeen);
  if (!Number.isFinite(ms)) return `last seen ${lastSeen}`;
  return `last seen ${(Math.max(0, ms) / 1000).toFixed(1)} s ago`;
}

/** One line per sidecar instance: where it is, who it says it is, what it has applied. */
export function describeNode(node: NodeStatus, nowMs = Date.now()): string {
  const where = `${node.namespace || '(no namespace)'}/${node.pod || '(no pod)'}`;
  const parts = [
    `workload ${node.workload ? JSON.stringify(node.workload) : '(none)'}`,
    `instance ${node.instance}`,
    formatLabels(node.labels),
    `applied revision ${node.applied_revision}`,
    ago(node.last_seen, nowMs),
  ];
  if (node.stale) parts.push('STALE');
  return `${where} (${parts.join(', ')})`;
}

/** Why the selector does not take this sidecar; empty when it does. */
export function mismatchReasons(selector: Selector, node: NodeStatus): string[] {
  if (selectorMatches(selector, node)) return node.stale ? ['stale: not heard from recently, so not a target'] : [];
  const reasons: string[] = [];
  const { service, namespace } = selector;
  const labels = node.labels ?? {};
  const app = labels.app;
  const appName = labels['app.kubernetes.io/name'];
  if (!isAny(service) && service !== node.workload && service !== app && service !== appName) {
    const labelText =
      app === undefined && appName === undefined
        ? 'it has no app label'
        : `its app label is ${[app, appName]
            .filter((v) => v !== undefined)
            .map((v) => JSON.stringify(v))
            .join(' / ')}`;
    reasons.push(
      `service ${JSON.stringify(service)} is not its workload (${JSON.stringify(node.workload)}) and ${labelText}`,
    );
  }
  if (!isAny(namespace) && namespace !== node.namespace) {
    reasons.push(`namespace is ${JSON.stringify(node.namespace)}, not ${JSON.stringify(namespace)}`);
  }
  if (reasons.length === 0) reasons.push('the selector does not match its identity');
  if (node.stale) reasons.push('stale');
  return reasons;
}

/** Live sidecar instances the selector matches. */
export function matchingTargets(selector: Selector, nodes: readonly NodeStatus[]): NodeStatus[] {
  return nodes.filter((n) => !n.stale && selectorMatches(selector, n));
}

export interface NoTargetsContext {
  selector: Selector;
  nodes: readonly NodeStatus[];
  controlPlane: string;
  /** Set when the caller asked for a number of sidecars. */
  expected?: number;
  waitedMs?: number;
}

/** HFI_ERR_NO_TARGETS, with every sidecar seen and why it is not a target, in one message. */
export function noTargetsError(ctx: NoTargetsContext): HfiError {
  const nowMs = Date.now();
  const matched = matchingTargets(ctx.selector, ctx.nodes);
  const found = countSidecars(matched);
  const sel = formatSelector(ctx.selector);
  const head =
    ctx.expected === undefined
      ? `no live sidecar matches selector ${sel}`
      : `expected ${ctx.expected} sidecar${ctx.expected === 1 ? '' : 's'} matching selector ${sel}, found ${found}` +
        ` within ${ctx.waitedMs ?? 0} ms`;
  let body: string;
  if (ctx.nodes.length === 0) {
    body =
      `: no sidecar has polled the control plane at ${ctx.controlPlane} (GET /v1/nodes is empty). ` +
      "Check that the sidecars run and that the filter's control-plane address points there.";
  } else {
    const lines = ctx.nodes.map((n) => {
      const reasons = mismatchReasons(ctx.selector, n);
      return `  - ${describeNode(n, nowMs)}: ${reasons.length === 0 ? 'matches' : reasons.join('; ')}`;
    });
    body = `; the control plane at ${ctx.controlPlane} knows ${ctx.nodes.length} sidecar instance${
      ctx.nodes.length === 1 ? '' : 's'
    }:\n${lines.join('\n')}`;
  }
  return new HfiError('HFI_ERR_NO_TARGETS', head + body, {
    details: {
      selector: ctx.selector,
      controlPlane: ctx.controlPlane,
      found,
      ...(ctx.expected === undefined ? {} : { expected: ctx.expected }),
      nodes: ctx.nodes.map((n) => ({ ...n, reasons: mismatchReasons(ctx.selector, n) })),
    },
  });
}
