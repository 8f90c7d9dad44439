// Waiting on the sidecars, by watching `GET /v1/nodes`: for targets to appear, and for every target to report
// the revision of a write (a sidecar acks by carrying its applied revision on its next watch request). Each wait
// ends as soon as the condition holds; it polls, it never sleeps "long enough".
import { setTimeout as sleep } from 'node:timers/promises';
import { HfiError, type NodeStatus, type Selector } from '@hfi/core';
import type { NodeList } from '../client/types';
import { countSidecars, describeNode, formatSelector, matchingTargets, noTargetsError } from './targets';

/** What the waits need from a control-plane client. */
export interface NodesReader {
  readonly url: string;
  nodes(): Promise<NodeList>;
}

/** Between two reads of /v1/nodes. */
export const ACK_POLL_MS = 20;
/**
 * An instance that has not acked, was last seen before the write, and whose pod has another instance that did ack
 * is a previous incarnation (a restarted sidecar) once this long has passed since the write: long enough for a
 * live worker held on another control-plane replica to be answered and ack.
 */
export const SUPERSEDE_GRACE_MS = 2_000;

export interface TargetWait {
  selector: Selector;
  /** Resolve once this many sidecars match; without it, fail at once when none does. */
  expected?: number;
  timeoutMs: number;
}

/** The live sidecar instances the selector matches; HFI_ERR_NO_TARGETS when there are none (or too few). */
export async function waitForTargets(reader: NodesReader, wait: TargetWait): Promise<NodeStatus[]> {
  const started = Date.now();
  for (;;) {
    const { nodes } = await reader.nodes();
    const targets = matchingTargets(wait.selector, nodes);
    const enough = wait.expected === undefined ? targets.length > 0 : countSidecars(targets) >= wait.expected;
    if (enough) return targets;
    const waitedMs = Date.now() - started;
    if (wait.expected === undefined || waitedMs >= wait.timeoutMs) {
      throw noTargetsError({
        selector: wait.selector,
        nodes,
        controlPlane: reader.url,
        ...(wait.expected === undefined ? {} : { expected: wait.expected, waitedMs }),
      });
    }
    await sleep(ACK_POLL_MS);
  }
}

export interface AckState {
  acked: NodeStatus[];
  pending: NodeStatus[];
  /** Earlier incarnations of a pod whose current instance acked; not waited for. */
  superseded: NodeStatus[];
}

/** Sorts the selector's live instances by whether they have applied `revision`. */
export function ackState(
  nodes: readonly NodeStatus[],
  selector: Selector,
  revision: number,
  opts: { writtenAtMs?: number; supersede?: boolean } = {},
): AckState {
  const targets = matchingTargets(selector, nodes);
  const acked = targets.filter((n) => n.applied_revision >= revision);
  const ackedPods = new Set(acked.filter((n) => n.pod !== '').map((n) => `${n.namespace}/${n.pod}`));
  const pending: NodeStatus[] = [];
  const superseded: NodeStatus[] = [];
  for (const n of targets) {
    if (n.applied_revision >= revision) continue;
    const ghost =
      opts.supersede === true &&
      opts.writtenAtMs !== undefined &&
      n.pod !== '' &&
      ackedPods.has(`${n.namespace}/${n.pod}`) &&
      Date.parse(n.last_seen) < opts.writtenAtMs;
    (ghost ? superseded : pending).push(n);
  }
  return { acked, pending, superseded };
}

export interface AckWait {
  selector: Selector;
  revision: number;
  /** Server time of the write (its `status.updated_at`), to tell a restarted sidecar's old instance. */
  writtenAtMs?: number;
  /** Local time the supersede grace counts from: when that write was made. Default: the start of this wait. */
  graceFromMs?: number;
  timeoutMs: number;
  policy: string;
  /** What was written, for the timeout message: "policy x", "the deletion of policy x". */
  what?: string;
}

/**
 * Resolves with the acked instances once every live instance the selector matches has applied `revision`;
 * HFI_ERR_ACK_TIMEOUT naming the laggards otherwise. HFI_ERR_NO_TARGETS when every target vanished meanwhile.
 */
export async function waitForAcks(reader: NodesReader, wait: AckWait): Promise<AckState> {
  const started = Date.now();
  for (;;) {
    const { nodes } = await reader.nodes();
    const now = Date.now();
    const elapsed = now - started;
    const state = ackState(nodes, wait.selector, wait.revision, {
      ...(wait.writtenAtMs === undefined ? {} : { writtenAtMs: wait.writtenAtMs }),
      supersede: now - (wait.graceFromMs ?? started) >= SUPERSEDE_GRACE_MS,
    });
    if (state.pending.length === 0) {
      if (state.acked.length > 0) return state;
      throw noTargetsError({ selector: wait.selector, nodes, controlPlane: reader.url });
    }
    if (elapsed >= wait.timeoutMs) throw ackTimeoutError(wait, state, elapsed);
    await sleep(ACK_POLL_MS);
  }
}

export function ackTimeoutError(wait: AckWait, state: AckState, waitedMs: number): HfiError {
  const nowMs = Date.now();
  const total = state.pending.length + state.acked.length;
  const what = wait.what ?? `policy ${JSON.stringify(wait.policy)}`;
  const lines = state.pending.map((n) => `  - ${describeNode(n, nowMs)}`);
  const message =
    `${state.pending.length} of ${total} sidecar instance${total === 1 ? '' : 's'} matching ${formatSelector(wait.selector)} ` +
    `did not apply revision ${wait.revision} (${what}) within ${waitedMs} ms:\n${lines.join('\n')}`;
  return new HfiError('HFI_ERR_ACK_TIMEOUT', message, {
    details: {
      policy: wait.policy,
      revision: wait.revision,
      selector: wait.selector,
      waitedMs,
      pending: state.pending,
      acked: state.acked,
      superseded: state.superseded,
    },
  });
}
