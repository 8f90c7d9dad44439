import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { newRecord } from '../policy/records';
import { describeStoreContract, policy } from './__tests__/contract';
import { FileStore } from './file-store';

const DIST = resolve(__dirname, '../../dist/index.js');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hfi-file-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
describeStoreContract('FileStore', async () => new FileStore({ path: join(dir, `contract-${n++}.json`) }));

test('a restarted file store has every policy, deadline and the revision counter', async () => {
  const path = join(dir, 'restart.json');
  const first = new FileStore({ path });
  await first.start();
  await first.put(newRecord(policy('kept', 30), 5000), 'upsert');
  await first.put(newRecord(policy('gone'), 5000), 'upsert');
  await first.delete('gone');
  const revision = first.currentRevision();
  await first.close();

  const second = new FileStore({ path });
  await second.start();
  expect(second.currentRevision()).toBe(revision);
  const snap = await second.list();
  expect(snap.records).toHaveLength(1);
  expect(snap.records[0]).toMatchObject({ writtenAtMs: 5000, ruleDeadlinesMs: [35000], revision: revision - 2 });
  // Revisions continue from where they were, never reused.
  const next = await second.put(newRecord(policy('more'), 6000), 'upsert');
  expect(next.revision).toBe(revision + 1);
  await second.close();
});

test('a file store refuses to start on a file it cannot read, and leaves the file alone', async () => {
  const path = join(dir, 'corrupt.json');
  await writeFile(path, '{"format":"hfi-policies/v1","revision":3,"policies":[');
  const store = new FileStore({ path });
  await expect(store.start()).rejects.toMatchObject({ code: 'HFI_ERR_STORE_UNAVAILABLE' });
  expect(await readFile(path, 'utf8')).toBe('{"format":"hfi-policies/v1","revision":3,"policies":[');
});

test('a failed write is not acknowledged and changes nothing', async () => {
  const path = join(dir, 'no-such-dir-later', 'policies.json');
  const store = new FileStore({ path });
  await store.start();
  await store.put(newRecord(policy('first'), 1000), 'upsert');
  const before = store.currentRevision();
  // Remove the directory under the store: the next atomic replace cannot create its temp file.
  await rm(join(dir, 'no-such-dir-later'), { recursive: true });
  await expect(store.put(newRecord(policy('second'), 1000), 'upsert')).rejects.toMatchObject({
    code: 'HFI_ERR_STORE_UNAVAILABLE',
  });
  expect(store.currentRevision()).toBe(before);
  expect(await store.get('second')).toBeUndefined();
  expect((await store.check()).ok).toBe(false);
  await store.close();
});

// A child process writes as fast as it can and prints each acknowledged write; we SIGKILL it mid-stream, several
// times, and every acknowledged write must be in the file, which must always parse. The child keeps writing until
// the kill lands, so later unacknowledged writes may be there too: upserts carry an increasing sequence number
// (writtenAtMs) and deleted names are never written again, which keeps every acknowledged state checkable.
test('kill -9 during writes loses no acknowledged write and never corrupts the file', async () => {
  expect(existsSync(DIST)).toBe(true); // build first: npx tsc -b packages/control-plane
  const path = join(dir, 'crash.json');
  const script = `
    const { FileStore } = require(${JSON.stringify(DIST)});
    (async () => {
      const store = new FileStore({ path: ${JSON.stringify(path)} });
      await store.start();
      const seq0 = Date.now() * 1000;
      const put = async (name, seq) => {
        const policy = { metadata: { name, version: '' }, spec: { rules: [{ match: { path: { prefix: '/' } },
          fault: { percentage: 1, abort: { httpStatus: 503 } } }] } };
        const rec = await store.put({ policy, writtenAtMs: seq, ruleDeadlinesMs: [null] }, 'upsert');
        process.stdout.write('PUT ' + name + ' ' + rec.revision + ' ' + seq + '\\n');
      };
      for (let i = 0; ; i++) {
        const seq = seq0 + i;
        if (i % 5 === 3) await put('tmp-' + seq, seq);
        else if (i % 5 === 4) {
          const name = 'tmp-' + (seq - 1);
          const gone = await store.delete(name);
          process.stdout.write('DEL ' + name + ' ' + store.currentRevision() + ' ' + gone + '\\n');
        } else await put('p-' + (i % 17), seq);
      }
    })();`;
  let lastRevision = 0;
  for (let round = 0; round < 3; round++) {
    const puts = new Map<string, number>(); // name → sequence number of its last acknowledged upsert
    const deleted = new Set<string>();
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    let count = 0;
    try {
      for await (const line of createInterface({ input: child.stdout })) {
        const [op, name, rev, value] = line.split(' ') as [string, string, string, string];
        const revision = Number(rev);
        expect([line, revision > lastRevision]).toEqual([line, true]); // revisions only grow, across crashes too
        lastRevision = revision;
        if (op === 'PUT') puts.set(name, Number(value));
        else {
          expect([line, value]).toEqual([line, 'true']);
          deleted.add(name);
        }
        if (++count === 150 + round * 50) break;
      }
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');

    const reloaded = new FileStore({ path });
    await reloaded.start(); // throws if the file were torn
    expect(reloaded.currentRevision()).toBeGreaterThanOrEqual(lastRevision);
    for (const name of deleted) expect([name, await reloaded.get(name)]).toEqual([name, undefined]);
    for (const [name, seq] of puts) {
      if (name.startsWith('tmp-')) continue; // its delete may have landed unacknowledged
      const record = await reloaded.get(name);
      expect([name, (record?.writtenAtMs ?? 0) >= seq]).toEqual([name, true]);
    }
    lastRevision = reloaded.currentRevision();
    await reloaded.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('crash.json.tmp-'))).toEqual([]);
  }
}, 60_000);
