// Expiry: rule deadlines, whole-policy deletion within 1 s of the deadline, and deadlines that survive a restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { examplePolicy, request, startTestControlPlane } from '../__tests__/http';
import { newRecord } from '../policy/records';
import { policy } from '../store/__tests__/contract';
import { FileStore } from '../store/file-store';
import { MemoryStore } from '../store/memory-store';
import { Expirer } from './expirer';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hfi-expiry-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const silent = pino({ level: 'silent' });

/** Holds a watch at `revision` and resolves with the moment it was answered and the answer. */
async function nextChange(url: string, revision: number) {
  const res = await request('GET', `${url}/v1/policies?watch=true&revision=${revision}&timeout_ms=300000`);
  return { at: Date.now(), res };
}

test('a policy whose rules all have a duration is deleted within 1 s of its deadline', async () => {
  await using cp = await startTestControlPlane();
  const created = await request('POST', `${cp.url}/v1/policies`, {
    body: examplePolicy('brief', { duration_seconds: 1 }),
  });
  const [rule] = created.json.status.rules;
  expect(rule).toEqual({ active: true, expires_at: expect.any(String), remaining_ms: expect.any(Number) });
  expect(rule.remaining_ms).toBeLessThanOrEqual(1000);
  const deadline = Date.parse(rule.expires_at);
  expect(deadline).toBe(Date.parse(created.json.status.updated_at) + 1000);

  const { at, res } = await nextChange(cp.url, created.json.status.revision);
  expect(res.json).toEqual({ policies: [], revision: created.json.status.revision + 1 });
  expect(at).toBeGreaterThanOrEqual(deadline);
  expect(at - deadline).toBeLessThanOrEqual(1000);
  expect((await request('GET', `${cp.url}/v1/policies/brief`)).status).toBe(404);
});

test('a timed rule turns inactive but its policy stays while another rule is open-ended', async () => {
  await using cp = await startTestControlPlane();
  const body = examplePolicy('half-timed');
  body.spec.rules.push({
    match: { method: { exact: 'POST' }, path: { exact: '/x' } },
    fault: { percentage: 10, abort: { httpStatus: 500 }, duration_seconds: 1 },
  } as (typeof body.spec.rules)[number]);
  const created = await request('POST', `${cp.url}/v1/policies`, { body });
  expect(created.json.status.rules).toEqual([
    { active: true },
    { active: true, expires_at: expect.any(String), remaining_ms: expect.any(Number) },
  ]);
  let got: { status: { rules: { active: boolean; remaining_ms?: number }[] } };
  do {
    await new Promise((r) => setTimeout(r, 100));
    got = (await request('GET', `${cp.url}/v1/policies/half-timed`)).json;
  } while (got.status.rules[1]?.active);
  expect(got.status.rules).toEqual([
    { active: true },
    { active: false, expires_at: expect.any(String), remaining_ms: 0 },
  ]);
  const status = (await request('GET', `${cp.url}/v1/policies/status`)).json;
  expect(status.policies[0]).toMatchObject({ name: 'half-timed', active: true });
  expect((await request('GET', `${cp.url}/v1/policies`)).json.revision).toBe(created.json.status.revision);
});

test('a restart on the file store neither forgets nor extends a deadline', async () => {
  const spec = `file:${join(dir, 'restart.json')}`;
  let deadline: number;
  let revision: number;
  {
    await using first = await startTestControlPlane({ store: spec });
    const created = await request('POST', `${first.url}/v1/policies`, {
      body: examplePolicy('survivor', { duration_seconds: 2 }),
    });
    deadline = Date.parse(created.json.status.rules[0].expires_at);
    revision = created.json.status.revision;
  }
  await using second = await startTestControlPlane({ store: spec });
  const askedAt = Date.now();
  const reread = await request('GET', `${second.url}/v1/policies/survivor`);
  expect(reread.status).toBe(200);
  expect(Date.parse(reread.json.status.rules[0].expires_at)).toBe(deadline);
  // Counted from the original write: the server answered at or after askedAt, so no more than this is left.
  expect(reread.json.status.rules[0].remaining_ms).toBeLessThanOrEqual(deadline - askedAt);
  const { at, res } = await nextChange(second.url, revision);
  expect(res.json.policies).toEqual([]);
  expect(at).toBeGreaterThanOrEqual(deadline);
  expect(at - deadline).toBeLessThanOrEqual(1000);
});

test('policies that expired while no control plane ran are gone before the first request', async () => {
  const path = join(dir, 'expired-offline.json');
  const store = new FileStore({ path });
  await store.start();
  const writtenAt = Date.now() - 10_000;
  await store.put(newRecord(policy('expired-offline', 5), writtenAt), 'upsert');
  await store.put(newRecord(policy('still-valid', 3600), writtenAt), 'upsert');
  await store.close();

  await using cp = await startTestControlPlane({ store: `file:${path}` });
  const list = await request('GET', `${cp.url}/v1/policies`);
  expect(list.json.policies.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['still-valid']);
  expect(list.json.revision).toBe(3);
});

describe('Expirer (fake timers)', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('one timer for the earliest deadline, re-armed on changes; a rewrite moves the deadline', async () => {
    const store = new MemoryStore();
    const expired: string[] = [];
    const expirer = new Expirer(store, silent, (name) => expired.push(name));
    await expirer.start();
    const t0 = Date.now();
    await store.put(newRecord(policy('later', 10), t0), 'upsert');
    await store.put(newRecord(policy('sooner', 2), t0), 'upsert');
    await store.put(newRecord(policy('forever'), t0), 'upsert');
    await jest.advanceTimersByTimeAsync(0); // let the sweep the last change started run
    expect(jest.getTimerCount()).toBe(1);

    await jest.advanceTimersByTimeAsync(1999);
    expect(expired).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(expired).toEqual(['sooner']);

    // Rewritten at t0+5s: its 10 s now count from there.
    await store.put(newRecord(policy('later', 10), Date.now() + 3000), 'upsert');
    await jest.advanceTimersByTimeAsync(8000); // t0+10s: the old deadline passes
    expect(expired).toEqual(['sooner']);
    await jest.advanceTimersByTimeAsync(5000); // t0+15s
    expect(expired).toEqual(['sooner', 'later']);
    expect((await store.list()).records.map((r) => r.policy.metadata.name)).toEqual(['forever']);
    expect(jest.getTimerCount()).toBe(0);
    expirer.stop();
  });

  test('a change made elsewhere (another replica) re-arms the timer', async () => {
    const store = new MemoryStore();
    const expired: string[] = [];
    const expirer = new Expirer(store, silent, (name) => expired.push(name));
    await expirer.start();
    expect(jest.getTimerCount()).toBe(0);
    // The store announces the write; the expirer learns of it only through onChange.
    await store.put(newRecord(policy('remote', 1), Date.now()), 'upsert');
    await jest.advanceTimersByTimeAsync(0);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(expired).toEqual(['remote']);
    expirer.stop();
  });
});
