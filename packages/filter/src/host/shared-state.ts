// Shared data and shared queues. Envoy keeps both per vm_id for the whole process, so every worker's VM of one
// plugin sees the same entries; a pool of workers therefore shares one SharedState.

interface SharedEntry {
  value: Buffer;
  cas: number;
}

interface QueueOwner {
  /** Called (asynchronously, like Envoy posting to the owner's dispatcher) when an item is enqueued. */
  notify(token: number): void;
}

interface SharedQueue {
  owner: QueueOwner;
  items: Buffer[];
}

export class SharedState {
  private readonly data = new Map<string, SharedEntry>();
  private nextCas = 1;
  private readonly queues = new Map<number, SharedQueue>();
  private readonly queueTokens = new Map<string, number>();
  private nextQueueToken = 1;

  getData(key: string): SharedEntry | undefined {
    return this.data.get(key);
  }

  /** Returns false on a compare-and-swap mismatch. A cas of 0 always writes. */
  setData(key: string, value: Buffer, cas: number): boolean {
    const existing = this.data.get(key);
    if (existing && cas !== 0 && cas !== existing.cas) return false;
    this.data.set(key, { value, cas: this.nextCas++ });
    return true;
  }

  /** Registering an existing (vm_id, name) opens it again and makes the caller its owner. */
  registerQueue(vmId: string, name: string, owner: QueueOwner): number {
    const key = `${vmId}\0${name}`;
    const existing = this.queueTokens.get(key);
    if (existing !== undefined) {
      const queue = this.queues.get(existing);
      if (queue) queue.owner = owner;
      return existing;
    }
    const token = this.nextQueueToken++;
    this.queueTokens.set(key, token);
    this.queues.set(token, { owner, items: [] });
    return token;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueTokens.get(`${vmId}\0${name}`);
  }

  /** Returns false for an unknown token. */
  enqueue(token: number, item: Buffer): boolean {
    const queue = this.queues.get(token);
    if (!queue) return false;
    queue.items.push(item);
    const owner = queue.owner;
    setImmediate(() => owner.notify(token));
    return true;
  }

  /** undefined: unknown token; null: empty queue. */
  dequeue(token: number): Buffer | null | undefined {
    const queue = this.queues.get(token);
    if (!queue) return undefined;
    return queue.items.shift() ?? null;
  }
}
