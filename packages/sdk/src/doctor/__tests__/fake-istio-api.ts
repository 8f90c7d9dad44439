// A FAKE Kubernetes API with Istio installed, for the doctor's k8s tests (no API server can run here): in front of
// the shared fake API server (pods, pod proxy) it answers what that one does not — a container's log, the
// WasmPlugin and EnvoyFilter lists, and the service proxy — and forwards everything else to it, credentials
// included. Served over real HTTP on 127.0.0.1:<ephemeral>.
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FakeKubeApiServer, statusObject } from '../../testing/fake-kube-api-server';

export interface IstioObject {
  metadata: { name: string; namespace: string; creationTimestamp?: string; [key: string]: unknown };
  spec: Record<string, unknown>;
}

export interface FakeIstioApiOptions {
  kube: FakeKubeApiServer;
  /** A pod's container log (`namespace/pod`). */
  logs?: (namespace: string, pod: string, container: string) => string[] | undefined;
  wasmPlugins?: IstioObject[];
  envoyFilters?: IstioObject[];
  /** `namespace/service:port` → base URL of the real server behind that Service. */
  services?: Record<string, string>;
}

export interface FakeIstioApi {
  url: string;
  /** The fake API server's kubeconfig, pointed at this front. */
  kubeconfig(namespace?: string): string;
  close(): Promise<void>;
}

const LOG = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/;
const CUSTOM =
  /^\/apis\/(extensions\.istio\.io|networking\.istio\.io)\/(v1alpha1|v1alpha3)\/namespaces\/([^/]+)\/(wasmplugins|envoyfilters)$/;
const SERVICE_PROXY = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/:]+):(\d+)\/proxy(\/.*)?$/;

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
}

function sendStatus(res: ServerResponse, code: number, message: string): void {
  send(res, code, JSON.stringify(statusObject(code, message)));
}

function pipe(target: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
  const upstream = request(target, { method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) sendStatus(res, 503, `error trying to reach service: ${target}`);
    else res.destroy();
  });
  req.pipe(upstream);
}

export async function startFakeIstioApi(options: FakeIstioApiOptions): Promise<FakeIstioApi> {
  const { kube } = options;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.split('/').map(decodeURIComponent).join('/');
    const forwardHeaders = Object.fromEntries(
      Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    const handled = path.match(LOG) ?? path.match(CUSTOM) ?? path.match(SERVICE_PROXY);
    if (handled === null) return pipe(`${kube.url}${req.url}`, req, res, forwardHeaders);
    if (req.headers.authorization !== `Bearer ${kube.token}`) return sendStatus(res, 401, 'Unauthorized');

    let m = LOG.exec(path);
    if (m) {
      const [, namespace, pod] = m as unknown as [string, string, string];
      const container = url.searchParams.get('container') ?? '';
      if (!kube.pods(namespace).some((p) => p.metadata.name === pod)) {
        return sendStatus(res, 404, `pods "${pod}" not found`);
      }
      const lines = options.logs?.(namespace, pod, container);
      if (lines === undefined) return sendStatus(res, 400, `container ${container} is not valid for pod ${pod}`);
      const tail = Number(url.searchParams.get('tailLines') ?? '0');
      const shown = tail > 0 ? lines.slice(-tail) : lines;
      return send(res, 200, shown.map((l) => `${l}\n`).join(''), 'text/plain');
    }
    m = CUSTOM.exec(path);
    if (m) {
      const [, group, version, namespace, plural] = m as unknown as [string, string, string, string, string];
      const kind = plural === 'wasmplugins' ? 'WasmPlugin' : 'EnvoyFilter';
      const all = (plural === 'wasmplugins' ? options.wasmPlugins : options.envoyFilters) ?? [];
      const items = all
        .filter((o) => o.metadata.namespace === namespace)
        .map((o) => ({ apiVersion: `${group}/${version}`, kind, ...o }));
      return send(
        res,
        200,
        JSON.stringify({ apiVersion: `${group}/${version}`, kind: `${kind}List`, metadata: {}, items }),
      );
    }
    m = SERVICE_PROXY.exec(path);
    if (m) {
      const [, namespace, service, port, rest] = m as unknown as [string, string, string, string, string | undefined];
      const base = options.services?.[`${namespace}/${service}:${port}`];
      if (base === undefined) return sendStatus(res, 503, `no endpoints available for service "${service}"`);
      return pipe(`${base}${rest ?? '/'}${url.search}`, req, res, {});
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeconfig: (namespace) => kube.kubeconfig(namespace ? { namespace } : {}).replaceAll(kube.url, url),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
