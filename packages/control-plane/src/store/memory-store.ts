import { HfiError } from '@hfi/core';
import type { NodeAck, PolicyRecord, PolicyStore, PutCondition, StoreSnapshot } from './types';

/** The committed state of a memory or file store; replaced as a whole on every write, never mutated. */
export interface StoreState {
  revision: number;
  records: ReadonlyMap<string, PolicyRecord>;
}

/** The state a batch of writes builds on; copied on its first change. */
class Draft {
  revision: number;
  private records: Map<string, PolicyRecord> | undefined;
  readonly revisions: number[] = [];

  constructor(private readonly base: StoreState) {
    this.revision = base.revision;
  }

  get changed(): boolean {
    return this.records !== undefined;
  }

  get(name: string): PolicyRecord | undefined {
    return (this.records ?? this.base.records).get(name);
  }

  set(name: string, record: PolicyRecord): void {
    this.mutable().set(name, record);
  }

  delete(name: string): void {
    this.mutable().delete(name);
  }

  bump(): number {
    this.revision += 1;
    this.revisions.push(this.revision);
    return this.revision;
  }

  result(): StoreState {
    return { revision: this.revision, records: this.records ?? this.base.records };
  }

  private mutable(): Map<string, PolicyRecord> {
    this.records ??= new Map(this.base.records);
    return this.records;
  }
}

interface Op {
  apply(draft: Draft): unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Policies in a map, a revision counter, acks in memory. Writes are applied in arrival order and committed (and
 * announced) only after `persist()` resolves, so a subclass that persists (the file store) never shows a reader or
 * a watcher a write it has not made durable. Writes that arrive while a persist is running are committed together
 * by the next one (group commit): one fsync for many writes under load.
 */
export class MemoryStore implements PolicyStore {
  readonly kind: 'memory' | 'file' = 'memory';
  protected state: StoreState = { revision: 0, records: new Map() };
  private sorted: StoreSnapshot | undefined;
  private readonly listeners = new Set<(revision: number) => void>();
  private readonly acks = new Map<string, NodeAck>();
  private readonly queue: Op[] = [];
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private closed = false;

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    // Writes already accepted finish before the caller tears anything down.
    await this.drained;
    this.listeners.clear();
  }

  async check(): Promise<{ ok: true } | { ok: false; error: string }> {
    return this.closed ? { ok: false, error: 'store is closed' } : { ok: true };
  }

  async list(): Promise<StoreSnapshot> {
    return this.snapshot();
  }

  async get(name: string): Promise<PolicyRecord | undefined> {
    return this.state.records.get(name);
  }

  put(record: Omit<PolicyRecord, 'revision'>, condition: PutCondition): Promise<PolicyRecord> {
    return this.enqueue((draft) => {
      const name = record.policy.metadata.name;
      if (!name) throw new HfiError('HFI_ERR_POLICY_INVALID', 'metadata.name: policy name is required');
      const exists = draft.get(name) !== undefined;
      if (condition === 'create' && exists) {
        throw new HfiError('HFI_ERR_POLICY_EXISTS', undefined, { details: { resource: 'policy', name } });
      }
      if (condition === 'update' && !exists) {
        throw new HfiError('HFI_ERR_POLICY_NOT_FOUND', undefined, { details: { resource: 'policy', name } });
      }
      const stored: PolicyRecord = { ...record, revision: draft.bump() };
      draft.set(name, stored);
      return stored;
    });
  }

  delete(name: string, opts: { ifRevision?: number } = {}): Promise<boolean> {
    return this.enqueue((draft) => {
      const current = draft.get(name);
      if (!current) return false;
      if (opts.ifRevision !== undefined && current.revision !== opts.ifRevision) return false;
      draft.delete(name);
      draft.bump();
      return true;
    });
  }

  currentRevision(): number {
    return this.state.revision;
  }

  onChange(listener: (revision: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async recordAck(ack: NodeAck): Promise<void> {
    this.acks.set(ack.node.instance, ack);
  }

  async listAcks(retainMs: number): Promise<NodeAck[]> {
    const oldest = Date.now() - retainMs;
    const out: NodeAck[] = [];
    for (const [instance, ack] of this.acks) {
      if (ack.seenAtMs < oldest) this.acks.delete(instance);
      else out.push(ack);
    }
    return out;
  }

  /** Makes `next` durable; the memory store has nothing to do. Throwing fails every write of the batch. */
  protected async persist(_next: StoreState): Promise<void> {}

  private enqueue<T>(apply: (draft: Draft) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) {
        reject(new HfiError('HFI_ERR_STORE_UNAVAILABLE', `the ${this.kind} store is closed`));
        return;
      }
      this.queue.push({ apply, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        this.drained = this.drain();
      }
    });
  }

  /**
   * Runs until the queue is empty. The flag drops in the same synchronous step as the last emptiness check, so a
   * write queued by a continuation of this batch always starts a new drain.
   */
  private async drain(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.draining = false;
        return;
      }
      const batch = this.queue.splice(0);
      const draft = new Draft(this.state);
      const outcomes = batch.map((op) => {
        try {
          return { ok: true as const, value: op.apply(draft) };
        } catch (err) {
          return { ok: false as const, err };
        }
      });
      if (draft.changed) {
        const next = draft.result();
        try {
          await this.persist(next);
        } catch (err) {
          for (const [i, op] of batch.entries()) {
            const outcome = outcomes[i];
            op.reject(outcome?.ok === false ? outcome.err : err);
          }
          continue;
        }
        this.state = next;
        this.sorted = undefined;
      }
      for (const [i, op] of batch.entries()) {
        const outcome = outcomes[i];
        if (outcome?.ok) op.resolve(outcome.value);
        else op.reject(outcome?.err);
      }
      for (const revision of draft.revisions) this.announce(revision);
    }
  }

  private announce(revision: number): void {
    for (const listener of this.listeners) {
      try {
        listener(revision);
      } catch {
        // A listener's failure must not turn a committed write into an error for the writer.
      }
    }
  }

  private snapshot(): StoreSnapshot {
    if (!this.sorted || this.sorted.revision !== this.state.revision) {
      const records = [...this.state.records.values()].sort((a, b) =>
        compareNames(a.policy.metadata.name, b.policy.metadata.name),
      );
      this.sorted = { revision: this.state.revision, records };
    }
    return this.sorted;
  }
}

/** Byte order on names (ASCII by the name rules), the order etcd's prefix range returns keys in. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
