import type { NodeStatus, Policy } from '@hfi/core';

/** A policy as stored, with the bookkeeping that expiry and revisions need. */
export interface PolicyRecord {
  policy: Policy;
  /** Store revision of the write that produced this record (etcd: mod_revision). */
  revision: number;
  /** Wall-clock time of that write, ms since epoch; rule deadlines count from here. */
  writtenAtMs: number;
  /** Per rule: absolute deadline in ms since epoch, or null when the rule never expires. */
  ruleDeadlinesMs: (number | null)[];
}

export interface StoreSnapshot {
  /** Current store revision: moves on every put and delete. */
  revision: number;
  /** Sorted by policy name. */
  records: PolicyRecord[];
}

/** put() conditions: upsert, create-only (HFI_ERR_POLICY_EXISTS), or update-only (HFI_ERR_POLICY_NOT_FOUND). */
export type PutCondition = 'upsert' | 'create' | 'update';

export interface NodeAck {
  node: Omit<NodeStatus, 'stale' | 'last_seen'>;
  seenAtMs: number;
}

export interface PolicyStore {
  readonly kind: 'memory' | 'file' | 'etcd';
  /** Opens files / connections, loads state, starts watching. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** For /v1/ready: resolves with an error text when the backend cannot serve. */
  check(): Promise<{ ok: true } | { ok: false; error: string }>;
  list(): Promise<StoreSnapshot>;
  get(name: string): Promise<PolicyRecord | undefined>;
  /** Throws HfiError HFI_ERR_POLICY_EXISTS / HFI_ERR_POLICY_NOT_FOUND when the condition fails. */
  put(record: Omit<PolicyRecord, 'revision'>, condition: PutCondition): Promise<PolicyRecord>;
  /**
   * Deletes by name; returns false when absent. With `ifRevision`, deletes only if the stored record still has
   * that revision (expiry must not delete a policy rewritten meanwhile).
   */
  delete(name: string, opts?: { ifRevision?: number }): Promise<boolean>;
  /** Latest revision this process knows of (cheap, synchronous). */
  currentRevision(): number;
  /**
   * Called after every change, local or made by another replica sharing the backend, with the new revision.
   * Returns an unsubscribe function.
   */
  onChange(listener: (revision: number) => void): () => void;
  /** Records a sidecar's latest watch request; shared by every replica on the same backend. */
  recordAck(ack: NodeAck): Promise<void>;
  /** Every node acked within `retainMs`, newest state per instance. */
  listAcks(retainMs: number): Promise<NodeAck[]>;
}
