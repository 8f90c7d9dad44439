import { HfiError } from '@hfi/core';
import type { NodeAck, PolicyRecord, PolicyStore, PutCondition, StoreSnapshot } from './types';

/** The committed state of a memory or file store; replaced as a whole on every write, never mutated. */
export interface StoreState {
  revision: number;
  records: ReadonlyMap<string, PolicyRecord>;
}

/**
 * Policies in a map, a revision counter, acks in memory. Writes run one at a time through `persist()` and are
 * committed (and announced) only after it resolves, so a subclass that persists (the file store) never shows a
 * reader or a watcher a write it has not made durable.
 */
export class MemoryStore implements PolicyStore {
  readonly kind: 'memory' | 'file' = 'memory';
  protected state: StoreState = { revision: 0, records: new Map() };
  private sorted: StoreSnapshot | undefined;
  private readonly listeners = new Set<(revision: number) => void>();
  private readonly acks = new Map<string, NodeAck>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    // Let a write already accepted finish before the caller tears anything down.
    await this.queue.catch(() => undefined);
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
    return this.serialise(async () => {
      const name = record.policy.metadata.name;
      if (!name) throw new HfiError('HFI_ERR_POLICY_INVALID', 'metadata.name: policy name is required');
      const exists = this.state.records.has(name);
      if (condition === 'create' && exists) {
        throw new HfiError('HFI_ERR_POLICY_EXISTS', undefined, { details: { resource: 'policy', name } });
      }
      if (condition === 'update' && !exists) {
        throw new HfiError('HFI_ERR_POLICY_NOT_FOUND', undefined, { details: { resource: 'policy', name } });
      }
      const revision = this.state.revision + 1;
      const stored: PolicyRecord = { ...record, revision };
      const records = new Map(this.state.records);
      records.set(name, stored);
      await this.commit({ revision, records });
      return stored;
    });
  }

  delete(name: string, opts: { ifRevision?: number } = {}): Promise<boolean> {
    return this.serialise(async () => {
      const current = this.state.records.get(name);
      if (!current) return false;
      if (opts.ifRevision !== undefined && current.revision !== opts.ifRevision) return false;
      const records = new Map(this.state.records);
      records.delete(name);
      await this.commit({ revision: this.state.revision + 1, records });
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

  /** Makes `next` durable; the memory store has nothing to do. Throwing aborts the write. */
  protected async persist(_next: StoreState): Promise<void> {}

  protected assertOpen(): void {
    if (this.closed) throw new HfiError('HFI_ERR_STORE_UNAVAILABLE', `the ${this.kind} store is closed`);
  }

  private async commit(next: StoreState): Promise<void> {
    await this.persist(next);
    this.state = next;
    this.sorted = undefined;
    for (const listener of this.listeners) {
      try {
        listener(next.revision);
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

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.assertOpen();
      return task();
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Byte order on names (ASCII by the name rules), the order etcd's prefix range returns keys in. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
