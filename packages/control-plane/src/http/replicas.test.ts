// Two control-plane replicas on one real etcd (`etcd:` store spec): a write through either wakes watches on both,
// both list the same acks, and expiry deletes once. The etcd store itself is tested in store/etcd-store.test.ts.
import { examplePolicy, request, startTestControlPlane } from '../__tests__/http';
import { type StartedEtcd, startEtcd } from '../testing/etcd';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;

let etcd: StartedEtcd;
let a: CP;
let b: CP;
beforeAll(async () => {
  etcd = await startEtcd();
  a = await startTestControlPlane({ store: `etcd:${etcd.endpoint}` });
  b = await startTestControlPlane({ store: `etcd:${etcd.endpoint}` });
}, 60_000);
afterAll(async () => {
  await a?.close();
  await b?.close();
  await etcd?.stop();
});

async function untilPendingWatches(cp: CP, n: number): Promise<void> {
  while (
    !new RegExp(`^hfi_control_plane_pending_watches ${n}$`, 'm').test((await request('GET', `${cp.url}/metrics`)).text)
  ) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('both replicas are ready on etcd', async () => {
  expect((await request('GET', `${a.url}/v1/ready`)).json).toEqual({ status: 'ready', storage: 'etcd' });
  expect((await request('GET', `${b.url}/v1/ready`)).json).toEqual({ status: 'ready', storage: 'etcd' });
});

test('a write through one replica answers a watch held on the other, at etcd revision', async () => {
  const start = (await request('GET', `${b.url}/v1/policies`)).json.revision as number;
  const watch = request(
    'GET',
    `${b.url}/v1/policies?watch=true&revision=${start}&timeout_ms=60000&instance=w-1&workload=web&namespace=demo&pod=web-1`,
  );
  await untilPendingWatches(b, 1);
  const created = await request('POST', `${a.url}/v1/policies`, { body: examplePolicy('replicated') });
  expect(created.status).toBe(201);
  const answer = await watch;
  expect(answer.json.revision).toBe(created.json.status.revision);
  expect(answer.json.policies.map((p: { metadata: { name: string } }) => p.metadata.name)).toContain('replicated');
  // The ack made through b is visible through a.
  const nodes = (await request('GET', `${a.url}/v1/nodes`)).json.nodes;
  expect(nodes).toContainEqual(expect.objectContaining({ instance: 'w-1', workload: 'web', applied_revision: start }));
  expect((await request('DELETE', `${b.url}/v1/policies/replicated`)).status).toBe(200);
}, 30_000);

test('an expiring policy written through one replica is deleted once, within 1 s, and both see it go', async () => {
  const created = await request('POST', `${a.url}/v1/policies`, {
    body: examplePolicy('expiring', { duration_seconds: 1 }),
  });
  const deadline = Date.parse(created.json.status.rules[0].expires_at);
  let revision = created.json.status.revision as number;
  for (;;) {
    const res = await request('GET', `${b.url}/v1/policies?watch=true&revision=${revision}&timeout_ms=60000`);
    revision = res.json.revision;
    if (!res.json.policies.some((p: { metadata: { name: string } }) => p.metadata.name === 'expiring')) break;
  }
  expect(Date.now() - deadline).toBeLessThanOrEqual(1000);
  expect((await request('GET', `${a.url}/v1/policies/expiring`)).status).toBe(404);
  const expiredTotal = async (cp: CP) =>
    Number(
      /^hfi_control_plane_policies_expired_total (\d+)$/m.exec((await request('GET', `${cp.url}/metrics`)).text)?.[1],
    );
  expect((await expiredTotal(a)) + (await expiredTotal(b))).toBe(1);
}, 30_000);
