import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { startControlPlane } from '@hfi/control-plane';
import { HfiError, type Policy } from '@hfi/core';
import { ControlPlaneClient } from './control-plane-client';

type RunningControlPlane = Awaited<ReturnType<typeof startControlPlane>>;

const policy = (name: string, overrides: Partial<Policy['spec']> = {}): Policy => ({
  metadata: { name },
  spec: {
    selector: { service: 'frontend', namespace: 'demo' },
    rules: [{ match: { path: { prefix: '/api/' } }, fault: { percentage: 50, abort: { httpStatus: 503 } } }],
    ...overrides,
  },
});

async function rejection(promise: Promise<unknown>): Promise<HfiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(HfiError);
    return err as HfiError;
  }
  throw new Error('expected the call to fail');
}

/** A port nothing listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('ControlPlaneClient against a real control plane', () => {
  let cp: RunningControlPlane;
  let client: ControlPlaneClient;

  beforeAll(async () => {
    cp = await startControlPlane({ listen: '127.0.0.1:0', logLevel: 'silent' });
    client = new ControlPlaneClient({ url: cp.url, timeoutMs: 20_000 });
  });

  afterAll(async () => {
    await client?.close();
    await cp?.close();
  });

  it('reports health and readiness', async () => {
    await expect(client.health()).resolves.toEqual({ status: 'healthy' });
    await expect(client.ready()).resolves.toMatchObject({ status: 'ready' });
  });

  it('applies, reads, lists and deletes a policy, with revisions moving', async () => {
    const before = await client.listPolicies();
    const stored = await client.applyPolicy(policy('round-trip'));
    expect(stored.metadata.name).toBe('round-trip');

    const one = await client.getPolicy('round-trip');
    expect(one.spec.selector).toEqual({ service: 'frontend', namespace: 'demo' });
    expect(one.status.revision).toBeGreaterThan(before.revision);

    const after = await client.listPolicies();
    expect(after.revision).toBe(one.status.revision);
    expect(after.policies.map((p) => p.metadata.name)).toContain('round-trip');

    await client.deletePolicy('round-trip');
    const gone = await rejection(client.getPolicy('round-trip'));
    expect(gone.code).toBe('HFI_ERR_POLICY_NOT_FOUND');
  });

  it('creates only new names and updates only existing ones, with a higher version', async () => {
    const v1 = { ...policy('create-me'), metadata: { name: 'create-me', version: '1.0.0' } };
    const created = await client.createPolicy(v1);
    expect(created.metadata).toEqual({ name: 'create-me', version: '1.0.0' });
    const duplicate = await rejection(client.createPolicy(v1));
    expect(duplicate).toMatchObject({ code: 'HFI_ERR_POLICY_EXISTS', statusCode: 409 });
    expect(duplicate.details).toMatchObject({ status: 409, method: 'POST', url: `${cp.url}/v1/policies/create` });

    const sameVersion = await rejection(client.updatePolicy('create-me', v1));
    expect(sameVersion).toMatchObject({ code: 'HFI_ERR_POLICY_VERSION', statusCode: 400 });

    const v2 = {
      metadata: { name: 'create-me', version: '1.0.1' },
      spec: { ...v1.spec, selector: { service: 'cart' } },
    };
    const updated = await client.updatePolicy('create-me', v2);
    expect(updated.spec.selector).toEqual({ service: 'cart' });
    await client.deletePolicy('create-me');
  });

  it('maps a 404 to HFI_ERR_POLICY_NOT_FOUND with the status, method, URL and body in details', async () => {
    const err = await rejection(client.getPolicy('no-such-policy'));
    expect(err.code).toBe('HFI_ERR_POLICY_NOT_FOUND');
    expect(err.statusCode).toBe(404);
    expect(err.details).toMatchObject({
      status: 404,
      error: 'not_found',
      method: 'GET',
      url: `${cp.url}/v1/policies/no-such-policy`,
    });
    expect(err.details.body).toMatchObject({ error: 'not_found' });
    expect(typeof err.details.requestId).toBe('string');
  });

  it('URL-encodes names, so a name with a slash reaches the policy route', async () => {
    const err = await rejection(client.deletePolicy('a/b c'));
    // Unencoded, `a/b c` would hit no route at all (HFI_ERR_NOT_FOUND); encoded it is a missing policy.
    expect(err.code).toBe('HFI_ERR_POLICY_NOT_FOUND');
    expect(err.details.url).toBe(`${cp.url}/v1/policies/a%2Fb%20c`);
  });

  it("maps a rejected policy to the server's code, message and field", async () => {
    const invalid = policy('bad-percentage');
    (invalid.spec.rules[0] as Policy['spec']['rules'][number]).fault.percentage = 150;
    const err = await rejection(client.applyPolicy(invalid));
    expect(err.code).toBe('HFI_ERR_POLICY_INVALID');
    expect(err.statusCode).toBe(400);
    expect(err.field).toBe('spec.rules[0].fault.percentage');
    expect(err.message).toContain('percentage must be between 0 and 100');
  });

  it('summarises policies with an empty array, never null', async () => {
    const fresh = await startControlPlane({ listen: '127.0.0.1:0', logLevel: 'silent' });
    try {
      await using own = new ControlPlaneClient({ url: fresh.url });
      await expect(own.policyStatus()).resolves.toEqual({
        summary: { total_policies: 0, abort_policies: 0, delay_policies: 0, active_policies: 0 },
        policies: [],
      });
      await own.applyPolicy(policy('counted'));
      const report = await own.policyStatus();
      expect(report.summary).toMatchObject({ total_policies: 1, abort_policies: 1 });
      expect(report.policies[0]).toMatchObject({ name: 'counted', target_service: 'frontend', fault_types: ['abort'] });
    } finally {
      await fresh.close();
    }
  });

  it('long-polls until the revision moves, and an identified watch shows up in nodes()', async () => {
    const { revision } = await client.listPolicies();
    const identity = {
      instance: 'pod-a#0',
      workload: 'frontend',
      namespace: 'demo',
      pod: 'pod-a',
      labels: { app: 'x' },
    };
    const waiting = client.watchPolicies({ revision, timeoutMs: 20_000, identity });
    // The watch is held; a write releases it.
    await client.applyPolicy(policy('wake-up'));
    const result = await waiting;
    expect(result.changed).toBe(true);
    expect(result.revision).toBeGreaterThan(revision);
    expect(result.policies.map((p) => p.metadata.name)).toContain('wake-up');

    const { nodes } = await client.nodes();
    expect(nodes).toContainEqual(
      expect.objectContaining({ instance: 'pod-a#0', pod: 'pod-a', applied_revision: revision, stale: false }),
    );
    await client.deletePolicy('wake-up');
  });

  it('answers a watch with changed: false when nothing moves before its timeout', async () => {
    const { revision } = await client.listPolicies();
    const result = await client.watchPolicies({ revision, timeoutMs: 50 });
    expect(result).toMatchObject({ changed: false, revision });
  });

  it("rejects with the caller's abort reason when the signal fires", async () => {
    const { revision } = await client.listPolicies();
    const controller = new AbortController();
    const waiting = client.watchPolicies({ revision, timeoutMs: 20_000, signal: controller.signal });
    controller.abort(new Error('stop watching'));
    await expect(waiting).rejects.toThrow('stop watching');
  });
});

describe('ControlPlaneClient with a token-protected control plane', () => {
  let cp: RunningControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane({ listen: '127.0.0.1:0', token: 's3cret', logLevel: 'silent' });
  });

  afterAll(async () => {
    await cp?.close();
  });

  it('maps a write without the token to HFI_ERR_UNAUTHORIZED (401) and writes with it', async () => {
    await using anonymous = new ControlPlaneClient({ url: cp.url });
    const err = await rejection(anonymous.applyPolicy(policy('guarded')));
    expect(err).toMatchObject({ code: 'HFI_ERR_UNAUTHORIZED', statusCode: 401 });
    expect(err.details).toMatchObject({ status: 401, error: 'unauthorized', method: 'POST' });

    await using wrong = new ControlPlaneClient({ url: cp.url, token: 'guess' });
    await expect(wrong.deletePolicy('guarded')).rejects.toMatchObject({ code: 'HFI_ERR_UNAUTHORIZED' });

    await using authorised = new ControlPlaneClient({ url: cp.url, token: 's3cret' });
    await expect(authorised.applyPolicy(policy('guarded'))).resolves.toMatchObject({ metadata: { name: 'guarded' } });
    // Reads stay open, as in the reference.
    await expect(anonymous.getPolicy('guarded')).resolves.toMatchObject({ metadata: { name: 'guarded' } });
  });
});

describe('ControlPlaneClient transport failures', () => {
  it('maps a refused connection to HFI_ERR_CONTROL_PLANE_UNREACHABLE with the URL and cause code', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await using client = new ControlPlaneClient({ url });
    const err = await rejection(client.health());
    expect(err.code).toBe('HFI_ERR_CONTROL_PLANE_UNREACHABLE');
    expect(err.message).toMatch(new RegExp(`^control plane unreachable at ${url}: .*ECONNREFUSED`));
    expect(err.details).toMatchObject({ url: `${url}/v1/health`, cause: 'ECONNREFUSED' });
  });

  it('maps a name that does not resolve to HFI_ERR_CONTROL_PLANE_UNREACHABLE', async () => {
    await using client = new ControlPlaneClient({ url: 'http://hfi-control-plane.invalid:8080' });
    const err = await rejection(client.health());
    expect(err.code).toBe('HFI_ERR_CONTROL_PLANE_UNREACHABLE');
    expect(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']).toContain(err.details.cause);
  });

  it('maps a fake server that accepts but never answers to HFI_ERR_TIMEOUT', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as net.AddressInfo;
    try {
      await using client = new ControlPlaneClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 200 });
      const err = await rejection(client.listPolicies());
      expect(err.code).toBe('HFI_ERR_TIMEOUT');
      expect(err.details).toMatchObject({ method: 'GET', timeoutMs: 200 });
      expect(err.message).toBe(
        `control plane at http://127.0.0.1:${port} did not answer GET /v1/policies within 200ms`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('maps a non-JSON error page from a fake proxy to HFI_ERR_CONTROL_PLANE_RESPONSE with its status', async () => {
    const proxy = http.createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const { port } = proxy.address() as net.AddressInfo;
    try {
      await using client = new ControlPlaneClient({ url: `http://127.0.0.1:${port}` });
      const err = await rejection(client.listPolicies());
      expect(err).toMatchObject({ code: 'HFI_ERR_CONTROL_PLANE_RESPONSE', statusCode: 502 });
      expect(err.message).toBe('<html>Bad Gateway</html>');
      expect(err.details).toMatchObject({ status: 502, body: '<html>Bad Gateway</html>' });
    } finally {
      proxy.close();
    }
  });

  it('refuses a URL whose scheme is not http or https', () => {
    expect(() => new ControlPlaneClient({ url: 'ftp://localhost:8080' })).toThrow(
      expect.objectContaining({ code: 'HFI_ERR_CONFIG', field: 'url' }),
    );
  });
});
