// A FAKE Kubernetes API server for tests: no real API server can run here, so this one answers the few core/v1
// routes hfi uses with the JSON a real one sends (Pod, PodList, Status), over real HTTP on 127.0.0.1:<ephemeral>,
// and hands out a kubeconfig that @kubernetes/client-node loads as it would a cluster's.
//
//   GET /version
//   GET /api/v1/namespaces/{ns}
//   GET /api/v1/namespaces/{ns}/pods         ?labelSelector= &limit= &continue=   (also /api/v1/pods)
//   GET /api/v1/namespaces/{ns}/pods/{name}
//   GET /api/v1/namespaces/{ns}/pods/{name}[:{port}]/proxy/{path}   the pod proxy, to a per-pod backend
//
// Authentication is a bearer token (401 Status otherwise); `authorize` decides RBAC (403 Status with the real
// "cannot <verb> resource" message). Counters of proxy requests in flight let tests check concurrency bounds.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import {
  type FakePodSpec,
  type PodObject,
  podListObject,
  podObject,
  type StatusObject,
  statusObject,
} from './kube-objects';
import { LabelSelectorError, matchesLabels, parseLabelSelector } from './label-selector';

export { type FakePodSpec, type PodObject, type StatusObject, statusObject } from './kube-objects';

export interface FakeProxyRequest {
  pod: PodObject;
  port: number;
  /** Path and query after `/proxy`, e.g. `/stats/prometheus`. */
  path: string;
}

/** A body (200 text/plain), a full reply, or a Kubernetes Status (sent with its `code`). */
export type FakeProxyReply = string | StatusObject | { status?: number; contentType?: string; body: string | Buffer };

/**
 * What answers a pod's proxy: the base URL of a real HTTP server (the request is forwarded there, as the API server
 * forwards to podIP:port), or a handler.
 */
export type FakeProxyBackend = string | ((req: FakeProxyRequest) => FakeProxyReply | Promise<FakeProxyReply>);

export interface FakeAccess {
  verb: 'get' | 'list';
  /** `pods`, `pods/proxy`, `namespaces`. */
  resource: string;
  namespace?: string;
  name?: string;
}

export interface FakeKubeApiServerOptions {
  /** Bearer token every request must carry. Default: a random one (the kubeconfig carries it). */
  token?: string;
  /** The user RBAC messages name. */
  user?: string;
  /** RBAC: false → 403 Forbidden. Default: everything allowed. */
  authorize?: (access: FakeAccess) => boolean;
  pods?: readonly (FakePodSpec & { backend?: FakeProxyBackend })[];
  /** Backend for pods that have none. Default: 503 "connection refused", as for a port nothing listens on. */
  defaultBackend?: FakeProxyBackend;
  /** `gitVersion` of /version. */
  version?: string;
}

export interface FakeKubeconfigOptions {
  namespace?: string;
  /** Default: the server's token; `null` writes a user without credentials. */
  token?: string | null;
  context?: string;
}

export interface FakeRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
}

export interface FakeKubeApiServer extends AsyncDisposable {
  readonly url: string;
  readonly token: string;
  readonly requests: readonly FakeRequestRecord[];
  /** Pod proxy requests in flight now, and the most seen at once. */
  readonly proxyInFlight: number;
  readonly maxProxyInFlight: number;
  resetCounters(): void;
  addPod(spec: FakePodSpec & { backend?: FakeProxyBackend }): PodObject;
  /** Changes a pod in place (same UID): phase, IP, restart counts, labels. */
  updatePod(
    namespace: string,
    name: string,
    change: Partial<Omit<FakePodSpec, 'name' | 'namespace' | 'uid'>>,
  ): PodObject;
  removePod(namespace: string, name: string): void;
  setBackend(namespace: string, name: string, backend: FakeProxyBackend | undefined): void;
  pods(namespace?: string): PodObject[];
  kubeconfig(options?: FakeKubeconfigOptions): string;
  writeKubeconfig(file: string, options?: FakeKubeconfigOptions): Promise<string>;
  close(): Promise<void>;
}

interface PodEntry {
  spec: FakePodSpec;
  pod: PodObject;
  backend?: FakeProxyBackend;
  index: number;
}

const JSON_TYPE = 'application/json';
const PROXY_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/proxy(\/.*)?$/;
const POD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/;
const PODS_PATH = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/;
const NAMESPACE_PATH = /^\/api\/v1\/namespaces\/([^/]+)$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'cache-control': 'no-cache, private',
    'audit-id': randomUUID(),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendStatus(res: ServerResponse, status: StatusObject): void {
  sendJson(res, status.code, status);
}

function isStatus(value: unknown): value is StatusObject {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

function forbidden(user: string, access: FakeAccess): StatusObject {
  const resource = access.resource.split('/')[0] as string;
  const subject = access.name === undefined ? resource : `${resource} "${access.name}"`;
  const where = access.namespace === undefined ? 'at the cluster scope' : `in the namespace "${access.namespace}"`;
  return statusObject(
    403,
    `${subject} is forbidden: User "${user}" cannot ${access.verb} resource "${access.resource}" in API group "" ${where}`,
    { ...(access.name === undefined ? {} : { name: access.name }), kind: resource },
  );
}

export async function startFakeKubeApiServer(options: FakeKubeApiServerOptions = {}): Promise<FakeKubeApiServer> {
  const token = options.token ?? randomUUID().replaceAll('-', '');
  const user = options.user ?? 'system:serviceaccount:default:hfi-tests';
  const authorize = options.authorize ?? (() => true);
  const entries = new Map<string, PodEntry>();
  const requests: FakeRequestRecord[] = [];
  let resourceVersion = 1000;
  let podCount = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  const key = (namespace: string, name: string): string => `${namespace}/${name}`;
  const nextVersion = (): string => String(++resourceVersion);

  function addPod(spec: FakePodSpec & { backend?: FakeProxyBackend }): PodObject {
    const namespace = spec.namespace ?? 'default';
    const k = key(namespace, spec.name);
    if (entries.has(k)) throw new Error(`fake API server: pod ${k} exists`);
    const index = podCount++;
    const pod = podObject(spec, index, nextVersion());
    entries.set(k, { spec: { ...spec, uid: pod.metadata.uid }, pod, index, backend: spec.backend });
    return pod;
  }

  function entry(namespace: string, name: string): PodEntry {
    const e = entries.get(key(namespace, name));
    if (e === undefined) throw new Error(`fake API server: no pod ${key(namespace, name)}`);
    return e;
  }

  for (const spec of options.pods ?? []) addPod(spec);

  function listPods(namespace: string | undefined, query: URLSearchParams, res: ServerResponse): void {
    let requirements: ReturnType<typeof parseLabelSelector>;
    try {
      requirements = parseLabelSelector(query.get('labelSelector') ?? '');
    } catch (err) {
      if (!(err instanceof LabelSelectorError)) throw err;
      sendStatus(res, statusObject(400, `unable to parse requirement: ${err.message}`));
      return;
    }
    const all = [...entries.values()]
      .filter((e) => namespace === undefined || e.pod.metadata.namespace === namespace)
      .filter((e) => matchesLabels(requirements, e.pod.metadata.labels))
      .sort((a, b) =>
        key(a.pod.metadata.namespace, a.pod.metadata.name).localeCompare(
          key(b.pod.metadata.namespace, b.pod.metadata.name),
        ),
      );
    const offset = Number(Buffer.from(query.get('continue') ?? '', 'base64url').toString() || '0');
    const limit = Number(query.get('limit') ?? '0');
    const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
    const more = limit > 0 && offset + limit < all.length;
    const token = more ? Buffer.from(String(offset + limit)).toString('base64url') : undefined;
    sendJson(
      res,
      200,
      podListObject(
        page.map((e) => e.pod),
        String(resourceVersion),
        token,
      ),
    );
  }

  async function proxy(namespace: string, target: string, path: string, req: IncomingMessage, res: ServerResponse) {
    const [name, portText] = target.split(':') as [string, string | undefined];
    const e = entries.get(key(namespace, name));
    if (e === undefined) {
      return sendStatus(res, statusObject(404, `pods "${name}" not found`, { name, kind: 'pods' }));
    }
    const port = portText === undefined ? 80 : Number(portText);
    const ip = e.pod.status.podIP;
    if (ip === undefined) {
      return sendStatus(res, statusObject(503, `error trying to reach service: pod ${name} has no IP address`));
    }
    const refused = statusObject(
      503,
      `error trying to reach service: dial tcp ${ip}:${port}: connect: connection refused`,
    );
    const backend = e.backend ?? options.defaultBackend;
    if (backend === undefined) return sendStatus(res, refused);
    if (typeof backend === 'string') return forward(backend, path, req, res, refused);
    const reply = await backend({ pod: e.pod, port, path });
    if (isStatus(reply)) return sendStatus(res, reply);
    const r = typeof reply === 'string' ? { body: reply } : reply;
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    res.writeHead(r.status ?? 200, {
      'content-type': r.contentType ?? 'text/plain; charset=UTF-8',
      'content-length': body.length,
    });
    res.end(body);
  }

  function forward(base: string, path: string, req: IncomingMessage, res: ServerResponse, refused: StatusObject) {
    return new Promise<void>((resolve) => {
      const upstream = request(new URL(path, base), {
        method: 'GET',
        headers: { accept: req.headers.accept ?? '*/*' },
      });
      upstream.on('response', (up) => {
        res.writeHead(up.statusCode ?? 502, {
          ...(up.headers['content-type'] ? { 'content-type': up.headers['content-type'] } : {}),
        });
        up.pipe(res);
        up.on('end', resolve);
      });
      upstream.on('error', () => {
        if (!res.headersSent) sendStatus(res, refused);
        resolve();
      });
      upstream.end();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (req.headers.authorization !== `Bearer ${token}`) {
      return sendStatus(res, statusObject(401, 'Unauthorized'));
    }
    if (req.method !== 'GET') {
      return sendStatus(res, statusObject(405, `the server does not allow this method on the requested resource`));
    }
    // The API server routes on the decoded path: `name%3A15090` is `name:15090`.
    const path = url.pathname.split('/').map(decodeURIComponent).join('/');
    const allowed = (access: FakeAccess): boolean => {
      if (authorize(access)) return true;
      sendStatus(res, forbidden(user, access));
      return false;
    };

    let m = PROXY_PATH.exec(path);
    if (m) {
      const [, namespace, target, rest] = m as unknown as [string, string, string, string | undefined];
      const name = target.split(':')[0] as string;
      if (!allowed({ verb: 'get', resource: 'pods/proxy', namespace, name })) return;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      return proxy(namespace, target, `${rest ?? '/'}${url.search}`, req, res);
    }
    m = PODS_PATH.exec(path);
    if (m) {
      const namespace = m[1];
      if (!allowed({ verb: 'list', resource: 'pods', ...(namespace ? { namespace } : {}) })) return;
      return listPods(namespace, url.searchParams, res);
    }
    m = POD_PATH.exec(path);
    if (m) {
      const [, namespace, name] = m as unknown as [string, string, string];
      if (!allowed({ verb: 'get', resource: 'pods', namespace, name })) return;
      const e = entries.get(key(namespace, name));
      if (e === undefined)
        return sendStatus(res, statusObject(404, `pods "${name}" not found`, { name, kind: 'pods' }));
      return sendJson(res, 200, { apiVersion: 'v1', kind: 'Pod', ...e.pod });
    }
    m = NAMESPACE_PATH.exec(path);
    if (m) {
      const name = m[1] as string;
      if (!allowed({ verb: 'get', resource: 'namespaces', name })) return;
      const exists = name === 'default' || [...entries.values()].some((e) => e.pod.metadata.namespace === name);
      if (!exists) {
        return sendStatus(res, statusObject(404, `namespaces "${name}" not found`, { name, kind: 'namespaces' }));
      }
      return sendJson(res, 200, {
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name, 'istio-injection': 'enabled' } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
    if (path === '/version') {
      const gitVersion = options.version ?? 'v1.31.0';
      const [major, minor] = gitVersion.replace(/^v/, '').split('.');
      return sendJson(res, 200, {
        major,
        minor,
        gitVersion,
        gitCommit: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9',
        gitTreeState: 'clean',
        buildDate: '2024-08-13T07:28:49Z',
        goVersion: 'go1.22.5',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    sendStatus(res, statusObject(404, 'the server could not find the requested resource', { causes: [] }));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendStatus(res, statusObject(500, `fake API server: ${String(err)}`));
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function kubeconfig(o: FakeKubeconfigOptions = {}): string {
    const context = o.context ?? 'fake-cluster';
    const credential = o.token === null ? {} : { token: o.token ?? token };
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: context, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: `${context}-user`, user: credential }],
      contexts: [
        {
          name: context,
          context: { cluster: context, user: `${context}-user`, ...(o.namespace ? { namespace: o.namespace } : {}) },
        },
      ],
      'current-context': context,
      preferences: {},
    });
  }

  const close = async (): Promise<void> => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close').catch(() => undefined);
  };

  return {
    url,
    token,
    get requests() {
      return requests;
    },
    get proxyInFlight() {
      return inFlight;
    },
    get maxProxyInFlight() {
      return maxInFlight;
    },
    resetCounters() {
      requests.length = 0;
      maxInFlight = inFlight;
    },
    addPod,
    updatePod(namespace, name, change) {
      const e = entry(namespace, name);
      e.spec = { ...e.spec, ...change };
      e.pod = podObject(e.spec, e.index, nextVersion());
      return e.pod;
    },
    removePod(namespace, name) {
      entry(namespace, name);
      entries.delete(key(namespace, name));
      resourceVersion++;
    },
    setBackend(namespace, name, backend) {
      entry(namespace, name).backend = backend;
    },
    pods(namespace) {
      return [...entries.values()]
        .filter((e) => namespace === undefined || e.pod.metadata.namespace === namespace)
        .map((e) => e.pod);
    },
    kubeconfig,
    async writeKubeconfig(file, o) {
      await writeFile(file, kubeconfig(o), { mode: 0o600 });
      return file;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
