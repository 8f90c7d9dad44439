import { EventEmitter, once } from 'node:events';
import * as net from 'node:net';
import { type HfiError, isHfiError, type Policy } from '@hfi/core';
import { Etcd3 } from 'etcd3';
import { dist, forkScript, runScriptToExit } from '../__tests__/dist-child';
import { type StartedEtcd, startEtcd } from '../testing/etcd';
import { describeStoreContract } from './__tests__/contract';
import { EtcdStore, type EtcdStoreOptions, type StoreLogger } from './etcd-store';
import type { NodeAck, PolicyRecord, PolicyStore } from './types';

jest.setTimeout(60_000);

function policy(name: string, percentage = 50): Policy {
  return {
    metadata: { name, version: '1.0.0' },
    spec: {
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [{ match: { path: { prefix: '/api' } }, fault: { percentage, abort: { httpStatus: 503 } } }],
    },
  };
}

function record(name: string, percentage = 50): Omit<PolicyRecord, 'revision'> {
  return { policy: policy(name, percentage), writtenAtMs: 1_700_000_000_000, ruleDeadlinesMs: [null] };
}

function ack(instance: string, appliedRevision: number, seenAtMs = Date.now()): NodeAck {
  return {
    node: {
      instance,
      workload: 'frontend',
      namespace: 'demo',
      pod: `${instance}-pod`,
      applied_revision: appliedRevision,
    },
    seenAtMs,
  };
}

/** A logger that keeps what it is given, so tests can see that problems are reported. */
function recordingLogger(): StoreLogger & { warnings: { fields: Record<string, unknown>; msg: string }[] } {
  const warnings: { fields: Record<string, unknown>; msg: string }[] = [];
  return { warnings, info: () => {}, warn: (fields, msg) => warnings.push({ fields, msg }) };
}

async function rejection(promise: Promise<unknown>): Promise<HfiError> {
  try {
    await promise;
  } catch (err) {
    if (isHfiError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** Resolves with the first revision the store announces that is at least `atLeast`. */
function nextChange(store: PolicyStore, atLeast: number): Promise<number> {
  return new Promise((resolve) => {
    const off = store.onChange((revision) => {
      if (revision >= atLeast) {
        off();
        resolve(revision);
      }
    });
  });
}

/** Retries `probe` until it returns true; for conditions that have no event to wait on (etcd coming back). */
async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('EtcdStore on a real etcd', () => {
  let etcd: StartedEtcd;
  let raw: Etcd3;
  const stores: EtcdStore[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    etcd = await startEtcd();
    raw = new Etcd3({ hosts: etcd.endpoint });
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    raw?.close();
    await etcd?.stop();
  });

  /** A started store; each test gets its own key prefix, and replicas of one test share it. */
  async function openStore(prefix: string, options: Partial<EtcdStoreOptions> = {}): Promise<EtcdStore> {
    const store = new EtcdStore({ endpoints: [etcd.endpoint], prefix, logger: recordingLogger(), ...options });
    stores.push(store);
    await store.start();
    return store;
  }

  function freshPrefix(): string {
    prefixes += 1;
    return `t${prefixes}-${process.pid}/`;
  }

  // The behaviour every store shares; each contract test gets a store of its own prefix.
  describeStoreContract('EtcdStore', async () => {
    const store = new EtcdStore({ endpoints: [etcd.endpoint], prefix: freshPrefix(), logger: recordingLogger() });
    stores.push(store);
    return store;
  });

  it('enforces create, update and upsert conditions with their error codes', async () => {
    const prefix = freshPrefix();
    const store = await openStore(prefix);

    const missing = await rejection(store.put(record('alpha'), 'update'));
    expect(missing.code).toBe('HFI_ERR_POLICY_NOT_FOUND');
    expect(missing.statusCode).toBe(404);
    expect(missing.details).toMatchObject({ resource: 'policy', name: 'alpha' });

    const created = await store.put(record('alpha', 10), 'create');
    expect(created.revision).toBeGreaterThan(0);
    expect(created.policy).toEqual(policy('alpha', 10));

    const duplicate = await rejection(store.put(record('alpha', 20), 'create'));
    expect(duplicate.code).toBe('HFI_ERR_POLICY_EXISTS');
    expect(duplicate.statusCode).toBe(409);
    expect((await store.get('alpha'))?.policy.spec.rules[0]?.fault.percentage).toBe(10);

    const updated = await store.put(record('alpha', 30), 'update');
    expect(updated.revision).toBeGreaterThan(created.revision);
    expect(await store.get('alpha')).toEqual(updated);

    const upsertExisting = await store.put(record('alpha', 40), 'upsert');
    const upsertNew = await store.put(record('bravo', 50), 'upsert');
    expect(upsertNew.revision).toBeGreaterThan(upsertExisting.revision);
    expect((await store.get('alpha'))?.policy.spec.rules[0]?.fault.percentage).toBe(40);
    expect(await store.get('bravo')).toEqual(upsertNew);
    expect(await store.get('charlie')).toBeUndefined();

    // The value is the record as compact JSON, without the revision (that is etcd's mod_revision).
    const value = await raw.get(`${prefix}policies/bravo`).string();
    expect(value).toBe(JSON.stringify(record('bravo', 50)));
  });

  it('lists policies sorted by name, with the revision of their last write', async () => {
    const store = await openStore(freshPrefix());
    const charlie = await store.put(record('charlie'), 'create');
    const alpha = await store.put(record('alpha'), 'create');
    const bravo = await store.put(record('bravo'), 'create');

    const snapshot = await store.list();
    expect(snapshot.records.map((r) => r.policy.metadata.name)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(snapshot.records.map((r) => r.revision)).toEqual([alpha.revision, bravo.revision, charlie.revision]);
    expect(charlie.revision).toBeLessThan(alpha.revision);
    expect(alpha.revision).toBeLessThan(bravo.revision);
    expect(snapshot.revision).toBe(bravo.revision);
    expect(store.currentRevision()).toBe(bravo.revision);
  });

  it('moves the revision on put and delete, and an empty store has a revision too', async () => {
    const store = await openStore(freshPrefix());
    const empty = await store.list();
    expect(empty.records).toEqual([]);
    expect(empty.revision).toBeGreaterThan(0);
    expect(store.currentRevision()).toBe(empty.revision);

    const put = await store.put(record('alpha'), 'create');
    expect(put.revision).toBeGreaterThan(empty.revision);
    expect((await store.list()).revision).toBe(put.revision);

    expect(await store.delete('alpha')).toBe(true);
    const afterDelete = await store.list();
    expect(afterDelete.records).toEqual([]);
    expect(afterDelete.revision).toBeGreaterThan(put.revision);
    expect(store.currentRevision()).toBe(afterDelete.revision);

    expect(await store.delete('alpha')).toBe(false);
    expect((await store.list()).revision).toBe(afterDelete.revision);
  });

  it('deletes conditionally on the revision a record still has', async () => {
    const store = await openStore(freshPrefix());
    const first = await store.put(record('alpha', 10), 'create');
    const second = await store.put(record('alpha', 20), 'update');

    expect(await store.delete('alpha', { ifRevision: first.revision })).toBe(false);
    expect((await store.get('alpha'))?.revision).toBe(second.revision);
    expect(await store.delete('alpha', { ifRevision: second.revision })).toBe(true);
    expect(await store.get('alpha')).toBeUndefined();
    expect(await store.delete('alpha', { ifRevision: second.revision })).toBe(false);
  });

  it('tells every replica about a write made through another, with the new revision', async () => {
    const prefix = freshPrefix();
    const a = await openStore(prefix);
    const b = await openStore(prefix);

    const seenPut = nextChange(b, 1);
    const put = await a.put(record('alpha'), 'create');
    expect(await seenPut).toBe(put.revision);
    expect(b.currentRevision()).toBe(put.revision);
    expect((await b.get('alpha'))?.revision).toBe(put.revision);

    const seenDelete = nextChange(b, put.revision + 1);
    expect(await a.delete('alpha')).toBe(true);
    const deleteRevision = await seenDelete;
    expect(deleteRevision).toBe(a.currentRevision());
    expect(await b.list()).toEqual({ revision: deleteRevision, records: [] });
  });

  it('announces a local write once, although the watch echoes it', async () => {
    const prefix = freshPrefix();
    const store = await openStore(prefix);
    const announced: number[] = [];
    store.onChange((revision) => announced.push(revision));
    const first = await store.put(record('alpha'), 'create');
    const second = await store.put(record('bravo'), 'create');
    expect(announced).toEqual([first.revision, second.revision]);

    // The watch delivers in revision order: once this outside write arrives, both echoes have been through it.
    const outside = nextChange(store, second.revision + 1);
    await raw.put(`${prefix}policies/charlie`).value(JSON.stringify(record('charlie')));
    const outsideRevision = await outside;
    expect(announced.slice(0, 3)).toEqual([first.revision, second.revision, outsideRevision]);
  });

  it('shares acks between replicas and drops those older than the retention', async () => {
    const prefix = freshPrefix();
    const a = await openStore(prefix);
    const b = await openStore(prefix);
    const now = Date.now();

    await a.recordAck(ack('pod-1/worker-0', 3, now));
    await b.recordAck(ack('pod-2/worker-0', 4, now));
    await a.recordAck(ack('pod-3/worker-0', 1, now - 120_000));
    await b.recordAck(ack('pod-1/worker-0', 5, now)); // newer state of the same instance, through the other replica

    const fromA = await a.listAcks(60_000);
    expect(fromA.map((x) => [x.node.instance, x.node.applied_revision])).toEqual([
      ['pod-1/worker-0', 5],
      ['pod-2/worker-0', 4],
    ]);
    expect(await b.listAcks(60_000)).toEqual(fromA);
    expect((await b.listAcks(600_000)).map((x) => x.node.instance)).toContain('pod-3/worker-0');

    // Ack keys live on a lease, so a sidecar that stops polling disappears from etcd.
    const kv = (await raw.getAll().prefix(`${prefix}nodes/`).exec()).kvs;
    expect(kv).toHaveLength(3);
    for (const entry of kv) expect(entry.lease).not.toBe('0');
  });

  it('does not move the policy revision or wake listeners when acks are written', async () => {
    const prefix = freshPrefix();
    const a = await openStore(prefix);
    const b = await openStore(prefix);
    const before = (await a.list()).revision;
    const woke: number[] = [];
    b.onChange((revision) => woke.push(revision));

    for (let i = 0; i < 5; i++) await a.recordAck(ack(`pod-${i}`, before));
    const put = await a.put(record('alpha'), 'create'); // a marker the watch must deliver after the acks
    expect(put.revision).toBeGreaterThan(before + 5); // etcd's own revision did move with every ack
    await eventually(async () => woke.length > 0, 'the replica to see the put');

    expect(woke).toEqual([put.revision]);
    expect((await b.list()).revision).toBe(put.revision);
    await a.recordAck(ack('pod-9', put.revision));
    expect((await a.list()).revision).toBe(put.revision);
    expect(a.currentRevision()).toBe(put.revision);
  });

  it('skips and logs a value it cannot read, and notices writes made around it', async () => {
    const prefix = freshPrefix();
    const logger = recordingLogger();
    const store = await openStore(prefix, { logger });
    await store.put(record('alpha'), 'create');

    const seen = nextChange(store, store.currentRevision() + 1);
    await raw.put(`${prefix}policies/broken`).value('{not json');
    const brokenRevision = await seen;

    const snapshot = await store.list();
    expect(snapshot.records.map((r) => r.policy.metadata.name)).toEqual(['alpha']);
    expect(snapshot.revision).toBeGreaterThanOrEqual(brokenRevision);
    expect(await store.get('broken')).toBeUndefined();
    const reports = logger.warnings.filter((w) => w.fields.key === `${prefix}policies/broken`);
    expect(reports).toHaveLength(1); // once per bad value, not on every read
    expect(String(reports[0]?.fields.problem)).toMatch(/not JSON/);

    // A delete made directly in etcd leaves no key behind; the store still moves its revision past it.
    const deleted = nextChange(store, snapshot.revision + 1);
    await raw.delete().key(`${prefix}policies/alpha`);
    const deleteRevision = await deleted;
    await eventually(async () => (await store.list()).revision >= deleteRevision, 'the list revision to move');
    expect((await store.list()).records).toEqual([]);

    // Even wiping every key (revision key included) does not take the revision back.
    await store.put(record('bravo'), 'create');
    const wiped = nextChange(store, store.currentRevision() + 1);
    await raw.delete().prefix(prefix);
    const wipeRevision = await wiped;
    await eventually(async () => (await store.list()).revision >= wipeRevision, 'the revision key to come back');
    expect(await store.list()).toEqual({ revision: store.currentRevision(), records: [] });
  });

  it('rejects operations once closed', async () => {
    const store = await openStore(freshPrefix());
    await store.close();
    expect((await rejection(store.list())).code).toBe('HFI_ERR_STORE_UNAVAILABLE');
    expect(await store.check()).toEqual({ ok: false, error: expect.stringMatching(/closed/) });
  });

  it('gives up a watch still waiting for its confirmation when closed, instead of holding its timer', async () => {
    // Longer than this test may run: only close() can end the wait.
    const store = new EtcdStore({
      endpoints: [etcd.endpoint],
      prefix: freshPrefix(),
      logger: recordingLogger(),
      opTimeoutMs: 120_000,
    });
    // A watch that etcd never confirms: the store's client hands back a watcher that stays silent.
    const silent = Object.assign(new EventEmitter(), { cancel: async () => {} });
    const builder = { prefix: () => builder, startRevision: () => builder, watcher: () => silent };
    (store as unknown as { client: { watch(): unknown } }).client.watch = () => builder;
    const started = store.start();
    await eventually(async () => silent.listenerCount('connected') > 0, 'the store to wait for its watch');
    await store.close();
    const error = await rejection(started);
    expect(error.code).toBe('HFI_ERR_STORE_UNAVAILABLE');
    expect(error.message).toMatch(/failed to watch: the etcd store was closed/);
  });
});

/** A TCP relay to etcd that a test can cut, so one client loses etcd while others keep it. */
async function startRelay(
  target: string,
): Promise<{ endpoint: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    open = false;
    for (const socket of sockets) socket.destroy();
  };
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut,
    restore: () => {
      open = true;
    },
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('EtcdStore when etcd is unreachable', () => {
  it('fails to start with HFI_ERR_STORE_UNAVAILABLE naming the endpoint', async () => {
    // A port that was free a moment ago and has nothing listening.
    const etcd = await startEtcd();
    const endpoint = etcd.endpoint;
    await etcd.stop();
    const store = new EtcdStore({ endpoints: [endpoint], logger: recordingLogger(), opTimeoutMs: 2000 });
    try {
      const err = await rejection(store.start());
      expect(err.code).toBe('HFI_ERR_STORE_UNAVAILABLE');
      expect(err.details.endpoint).toBe(endpoint);
    } finally {
      await store.close();
    }
  });

  it('reports not ready while etcd is down and recovers its watch after a restart', async () => {
    const etcd = await startEtcd();
    const logger = recordingLogger();
    const store = new EtcdStore({ endpoints: [etcd.endpoint], logger, opTimeoutMs: 2000, checkTimeoutMs: 1000 });
    const writer = new EtcdStore({ endpoints: [etcd.endpoint], logger: recordingLogger() });
    try {
      await store.start();
      await writer.start();
      const before = await writer.put(record('alpha'), 'create');
      await eventually(async () => store.currentRevision() >= before.revision, 'the first write to arrive');

      await etcd.kill();
      const down = await store.check();
      expect(down.ok).toBe(false);
      const listError = await rejection(store.list());
      expect(listError.code).toBe('HFI_ERR_STORE_UNAVAILABLE');
      expect(listError.statusCode).toBe(503);
      expect(listError.details.endpoint).toBe(etcd.endpoint);
      expect((await rejection(store.put(record('bravo'), 'create'))).code).toBe('HFI_ERR_STORE_UNAVAILABLE');

      await etcd.restart();
      await eventually(async () => (await store.check()).ok, 'check() to pass again');
      const after = nextChange(store, before.revision + 1);
      await eventually(
        async () =>
          writer.put(record('bravo'), 'upsert').then(
            () => true,
            () => false,
          ),
        'a write after the restart',
      );
      expect(await after).toBeGreaterThan(before.revision);
      expect((await store.list()).records.map((r) => r.policy.metadata.name)).toEqual(['alpha', 'bravo']);
      expect(logger.warnings.some((w) => /watch/.test(w.msg))).toBe(true);
    } finally {
      await store.close();
      await writer.close();
      await etcd.stop();
    }
  });

  it('lets its process exit at once after close() while the etcd client was still connecting', async () => {
    // A process of its own (the built dist), as only a process's exit shows a timer left holding it open. Closing a
    // connection that is still being made gives it a second to finish; patches/etcd3 keeps that second from holding
    // the process, which grpc's deadline timer for it did.
    const port = await closedPort();
    const { message, code, msToExit } = await runScriptToExit(
      `const { EtcdStore } = require(${dist('store/etcd-store.js')});
      const quiet = { info() {}, warn() {} };
      const store = new EtcdStore({ endpoints: [process.argv[1]], logger: quiet, opTimeoutMs: 5000 });
      store.start().catch(() => {});
      setTimeout(async () => {
        await store.close();
        process.send('closed', () => process.disconnect());
      }, 10);`,
      [`http://127.0.0.1:${port}`],
    );
    expect(message).toBe('closed');
    expect(code).toBe(0);
    // The second of grace would show as an exit about 1000 ms after close().
    expect(msToExit).toBeLessThan(500);
  });

  it('lets its process exit at once after close(), though the etcd client was waiting to reconnect its watch', async () => {
    // A process of its own (the built dist), as only a process's exit shows a timer left holding it open. While etcd
    // is cut off, the client's watch retries with a growing backoff; patches/etcd3 keeps that wait from holding the
    // process after close(), which it did for up to the whole interval (here maxBackoffMs, 20 s).
    const etcd = await startEtcd();
    const relay = await startRelay(etcd.endpoint);
    const { child, messageThenExit } = forkScript(
      `const { EtcdStore } = require(${dist('store/etcd-store.js')});
      const quiet = { info() {}, warn() {} };
      const store = new EtcdStore({ endpoints: [process.argv[1]], logger: quiet, opTimeoutMs: 2000, maxBackoffMs: 20000 });
      store.start().then(() => process.send('started'));
      process.on('message', async () => {
        await store.close();
        process.send(process.getActiveResourcesInfo(), () => process.disconnect());
      });`,
      [relay.endpoint],
    );
    try {
      const [started] = await once(child, 'message');
      expect(started).toBe('started');
      relay.cut();
      // Long enough for several failed reconnects: the backoff has doubled to over a second.
      await new Promise((r) => setTimeout(r, 2500));
      child.send('close');
      // What still holds the process right after close(): no timer may be among it.
      const { message: holding, code, msToExit } = await messageThenExit();
      expect((holding as string[]).filter((resource) => resource === 'Timeout')).toEqual([]);
      expect(code).toBe(0);
      expect(msToExit).toBeLessThan(1000);
    } finally {
      child.kill();
      await relay.close();
      await etcd.stop();
    }
  });

  it('re-creates its watch when etcd cancels it because the revision it resumes from was compacted', async () => {
    const etcd = await startEtcd();
    const relay = await startRelay(etcd.endpoint);
    const logger = recordingLogger();
    const store = new EtcdStore({ endpoints: [relay.endpoint], logger, opTimeoutMs: 2000 });
    const writer = new EtcdStore({ endpoints: [etcd.endpoint], logger: recordingLogger() });
    const admin = new Etcd3({ hosts: etcd.endpoint });
    try {
      await store.start();
      await writer.start();
      const first = await writer.put(record('alpha'), 'create');
      await eventually(async () => store.currentRevision() >= first.revision, 'the first write to arrive');

      relay.cut();
      await eventually(async () => !(await store.check()).ok, 'the store to lose etcd');
      await writer.put(record('bravo'), 'create');
      const last = await writer.put(record('charlie'), 'create');
      // Compact past everything the store has seen: resuming its watch is now impossible.
      await admin.kv.compact({ revision: last.revision, physical: true });

      const seen = nextChange(store, last.revision);
      relay.restore();
      expect(await seen).toBeGreaterThanOrEqual(last.revision);
      await eventually(async () => logger.warnings.some((w) => /cancelled the watch/.test(w.msg)), 'the cancel');

      // The new watch works: a later write arrives as an event.
      const later = nextChange(store, last.revision + 1);
      const next = await writer.put(record('delta'), 'create');
      expect(await later).toBe(next.revision);
    } finally {
      await store.close();
      await writer.close();
      admin.close();
      await relay.close();
      await etcd.stop();
    }
  });
});

/** A local port with nothing listening on it (connections to it are refused). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}
