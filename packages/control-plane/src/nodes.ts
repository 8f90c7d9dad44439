import type { NodeStatus } from '@hfi/core';
import type { PolicyStore } from './store/types';

export interface NodesBody {
  revision: number;
  nodes: NodeStatus[];
}

/**
 * `GET /v1/nodes`: every sidecar instance heard from within `retainMs`, with the revision it last said it applied.
 * `stale` marks instances silent for longer than `staleMs`; `connected` instances (holding a watch on this process
 * right now) are in contact however long ago their request started.
 */
export async function nodesBody(
  store: PolicyStore,
  opts: { staleMs: number; retainMs: number; connected?: { has(instance: string): boolean }; nowMs?: number },
): Promise<NodesBody> {
  const nowMs = opts.nowMs ?? Date.now();
  const acks = await store.listAcks(opts.retainMs);
  const nodes = acks.map(({ node, seenAtMs }): NodeStatus => {
    const lastSeenMs = opts.connected?.has(node.instance) ? nowMs : seenAtMs;
    return {
      instance: node.instance,
      workload: node.workload,
      namespace: node.namespace,
      pod: node.pod,
      labels: node.labels ?? {},
      applied_revision: node.applied_revision,
      last_seen: new Date(lastSeenMs).toISOString(),
      stale: nowMs - lastSeenMs > opts.staleMs,
    };
  });
  nodes.sort(
    (a, b) =>
      cmp(a.namespace, b.namespace) || cmp(a.workload, b.workload) || cmp(a.pod, b.pod) || cmp(a.instance, b.instance),
  );
  return { revision: store.currentRevision(), nodes };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
