// A fake sidecar for window tests: a plain HTTP watch loop that reports an identity to a real control plane, as
// the filter does, without proxying anything. `acks: false` makes one that receives policies but never applies
// them (it keeps reporting the revision it started with).
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeIdentity } from '@hfi/core';
import { ControlPlaneClient } from '../../client/control-plane-client';

export interface FakeSidecar {
  readonly identity: NodeIdentity;
  /** The revision it has applied (and reports on its next request). */
  readonly applied: number;
  /** Resolves once the control plane has heard from it at least once. */
  readonly firstContact: Promise<void>;
  stop(): Promise<void>;
}

export interface FakeSidecarOptions extends Partial<NodeIdentity> {
  workload: string;
  namespace: string;
  acks?: boolean;
  /** Stop after the first request, leaving a record behind (a sidecar that died). */
  once?: boolean;
}

let counter = 0;

export function startFakeSidecar(controlPlane: string, options: FakeSidecarOptions): FakeSidecar {
  counter += 1;
  const pod = options.pod ?? `${options.workload}-fake-${counter}`;
  const identity: NodeIdentity = {
    instance: options.instance ?? `${pod}-i${counter}`,
    workload: options.workload,
    namespace: options.namespace,
    pod,
    ...(options.labels ? { labels: options.labels } : {}),
  };
  const client = new ControlPlaneClient({ url: controlPlane, timeoutMs: 20_000 });
  const controller = new AbortController();
  let applied = 0;
  // Seen by the control plane: its instance is listed by GET /v1/nodes.
  const firstContact = (async () => {
    for (;;) {
      const { nodes } = await client.nodes();
      if (nodes.some((n) => n.instance === identity.instance)) return;
      await sleep(20);
    }
  })();
  firstContact.catch(() => undefined);

  const loop = (async () => {
    while (!controller.signal.aborted) {
      try {
        // The request is the ack: it carries the revision applied so far.
        const pending = client.watchPolicies({
          revision: applied,
          timeoutMs: options.acks === false || options.once ? 1 : 2_000,
          identity,
          signal: controller.signal,
        });
        const result = await pending;
        if (options.once) return;
        if (options.acks === false) await sleep(50, undefined, { signal: controller.signal });
        else applied = result.revision;
      } catch {
        if (controller.signal.aborted) return;
        await sleep(50).catch(() => undefined);
      }
    }
  })();

  return {
    identity,
    get applied() {
      return applied;
    },
    firstContact,
    async stop() {
      controller.abort(new Error('fake sidecar stopped'));
      await loop;
      await client.close();
      await firstContact.catch(() => undefined);
    },
  };
}
