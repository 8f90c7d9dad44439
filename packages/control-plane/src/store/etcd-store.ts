// PolicyStore on etcd, shared by every control-plane replica pointed at the same cluster.
//
// Keys (root prefix default `hfi/`):
//   <root>policies/<name>   compact JSON {policy, writtenAtMs, ruleDeadlinesMs}; the record's revision is the key's
//                           mod_revision, never stored in the value
//   <root>policies          the revision key: written in the same transaction as every policy put and delete
//   <root>nodes/<instance>  compact JSON NodeAck, attached to a lease so acks of vanished sidecars expire
//
// Why a revision key: etcd's revision is global, and every ack write moves it. If the store revision were the raw
// etcd revision, each sidecar's ack would look like a policy change to every other sidecar's long poll, and the
// polls would wake each other forever. The store revision is therefore the latest revision that touched the policy
// keyspace: the revision key's mod_revision (or a policy key's, if one is newer). A delete leaves no key behind,
// which is why the revision key exists at all; writes made around the store (etcdctl) are noticed by the watch,
// which then moves the revision key itself.

import { HfiError, isHfiError, type Policy } from '@hfi/core';
import { Etcd3, type ICompare, type IKeyValue, type IOptions, type IWatchResponse, type Watcher } from 'etcd3';
import pino from 'pino';
import type { NodeAck, PolicyRecord, PolicyStore, PutCondition, StoreSnapshot } from './types';

/** The subset of a pino logger the store writes to. */
export interface StoreLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface EtcdStoreOptions {
  /** etcd client URLs, e.g. `['http://127.0.0.1:2379']`. */
  endpoints: string[];
  /** Root of every key the store writes; default `hfi/` (policies at `hfi/policies/<name>`, as the reference). */
  prefix?: string;
  /** Deadline of each read and write; default 5000 ms. */
  opTimeoutMs?: number;
  /** Deadline of check() (for /v1/ready); default 3000 ms. */
  checkTimeoutMs?: number;
  /** Lease TTL of ack keys: an ack not rewritten for between TTL/2 and TTL disappears; default 600 s. */
  ackTtlSeconds?: number;
  /** Longest wait between watch reconnection attempts; default 3000 ms. */
  maxBackoffMs?: number;
  /** Default: a pino logger on stderr. */
  logger?: StoreLogger;
  /** Extra etcd3 client options: TLS `credentials`, `auth`, `grpcOptions`. */
  client?: Omit<IOptions, 'hosts'>;
}

/** The JSON value stored under a policy key. */
interface StoredRecord {
  policy: Policy;
  writtenAtMs: number;
  ruleDeadlinesMs: (number | null)[];
}

interface CallOptions {
  deadline: number;
}

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Doubling backoff with ±20% jitter so replicas do not reconnect in lockstep. */
function backoff(durationMs: number, maxMs: number): WatchBackoff {
  return {
    duration: Math.round(durationMs * (0.8 + Math.random() * 0.4)),
    next: () => backoff(Math.min(durationMs * 2, maxMs), maxMs),
  };
}

/** The exclusive end of the key range that holds every key starting with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a stored policy value, or says what is wrong with it. */
function decodeRecord(name: string, kv: IKeyValue): PolicyRecord | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(kv.value.toString('utf8'));
  } catch (err) {
    return `not JSON: ${describe(err)}`;
  }
  if (!isRecord(parsed)) return 'not a JSON object';
  const { policy, writtenAtMs, ruleDeadlinesMs } = parsed;
  if (!isRecord(policy) || !isRecord(policy.metadata) || !isRecord(policy.spec) || !Array.isArray(policy.spec.rules)) {
    return 'policy is missing metadata or spec.rules';
  }
  if (policy.metadata.name !== name) return `policy.metadata.name ${JSON.stringify(policy.metadata.name)} ≠ key`;
  if (typeof writtenAtMs !== 'number' || !Number.isFinite(writtenAtMs)) return 'writtenAtMs is not a number';
  if (
    !Array.isArray(ruleDeadlinesMs) ||
    ruleDeadlinesMs.length !== policy.spec.rules.length ||
    !ruleDeadlinesMs.every((d) => d === null || (typeof d === 'number' && Number.isFinite(d)))
  ) {
    return 'ruleDeadlinesMs is not one number-or-null per rule';
  }
  return {
    policy: policy as unknown as Policy,
    revision: Number(kv.mod_revision),
    writtenAtMs,
    ruleDeadlinesMs: ruleDeadlinesMs as (number | null)[],
  };
}

function decodeAck(kv: IKeyValue): NodeAck | undefined {
  try {
    const parsed: unknown = JSON.parse(kv.value.toString('utf8'));
    if (isRecord(parsed) && isRecord(parsed.node) && typeof parsed.seenAtMs === 'number') {
      if (typeof parsed.node.instance === 'string') return parsed as unknown as NodeAck;
    }
  } catch {
    // reported by the caller
  }
  return undefined;
}

export class EtcdStore implements PolicyStore {
  readonly kind = 'etcd' as const;

  private readonly endpoint: string;
  private readonly policiesPrefix: string;
  private readonly policiesRange: { key: Buffer; range_end: Buffer };
  private readonly revisionKey: Buffer;
  private readonly nodesRange: { key: Buffer; range_end: Buffer };
  private readonly opTimeoutMs: number;
  private readonly checkTimeoutMs: number;
  private readonly ackTtlSeconds: number;
  private readonly maxBackoffMs: number;
  private readonly log: StoreLogger;
  private readonly client: Etcd3;

  private readonly listeners = new Set<(revision: number) => void>();
  /** Latest policy revision seen (writes, reads, watch). */
  private revision = 0;
  /** Latest revision listeners were told about; local writes and their watch echo notify once. */
  private notified = 0;
  private started = false;
  private closed = false;
  private watcher: Watcher | undefined;
  private watchDown = false;
  private rewatchTimer: NodeJS.Timeout | undefined;
  /** Rejects the watch confirmation openWatch is waiting for, while it waits. */
  private abandonWatchConfirmation: ((reason: Error) => void) | undefined;
  private rewatching = false;
  /** Bad values already logged, key → mod_revision, so a bad entry is reported once and not on every list. */
  private readonly reported = new Map<string, string>();
  private lease: { id: string; grantedAtMs: number } | undefined;
  private leaseGrant: Promise<string> | undefined;

  constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0) {
      throw new HfiError('HFI_ERR_CONFIG', 'the etcd store needs at least one endpoint', { field: 'endpoints' });
    }
    this.endpoint = options.endpoints.join(',');
    let root = options.prefix ?? 'hfi/';
    if (root !== '' && !root.endsWith('/')) root += '/';
    this.policiesPrefix = `${root}policies/`;
    const policiesKey = Buffer.from(this.policiesPrefix);
    this.policiesRange = { key: policiesKey, range_end: prefixEnd(policiesKey) };
    this.revisionKey = Buffer.from(`${root}policies`);
    const nodesKey = Buffer.from(`${root}nodes/`);
    this.nodesRange = { key: nodesKey, range_end: prefixEnd(nodesKey) };
    this.opTimeoutMs = options.opTimeoutMs ?? 5000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 3000;
    this.ackTtlSeconds = options.ackTtlSeconds ?? 600;
    this.maxBackoffMs = options.maxBackoffMs ?? 3000;
    this.log = options.logger ?? pino({ name: 'hfi-etcd-store' }, process.stderr);
    this.client = new Etcd3({
      ...options.client,
      hosts: options.endpoints,
      // gRPC's own reconnect backoff starts at 1 s and grows to 120 s; a control plane should find etcd sooner.
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 250,
        'grpc.max_reconnect_backoff_ms': this.maxBackoffMs,
        ...options.client?.grpcOptions,
      },
      faultHandling: { ...options.client?.faultHandling, watchBackoff: backoff(50, this.maxBackoffMs) },
    });
  }

  async start(): Promise<void> {
    this.assertOpen('start');
    if (this.started) return;
    await this.ensureRevisionKey();
    const { snapshot, headerRevision } = await this.load();
    this.notified = Math.max(this.notified, snapshot.revision);
    // From the load's header revision on, so nothing written between the load and the watch is missed.
    await this.openWatch(headerRevision + 1);
    this.started = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    clearTimeout(this.rewatchTimer);
    // A watch still waiting for etcd's confirmation would otherwise keep its timer, and the process, for opTimeoutMs.
    this.abandonWatchConfirmation?.(new Error('the etcd store was closed'));
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher) await this.cancelWatcher(watcher);
    this.client.close();
  }

  async check(): Promise<{ ok: true } | { ok: false; error: string }> {
    if (this.closed) return { ok: false, error: 'the etcd store is closed' };
    try {
      await this.client.kv.range(
        { ...this.policiesRange, count_only: true },
        { deadline: Date.now() + this.checkTimeoutMs },
      );
      return { ok: true };
    } catch (err) {
      return { ok: false, error: `etcd at ${this.endpoint}: ${describe(err)}` };
    }
  }

  async list(): Promise<StoreSnapshot> {
    return (await this.load()).snapshot;
  }

  async get(name: string): Promise<PolicyRecord | undefined> {
    const key = this.policyKey(name);
    const res = await this.call('get', (o) => this.client.kv.range({ key }, o));
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const record = this.decode(name, kv);
    if (record) this.observe(record.revision);
    return record;
  }

  async put(record: Omit<PolicyRecord, 'revision'>, condition: PutCondition): Promise<PolicyRecord> {
    const name = record.policy.metadata.name;
    const key = this.policyKey(name);
    const stored: StoredRecord = {
      policy: record.policy,
      writtenAtMs: record.writtenAtMs,
      ruleDeadlinesMs: record.ruleDeadlinesMs,
    };
    const compare: ICompare[] =
      condition === 'create'
        ? [{ key, target: 'Create', result: 'Equal', create_revision: 0 }]
        : condition === 'update'
          ? [{ key, target: 'Create', result: 'Greater', create_revision: 0 }]
          : [];
    const res = await this.call('put', (o) =>
      this.client.kv.txn(
        {
          compare,
          success: [
            { request_put: { key, value: Buffer.from(JSON.stringify(stored)) } },
            { request_put: { key: this.revisionKey, value: this.revisionValue('put', name) } },
          ],
        },
        o,
      ),
    );
    if (!res.succeeded) {
      throw new HfiError(condition === 'create' ? 'HFI_ERR_POLICY_EXISTS' : 'HFI_ERR_POLICY_NOT_FOUND', undefined, {
        details: { resource: 'policy', name },
      });
    }
    const revision = Number(res.header.revision);
    this.changed(revision);
    return { ...stored, revision };
  }

  async delete(name: string, opts: { ifRevision?: number } = {}): Promise<boolean> {
    const key = this.policyKey(name);
    const compare: ICompare =
      opts.ifRevision === undefined
        ? { key, target: 'Create', result: 'Greater', create_revision: 0 }
        : { key, target: 'Mod', result: 'Equal', mod_revision: opts.ifRevision };
    const res = await this.call('delete', (o) =>
      this.client.kv.txn(
        {
          compare: [compare],
          success: [
            { request_delete_range: { key } },
            { request_put: { key: this.revisionKey, value: this.revisionValue('delete', name) } },
          ],
        },
        o,
      ),
    );
    if (!res.succeeded) return false;
    this.changed(Number(res.header.revision));
    return true;
  }

  currentRevision(): number {
    return this.revision;
  }

  onChange(listener: (revision: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async recordAck(ack: NodeAck): Promise<void> {
    const key = Buffer.from(`${this.nodesRange.key.toString()}${ack.node.instance}`);
    const value = Buffer.from(JSON.stringify(ack));
    const write = async () => {
      const lease = await this.ackLease();
      await this.call('record ack', (o) => this.client.kv.put({ key, value, lease }, o));
    };
    try {
      await write();
    } catch (err) {
      // The lease can vanish under us (revoked, or expired while etcd was away): take a new one once.
      if (!/lease not found|expired or revoked/i.test(describe(err))) throw err;
      this.lease = undefined;
      await write();
    }
  }

  async listAcks(retainMs: number): Promise<NodeAck[]> {
    const res = await this.call('list acks', (o) => this.client.kv.range({ ...this.nodesRange }, o));
    const oldest = Date.now() - retainMs;
    const acks: NodeAck[] = [];
    for (const kv of res.kvs) {
      const ack = decodeAck(kv);
      if (!ack) {
        this.reportBad(kv, 'not a JSON node ack');
        continue;
      }
      if (ack.seenAtMs >= oldest) acks.push(ack);
    }
    return acks.sort((a, b) => (a.node.instance < b.node.instance ? -1 : a.node.instance > b.node.instance ? 1 : 0));
  }

  // ---- internals ----

  private policyKey(name: string): Buffer {
    return Buffer.from(this.policiesPrefix + name);
  }

  private revisionValue(op: 'put' | 'delete' | 'resync', name?: string): Buffer {
    return Buffer.from(JSON.stringify({ op, name, atMs: Date.now() }));
  }

  private assertOpen(operation: string): void {
    if (this.closed) {
      throw new HfiError('HFI_ERR_STORE_UNAVAILABLE', 'the etcd store is closed', {
        details: { endpoint: this.endpoint, operation },
      });
    }
  }

  /** Runs one etcd call under the store's deadline; every failure becomes HFI_ERR_STORE_UNAVAILABLE. */
  private async call<T>(operation: string, fn: (options: CallOptions) => Promise<T>): Promise<T> {
    this.assertOpen(operation);
    // One absolute deadline for the operation, including the etcd3 client's own retries.
    const options = { deadline: Date.now() + this.opTimeoutMs };
    try {
      return await fn(options);
    } catch (err) {
      if (isHfiError(err)) throw err;
      const reason = describe(err);
      throw new HfiError('HFI_ERR_STORE_UNAVAILABLE', `etcd at ${this.endpoint} failed to ${operation}: ${reason}`, {
        details: { endpoint: this.endpoint, operation, reason },
        cause: err,
      });
    }
  }

  /** Creates the revision key if absent, so even an empty store has a revision. */
  private async ensureRevisionKey(): Promise<void> {
    const key = this.revisionKey;
    const res = await this.call('start', (o) =>
      this.client.kv.txn(
        {
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key, value: this.revisionValue('resync') } }],
        },
        o,
      ),
    );
    if (res.succeeded) this.observe(Number(res.header.revision));
  }

  /** One consistent read of every policy and the revision key. */
  private async load(): Promise<{ snapshot: StoreSnapshot; headerRevision: number }> {
    const res = await this.call('list', (o) =>
      this.client.kv.txn(
        {
          compare: [],
          success: [{ request_range: { ...this.policiesRange } }, { request_range: { key: this.revisionKey } }],
        },
        o,
      ),
    );
    const [policies, marker] = res.responses.map((r) => r.response_range.kvs);
    let revision = marker?.[0] ? Number(marker[0].mod_revision) : 0;
    const records: PolicyRecord[] = [];
    for (const kv of policies ?? []) {
      revision = Math.max(revision, Number(kv.mod_revision));
      const record = this.decode(kv.key.toString().slice(this.policiesPrefix.length), kv);
      if (record) records.push(record);
    }
    records.sort((a, b) => {
      const x = a.policy.metadata.name;
      const y = b.policy.metadata.name;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    this.observe(revision);
    return { snapshot: { revision, records }, headerRevision: Number(res.header.revision) };
  }

  private decode(name: string, kv: IKeyValue): PolicyRecord | undefined {
    const record = decodeRecord(name, kv);
    if (typeof record !== 'string') return record;
    this.reportBad(kv, record);
    return undefined;
  }

  private reportBad(kv: IKeyValue, problem: string): void {
    const key = kv.key.toString();
    if (this.reported.get(key) === kv.mod_revision) return;
    this.reported.set(key, kv.mod_revision);
    this.log.warn(
      { key, modRevision: Number(kv.mod_revision), problem, endpoint: this.endpoint },
      'skipping an unreadable etcd entry',
    );
  }

  private observe(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }

  private changed(revision: number): void {
    this.observe(revision);
    if (revision <= this.notified) return;
    this.notified = revision;
    for (const listener of [...this.listeners]) {
      try {
        listener(revision);
      } catch (err) {
        this.log.warn({ err: describe(err), revision }, 'a store change listener threw');
      }
    }
  }

  // ---- watch ----

  /** Watches the revision key and every policy key from `fromRevision`; resolves once etcd confirms the watch. */
  private async openWatch(fromRevision: number): Promise<void> {
    // A watcher made on a closed client would retry forever inside etcd3.
    this.assertOpen('watch');
    const watcher = this.client.watch().prefix(this.revisionKey).startRevision(String(fromRevision)).watcher();
    this.watcher = watcher;
    this.watchDown = false;
    watcher.on('data', (res) => this.onWatchData(res));
    watcher.on('disconnected', (err) => {
      if (this.watcher !== watcher || this.closed) return;
      if (!this.watchDown) this.log.warn({ endpoint: this.endpoint, err: describe(err) }, 'etcd watch disconnected');
      this.watchDown = true;
    });
    watcher.on('connected', () => {
      if (this.watcher !== watcher || this.closed || !this.watchDown) return;
      this.watchDown = false;
      this.log.info({ endpoint: this.endpoint }, 'etcd watch re-established');
      // The watch resumes from its last revision; a fresh read also covers a reconnect that raced a write.
      this.load().then(
        ({ snapshot }) => this.changed(snapshot.revision),
        () => {},
      );
    });
    // etcd cancelled the watch (e.g. its start revision was compacted away): start a new one from a fresh read.
    watcher.on('error', (err) => {
      if (this.watcher !== watcher || this.closed) return;
      this.log.warn({ endpoint: this.endpoint, err: describe(err) }, 'etcd cancelled the watch; re-creating it');
      // The client has already dropped a watcher etcd cancelled; there is nothing left to cancel.
      this.watcher = undefined;
      if (this.started) this.scheduleRewatch(100);
    });
    let timedOut = false;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          timedOut = true;
          reject(new Error(`no watch confirmation within ${this.opTimeoutMs} ms`));
        }, this.opTimeoutMs);
        this.abandonWatchConfirmation = (reason) => {
          clearTimeout(timer);
          reject(reason);
        };
        watcher.once('connected', () => {
          clearTimeout(timer);
          resolve();
        });
        watcher.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    } catch (err) {
      if (this.watcher === watcher) this.watcher = undefined;
      if (timedOut) await this.cancelWatcher(watcher);
      throw new HfiError('HFI_ERR_STORE_UNAVAILABLE', `etcd at ${this.endpoint} failed to watch: ${describe(err)}`, {
        details: { endpoint: this.endpoint, operation: 'watch', reason: describe(err) },
        cause: err,
      });
    } finally {
      this.abandonWatchConfirmation = undefined;
    }
  }

  private scheduleRewatch(delayMs: number): void {
    if (this.closed || this.rewatching) return;
    this.rewatching = true;
    this.rewatchTimer = setTimeout(async () => {
      try {
        const { snapshot, headerRevision } = await this.load();
        this.changed(snapshot.revision);
        await this.openWatch(headerRevision + 1);
        this.rewatching = false;
      } catch (err) {
        this.rewatching = false;
        this.log.warn({ endpoint: this.endpoint, err: describe(err) }, 'etcd watch not re-created yet; retrying');
        this.scheduleRewatch(Math.min(delayMs * 2, this.maxBackoffMs));
      }
    }, delayMs);
  }

  private async cancelWatcher(watcher: Watcher): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      // cancel() can also throw synchronously when the stream is between states.
      Promise.resolve()
        .then(() => watcher.cancel())
        .catch(() => {}),
      // A cancel waits for etcd's answer; do not hang close() on an etcd that is gone.
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.opTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private onWatchData(res: IWatchResponse): void {
    const revisionKey = this.revisionKey.toString();
    let latest = 0;
    const revisionKeyWrites = new Set<string>();
    const policyWrites: number[] = [];
    for (const event of res.events) {
      const key = event.kv.key.toString();
      const revision = Number(event.kv.mod_revision);
      if (key === revisionKey) {
        // Deleting the revision key itself (etcdctl del --prefix) must not take the revision back: recreate it.
        if (event.type === 'Delete') policyWrites.push(revision);
        else revisionKeyWrites.add(event.kv.mod_revision);
      } else if (key.startsWith(this.policiesPrefix)) {
        policyWrites.push(revision);
      } else {
        continue; // a sibling key that merely shares the prefix
      }
      latest = Math.max(latest, revision);
    }
    if (latest === 0) return;
    this.changed(latest);
    // A policy change without a write of the revision key in the same revision was made around the store.
    const external = policyWrites.filter((r) => !revisionKeyWrites.has(String(r)));
    if (external.length > 0) void this.moveRevisionKey(Math.max(...external));
  }

  /** Moves the revision key past an external write; the first replica to try wins, the others find it moved. */
  private async moveRevisionKey(pastRevision: number): Promise<void> {
    const key = this.revisionKey;
    try {
      await this.call('move the revision key', (o) =>
        this.client.kv.txn(
          {
            compare: [{ key, target: 'Mod', result: 'Less', mod_revision: pastRevision }],
            success: [{ request_put: { key, value: this.revisionValue('resync') } }],
          },
          o,
        ),
      );
    } catch (err) {
      if (!this.closed)
        this.log.warn({ endpoint: this.endpoint, err: describe(err) }, 'could not move the revision key');
    }
  }

  // ---- acks ----

  /**
   * Lease for ack keys. Never kept alive: a new one is granted once the current one is half way through its TTL,
   * so an ack lives between TTL/2 and TTL after its last write and a vanished sidecar's ack expires.
   */
  private async ackLease(): Promise<string> {
    const current = this.lease;
    if (current && Date.now() - current.grantedAtMs < this.ackTtlSeconds * 500) return current.id;
    this.leaseGrant ??= this.call('grant an ack lease', (o) =>
      this.client.leaseClient.leaseGrant({ TTL: this.ackTtlSeconds }, o),
    )
      .then((res) => {
        this.lease = { id: res.ID, grantedAtMs: Date.now() };
        return res.ID;
      })
      .finally(() => {
        this.leaseGrant = undefined;
      });
    return this.leaseGrant;
  }
}
