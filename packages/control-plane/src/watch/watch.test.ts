// Long-poll watch, acks and /v1/nodes over real HTTP.

import { examplePolicy, request, startTestControlPlane } from '../__tests__/http';
import { nodesBody } from '../nodes';
import { MemoryStore } from '../store/memory-store';
import { parseListQuery } from './watch-query';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;

/** Waits until the control plane's own gauge says `n` watches are held: the event that a watch is parked. */
async function untilPendingWatches(cp: CP, n: number): Promise<void> {
  for (;;) {
    const text = (await request('GET', `${cp.url}/metrics`)).text;
    if (new RegExp(`^hfi_control_plane_pending_watches ${n}$`, 'm').test(text)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const identity =
  'instance=fe-1-w0&workload=frontend&namespace=demo&pod=frontend-1&labels=app%3Dfrontend%2Cversion%3Dv1';

test('a held watch answers right after a write, with the new revision and policies', async () => {
  await using cp = await startTestControlPlane();
  const first = await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('one') });
  const revision = first.json.status.revision as number;
  const watch = request('GET', `${cp.url}/v1/policies?watch=true&revision=${revision}&timeout_ms=300000`);
  await untilPendingWatches(cp, 1);
  await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('two') });
  const answer = await watch;
  expect(answer.status).toBe(200);
  expect(answer.json.revision).toBe(revision + 1);
  expect(answer.headers.etag).toBe(`"${revision + 1}"`);
  expect(answer.json.policies.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['one', 'two']);
  await untilPendingWatches(cp, 0);
  // A held watch gets its access-log line like any request, with its own request id.
  expect(cp.logs.lines).toContainEqual(
    expect.objectContaining({
      message: 'HTTP Request',
      path: '/v1/policies',
      query: `watch=true&revision=${revision}&timeout_ms=300000`,
      status: 200,
      request_id: answer.headers['x-request-id'],
    }),
  );
});

test('a watch on a stale revision answers at once; one on the current revision times out with it', async () => {
  await using cp = await startTestControlPlane({ watchTimeoutMs: 200 });
  await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('one') });
  const stale = await request('GET', `${cp.url}/v1/policies?watch=true&revision=0&timeout_ms=300000`);
  expect(stale).toMatchObject({ status: 200, json: { revision: 1 } });
  const noRevision = await request('GET', `${cp.url}/v1/policies?watch=true&timeout_ms=300000`);
  expect(noRevision).toMatchObject({ status: 200, json: { revision: 1 } });

  const timedOut = await request('GET', `${cp.url}/v1/policies?watch=true&revision=1&timeout_ms=150`);
  expect(timedOut).toMatchObject({ status: 200, json: { revision: 1, policies: [{ metadata: { name: 'one' } }] } });
  // Without timeout_ms the configured default (here 200 ms) applies.
  const defaulted = await request('GET', `${cp.url}/v1/policies?watch=true&revision=1`);
  expect(defaulted).toMatchObject({ status: 200, json: { revision: 1 } });
  expect((await request('GET', `${cp.url}/metrics`)).text).toMatch(
    /^hfi_control_plane_watch_answers_total\{reason="timeout"\} 2$/m,
  );
});

test('one write wakes every held watch with the same body; disconnected watchers are dropped', async () => {
  await using cp = await startTestControlPlane();
  const controller = new AbortController();
  const gone = request('GET', `${cp.url}/v1/policies?watch=true&revision=0`, { signal: controller.signal }).catch(
    (e: Error) => e.name,
  );
  const watches = Array.from({ length: 200 }, () => request('GET', `${cp.url}/v1/policies?watch=true&revision=0`));
  await untilPendingWatches(cp, 201);
  controller.abort();
  expect(await gone).toBe('AbortError');
  await untilPendingWatches(cp, 200);
  await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('fan-out') });
  const answers = await Promise.all(watches);
  expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]));
  expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  expect(answers[0]?.json.revision).toBe(1);
  const metrics = (await request('GET', `${cp.url}/metrics`)).text;
  expect(metrics).toMatch(/^hfi_control_plane_watch_answers_total\{reason="change"\} 200$/m);
  // One fan-out for the one write.
  expect(metrics).toMatch(/^hfi_control_plane_watch_fanout_duration_seconds_count 1$/m);
});

test('close() answers held watches (with Connection: close) before the server stops', async () => {
  const cp = await startTestControlPlane();
  const watch = request('GET', `${cp.url}/v1/policies?watch=true&revision=0&timeout_ms=300000`);
  await untilPendingWatches(cp, 1);
  await cp.close();
  const answer = await watch;
  expect(answer).toMatchObject({ status: 200, json: { revision: 0, policies: [] } });
  expect(answer.headers.connection).toBe('close');
  await expect(request('GET', `${cp.url}/v1/health`)).rejects.toThrow();
});

test('bad watch parameters are 400s naming the parameter', async () => {
  await using cp = await startTestControlPlane();
  for (const [query, field] of [
    ['watch=true&revision=abc', 'revision'],
    ['watch=true&revision=-1', 'revision'],
    ['watch=true&revision=1&timeout_ms=soon', 'timeout_ms'],
    ['instance=x&labels=novalue', 'labels'],
  ] as const) {
    const res = await request('GET', `${cp.url}/v1/policies?${query}`);
    expect(res).toMatchObject({ status: 400, json: { hfi_code: 'HFI_ERR_BAD_REQUEST', details: { field } } });
    expect(res.json.message).toMatch(new RegExp(`^${field}: `));
  }
});

test('timeout_ms is capped at 300000', () => {
  expect(parseListQuery({ watch: 'true', revision: '3', timeout_ms: '999999999' }, 25000)).toEqual({
    watch: true,
    revision: 3,
    timeoutMs: 300000,
  });
  expect(parseListQuery({ watch: 'true' }, 25000).timeoutMs).toBe(25000);
});

test('watch requests are acks: /v1/nodes lists each instance with identity, labels and applied revision', async () => {
  await using cp = await startTestControlPlane();
  await request('POST', `${cp.url}/v1/policies`, { body: examplePolicy('one') });
  // An instance that has applied nothing yet asks without a revision and is answered at once.
  await request('GET', `${cp.url}/v1/policies?watch=true&${identity}`);
  await request(
    'GET',
    `${cp.url}/v1/policies?watch=true&revision=0&instance=be-1-w0&workload=backend&namespace=demo&pod=backend-1`,
  );
  let nodes = (await request('GET', `${cp.url}/v1/nodes`)).json;
  expect(nodes).toEqual({
    revision: 1,
    nodes: [
      {
        instance: 'be-1-w0',
        workload: 'backend',
        namespace: 'demo',
        pod: 'backend-1',
        labels: {},
        applied_revision: 0,
        last_seen: expect.any(String),
        stale: false,
      },
      {
        instance: 'fe-1-w0',
        workload: 'frontend',
        namespace: 'demo',
        pod: 'frontend-1',
        labels: { app: 'frontend', version: 'v1' },
        applied_revision: 0,
        last_seen: expect.any(String),
        stale: false,
      },
    ],
  });
  // It applies revision 1 and polls again: that request is its ack, held until the next change.
  const held = request('GET', `${cp.url}/v1/policies?watch=true&revision=1&timeout_ms=300000&${identity}`);
  await untilPendingWatches(cp, 1);
  nodes = (await request('GET', `${cp.url}/v1/nodes`)).json;
  expect(nodes.nodes[1]).toMatchObject({ instance: 'fe-1-w0', applied_revision: 1, stale: false });
  await request('DELETE', `${cp.url}/v1/policies/one`);
  expect((await held).json.revision).toBe(2);
});

test('an instance not heard from for longer than nodeStaleMs is marked stale', async () => {
  await using cp = await startTestControlPlane({ nodeStaleMs: 3000 });
  await request('GET', `${cp.url}/v1/policies?revision=0&${identity}`);
  expect((await request('GET', `${cp.url}/v1/nodes`)).json.nodes[0].stale).toBe(false);
  let node: { stale: boolean; last_seen: string };
  do {
    await new Promise((r) => setTimeout(r, 100));
    node = (await request('GET', `${cp.url}/v1/nodes`)).json.nodes[0];
  } while (!node.stale);
  expect(Date.now() - Date.parse(node.last_seen)).toBeGreaterThan(3000);
  // Heard from again: fresh.
  await request('GET', `${cp.url}/v1/policies?revision=0&${identity}`);
  expect((await request('GET', `${cp.url}/v1/nodes`)).json.nodes[0].stale).toBe(false);
}, 30_000);

test('nodesBody: stale by last contact, connected instances count as seen now, sorted by namespace/workload/pod', async () => {
  const store = new MemoryStore();
  const base = { labels: {}, applied_revision: 4 };
  await store.recordAck({
    node: { ...base, instance: 'b', workload: 'web', namespace: 'shop', pod: 'web-2' },
    seenAtMs: 1_000,
  });
  await store.recordAck({
    node: { ...base, instance: 'a', workload: 'web', namespace: 'shop', pod: 'web-1' },
    seenAtMs: 50_000,
  });
  await store.recordAck({
    node: { ...base, instance: 'c', workload: 'api', namespace: 'auth', pod: 'api-1' },
    seenAtMs: 1_000,
  });
  const body = await nodesBody(store, {
    staleMs: 10_000,
    retainMs: Number.MAX_SAFE_INTEGER,
    connected: new Set(['c']),
    nowMs: 55_000,
  });
  expect(body.nodes.map((n) => [n.instance, n.stale, n.last_seen])).toEqual([
    ['c', false, new Date(55_000).toISOString()],
    ['a', false, new Date(50_000).toISOString()],
    ['b', true, new Date(1_000).toISOString()],
  ]);
});
