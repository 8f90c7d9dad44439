// The behaviour every PolicyStore must show, run against each implementation.
import { isHfiError, type Policy } from '@hfi/core';
import { newRecord } from '../../policy/records';
import type { PolicyStore } from '../types';

export function policy(name: string, durationSeconds = 0): Policy {
  return {
    metadata: { name, version: '' },
    spec: {
      rules: [
        {
          match: { path: { prefix: '/' } },
          fault: {
            percentage: 10,
            abort: { httpStatus: 503 },
            ...(durationSeconds ? { duration_seconds: durationSeconds } : {}),
          },
        },
      ],
    },
  };
}

export function describeStoreContract(label: string, make: () => Promise<PolicyStore>): void {
  describe(`${label}: PolicyStore contract`, () => {
    let store: PolicyStore;
    beforeEach(async () => {
      store = await make();
      await store.start();
    });
    afterEach(async () => {
      await store.close();
    });

    test('revision moves on every put and delete, and list is sorted by name', async () => {
      const r0 = store.currentRevision();
      const b = await store.put(newRecord(policy('bbb'), 1000), 'upsert');
      const a = await store.put(newRecord(policy('aaa'), 1000), 'upsert');
      expect(b.revision).toBeGreaterThan(r0);
      expect(a.revision).toBeGreaterThan(b.revision);
      expect(store.currentRevision()).toBe(a.revision);
      const snap = await store.list();
      expect(snap.revision).toBe(a.revision);
      expect(snap.records.map((r) => r.policy.metadata.name)).toEqual(['aaa', 'bbb']);
      expect(await store.delete('aaa')).toBe(true);
      expect(store.currentRevision()).toBeGreaterThan(a.revision);
      expect(await store.delete('aaa')).toBe(false);
      expect((await store.list()).records.map((r) => r.policy.metadata.name)).toEqual(['bbb']);
    });

    test('create refuses an existing name; update refuses a missing one', async () => {
      await store.put(newRecord(policy('ccc'), 1000), 'create');
      const dup = await store.put(newRecord(policy('ccc'), 1000), 'create').catch((e: unknown) => e);
      expect(isHfiError(dup, 'HFI_ERR_POLICY_EXISTS')).toBe(true);
      const missing = await store.put(newRecord(policy('ddd'), 1000), 'update').catch((e: unknown) => e);
      expect(isHfiError(missing, 'HFI_ERR_POLICY_NOT_FOUND')).toBe(true);
      expect(await store.get('ddd')).toBeUndefined();
      const updated = await store.put(newRecord(policy('ccc', 5), 2000), 'update');
      expect(await store.get('ccc')).toEqual(updated);
      expect(updated.ruleDeadlinesMs).toEqual([7000]);
    });

    test('delete with ifRevision leaves a rewritten policy alone', async () => {
      const first = await store.put(newRecord(policy('eee'), 1000), 'upsert');
      const second = await store.put(newRecord(policy('eee'), 2000), 'upsert');
      expect(await store.delete('eee', { ifRevision: first.revision })).toBe(false);
      expect((await store.get('eee'))?.revision).toBe(second.revision);
      expect(await store.delete('eee', { ifRevision: second.revision })).toBe(true);
    });

    test('onChange reports every change with the new revision, until unsubscribed', async () => {
      const seen: number[] = [];
      const off = store.onChange((rev) => seen.push(rev));
      const put = await store.put(newRecord(policy('fff'), 1000), 'upsert');
      await store.delete('fff');
      off();
      await store.put(newRecord(policy('ggg'), 1000), 'upsert');
      expect(seen).toEqual([put.revision, put.revision + 1]);
    });

    test('acks keep the newest state per instance and drop old ones', async () => {
      const node = { instance: 'i-1', workload: 'fe', namespace: 'demo', pod: 'fe-1', labels: { app: 'fe' } };
      const now = Date.now();
      await store.recordAck({ node: { ...node, applied_revision: 1 }, seenAtMs: now - 1000 });
      await store.recordAck({ node: { ...node, applied_revision: 2 }, seenAtMs: now });
      await store.recordAck({ node: { ...node, instance: 'i-old', applied_revision: 1 }, seenAtMs: now - 120_000 });
      const acks = await store.listAcks(60_000);
      expect(acks).toEqual([{ node: { ...node, applied_revision: 2 }, seenAtMs: now }]);
    });

    // Concurrent requests may reach the backend in any order (etcd multiplexes them over one gRPC channel), so what
    // holds is: every write gets its own consecutive revision, and each name keeps the write that landed last.
    test('concurrent writes all land, each with its own revision', async () => {
      const start = store.currentRevision();
      const writes = Array.from({ length: 40 }, (_, i) => store.put(newRecord(policy(`con-${i % 10}`), i), 'upsert'));
      const landed = await Promise.all(writes);
      expect(landed.map((r) => r.revision).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 40 }, (_, i) => start + i + 1),
      );
      const snap = await store.list();
      expect(snap.revision).toBe(start + 40);
      const lastByName = new Map<string, { revision: number; writtenAtMs: number }>();
      for (const r of landed) {
        const prev = lastByName.get(r.policy.metadata.name);
        if (prev === undefined || r.revision > prev.revision) lastByName.set(r.policy.metadata.name, r);
      }
      expect(snap.records.map((r) => [r.policy.metadata.name, r.writtenAtMs, r.revision])).toEqual(
        [...lastByName.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, r]) => [name, r.writtenAtMs, r.revision]),
      );
    });

    test('check() is ok while open', async () => {
      expect(await store.check()).toEqual({ ok: true });
    });
  });
}
