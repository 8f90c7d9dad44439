// Global setup returns only once every local sidecar is connected to the control plane with all its workers and has
// applied the store's current revision, so the first fault window of the first test is acked in one round trip.
import { setTimeout as sleep } from 'node:timers/promises';
import { HfiError, type NodeStatus } from '@hfi/core';
import type { NodeList } from '@hfi/sdk';

export interface ExpectedSidecar {
  name: string;
  namespace: string;
  pod: string;
  /** Plugin VMs: each reports as its own instance. */
  workers: number;
}

export interface SidecarWait {
  nodes(): Promise<NodeList>;
  sidecars: readonly ExpectedSidecar[];
  timeoutMs: number;
  /** Named in the timeout message. */
  logDir?: string;
  pollMs?: number;
}

function pending(
  list: NodeList,
  sidecars: readonly ExpectedSidecar[],
): { sidecar: ExpectedSidecar; seen: NodeStatus[] }[] {
  return sidecars
    .map((sidecar) => ({
      sidecar,
      seen: list.nodes.filter((n) => !n.stale && n.namespace === sidecar.namespace && n.pod === sidecar.pod),
    }))
    .filter(({ sidecar, seen }) => seen.filter((n) => n.applied_revision >= list.revision).length < sidecar.workers);
}

export async function waitForSidecars(wait: SidecarWait): Promise<NodeList> {
  const started = Date.now();
  let last: NodeList = { nodes: [], revision: 0 };
  for (;;) {
    last = await wait.nodes();
    const waiting = pending(last, wait.sidecars);
    if (waiting.length === 0) return last;
    if (Date.now() - started >= wait.timeoutMs) {
      const lines = waiting.map(({ sidecar, seen }) => {
        const acked = seen.filter((n) => n.applied_revision >= last.revision).length;
        return `${sidecar.name} (${sidecar.namespace}/${sidecar.pod}): ${seen.length} of ${sidecar.workers} plugin workers connected, ${acked} applied revision ${last.revision}`;
      });
      throw new HfiError(
        'HFI_ERR_TIMEOUT',
        `the local sidecars did not connect to the control plane within ${wait.timeoutMs} ms:\n  ${lines.join('\n  ')}${
          wait.logDir ? `\nTheir logs are in ${wait.logDir}` : ''
        }`,
        {
          details: { waitedMs: Date.now() - started, pending: waiting.map((w) => w.sidecar.name), logDir: wait.logDir },
        },
      );
    }
    await sleep(wait.pollMs ?? 25);
  }
}
