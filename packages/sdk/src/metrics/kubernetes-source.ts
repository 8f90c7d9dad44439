// Reads every matching pod's Envoy stats (`:15090/stats/prometheus`) through the Kubernetes API server's pod proxy,
// so a test needs only a kubeconfig: no port-forwards, no network path to pod IPs. Pods are listed with
// @kubernetes/client-node; the proxy GETs go over a keep-alive agent built from the same kubeconfig (TLS material,
// bearer token or exec plugin, impersonation), at most `concurrency` at a time. Samples are keyed by pod UID, so a
// pod recreated under the same name is a new pod to the deltas, and a sidecar restart inside a pod shows up as a
// counter drop (see delta.ts).
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { HfiError } from '@hfi/core';
import type { CoreV1Api, KubeConfig, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { loadKubernetesClient } from './kubernetes-client';
import { parsePodMetrics } from './pod-metrics';
import type { MetricSource } from './source';
import type { PodSample, Snapshot } from './types';

export interface KubernetesSourceOptions {
  /** Default: the kubeconfig context's namespace, else `default`. */
  namespace?: string;
  /** Kubernetes label selector, e.g. `app=frontend,version in (v1,v2)`. Default: every pod in the namespace. */
  labelSelector?: string;
  /** Envoy's Prometheus port in an Istio sidecar. Default 15090. */
  port?: number;
  /** Default `/stats/prometheus`. */
  path?: string;
  /**
   * A kubeconfig file path, a kubeconfig's YAML text, or a loaded KubeConfig. Default: `$KUBECONFIG`, then
   * `~/.kube/config`, then the in-cluster service account (KubeConfig.loadFromDefault).
   */
  kubeconfig?: string | KubeConfig;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
  /** Pod proxy requests in flight at once. Default 16. */
  concurrency?: number;
  /** Limit for each API request (the pod list, each pod's stats page, body included). Default 10000 ms. */
  timeoutMs?: number;
}

interface Connection {
  kc: KubeConfig;
  core: CoreV1Api;
  server: string;
  context: string;
  namespace: string;
  proxyUrl: string | undefined;
}

/** A Running pod with an IP: what gets scraped. */
interface ScrapeTarget {
  key: string;
  name: string;
  labels: Record<string, string>;
}

interface ApiFailure {
  status?: number;
  reason?: string;
  message: string;
}

const DEFAULT_PORT = 15090;
const DEFAULT_PATH = '/stats/prometheus';
const LIST_PAGE_SIZE = 500;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function sumRestarts(statuses: readonly V1ContainerStatus[] | undefined): number {
  return (statuses ?? []).reduce((n, s) => n + (s.restartCount ?? 0), 0);
}

/** Pod name, UID, node, phase and restart counts, as the sample's labels. */
function podLabels(pod: V1Pod, namespace: string): Record<string, string> {
  const status = pod.status ?? {};
  const all = [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? [])];
  const proxy = all.find((s) => s.name === 'istio-proxy');
  return {
    namespace,
    pod: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    node: pod.spec?.nodeName ?? '',
    phase: status.phase ?? '',
    podIP: status.podIP ?? '',
    restartCount: String(sumRestarts(status.containerStatuses) + sumRestarts(status.initContainerStatuses)),
    ...(proxy ? { proxyRestartCount: String(proxy.restartCount ?? 0) } : {}),
    ...(pod.metadata?.deletionTimestamp ? { terminating: 'true' } : {}),
  };
}

/** A Kubernetes `Status` body (JSON text or object), if it is one. */
function parseStatus(body: unknown): { reason?: string; message?: string } | undefined {
  let value = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      value = JSON.parse(body.toString());
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null || (value as { kind?: unknown }).kind !== 'Status') return undefined;
  const { reason, message } = value as { reason?: unknown; message?: unknown };
  return {
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/**
 * What an API call failed with. Duck-typed: ApiException and node-fetch's FetchError come from the ES module's
 * realm, which is not Jest's.
 */
function apiFailure(err: unknown): ApiFailure {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const { code, body, message, name } = err as { code?: unknown; body?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'number') {
    const status = parseStatus(body);
    const fallback = code === 401 ? 'Unauthorized' : typeof body === 'string' && body !== '' ? body.slice(0, 300) : '';
    return {
      status: code,
      ...(status?.reason ? { reason: status.reason } : code === 401 ? { reason: 'Unauthorized' } : {}),
      message: status?.message ?? fallback,
    };
  }
  if (name === 'TimeoutError' || name === 'AbortError') return { message: 'timed out' };
  return { message: `${typeof code === 'string' ? `${code}: ` : ''}${String(message ?? err)}` };
}

function hint(status: number | undefined, what: string): string {
  if (status === 401) return 'the API server rejected the kubeconfig credentials (expired token or certificate?)';
  if (status === 403) return `the kubeconfig user lacks RBAC permission to ${what}`;
  if (status === undefined) return 'is the API server reachable from here (kubeconfig server address, VPN, proxy)?';
  return '';
}

function formatFailure(f: ApiFailure): string {
  const head = f.status === undefined ? '' : `HTTP ${f.status}${f.reason ? ` ${f.reason}` : ''}`;
  return [head, f.message].filter((s) => s !== '').join(': ');
}

export class KubernetesSource implements MetricSource {
  private readonly options: KubernetesSourceOptions;
  private readonly port: number;
  private readonly path: string;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private connecting: Promise<Connection> | undefined;
  private connection: Connection | undefined;

  constructor(options: KubernetesSourceOptions = {}) {
    this.options = { ...options };
    this.port = options.port ?? DEFAULT_PORT;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      throw new HfiError('HFI_ERR_CONFIG', `port must be an integer in 1..65535, got ${options.port}`, {
        field: 'port',
      });
    }
    this.path = options.path ?? DEFAULT_PATH;
    if (!this.path.startsWith('/')) {
      throw new HfiError('HFI_ERR_CONFIG', `path must start with "/", got ${JSON.stringify(this.path)}`, {
        field: 'path',
      });
    }
    if (options.namespace !== undefined && !DNS_LABEL.test(options.namespace)) {
      throw new HfiError('HFI_ERR_CONFIG', `not a namespace name: ${JSON.stringify(options.namespace)}`, {
        field: 'namespace',
      });
    }
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 16));
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  describe(): string {
    const c = this.connection;
    const namespace = c?.namespace ?? this.options.namespace ?? '(kubeconfig namespace)';
    const context = c?.context ?? this.options.context ?? '(current)';
    const selector = this.options.labelSelector ? `labelSelector ${this.options.labelSelector}` : 'every pod';
    return `kubernetes: namespace ${namespace}, ${selector}, :${this.port}${this.path} via the API server pod proxy, context ${context}`;
  }

  async snapshot(): Promise<Snapshot> {
    const conn = await this.connect();
    const takenAtMs = Date.now();
    const pods = await this.listPods(conn);
    const targets: ScrapeTarget[] = [];
    const skipped: string[] = [];
    for (const pod of pods) {
      const labels = podLabels(pod, conn.namespace);
      if (labels.phase === 'Running' && labels.podIP !== '') {
        targets.push({ key: `${labels.pod}@${labels.uid}`, name: labels.pod as string, labels });
      } else {
        skipped.push(`${labels.pod} (${labels.phase || 'no phase'}${labels.podIP === '' ? ', no IP' : ''})`);
      }
    }
    if (targets.length === 0) {
      throw new HfiError(
        'HFI_ERR_METRICS_SCRAPE',
        `no Running pod with an IP matches ${this.selectorText(conn)}` +
          (skipped.length > 0 ? `; pods seen: ${skipped.join(', ')}` : '; the API server listed no pod'),
        { details: { source: this.describe(), skipped } },
      );
    }

    const request = await this.requestOptions(conn);
    try {
      const samples = await mapLimit(targets, this.concurrency, (t) => this.scrape(conn, request, t));
      this.throwIfAllFailed(conn, samples);
      return { takenAtMs, pods: samples.map((s) => s.sample) };
    } finally {
      request.agent.destroy();
    }
  }

  async close(): Promise<void> {
    // Agents live for one snapshot; nothing stays open between snapshots.
  }

  private selectorText(conn: Connection): string {
    const selector = this.options.labelSelector ? `labelSelector "${this.options.labelSelector}"` : 'any label';
    return `${selector} in namespace "${conn.namespace}" (context ${conn.context}, ${conn.server})`;
  }

  private connect(): Promise<Connection> {
    this.connecting ??= this.loadConnection().then(
      (c) => {
        this.connection = c;
        return c;
      },
      (err: unknown) => {
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  private async loadConnection(): Promise<Connection> {
    const k8s = await loadKubernetesClient();
    let kc: KubeConfig;
    const given = this.options.kubeconfig;
    try {
      if (given !== undefined && typeof given !== 'string') {
        kc = given;
      } else {
        kc = new k8s.KubeConfig();
        if (given === undefined) kc.loadFromDefault();
        else if (given.includes('\n')) kc.loadFromString(given);
        else kc.loadFromFile(given);
      }
      if (this.options.context !== undefined) kc.setCurrentContext(this.options.context);
    } catch (err) {
      throw new HfiError('HFI_ERR_CONFIG', `the kubeconfig could not be loaded: ${apiFailure(err).message}`, {
        field: 'kubeconfig',
        cause: err,
      });
    }
    const contextName = kc.getCurrentContext();
    const context = kc.getContextObject(contextName);
    const cluster = kc.getCurrentCluster();
    if (context === null || cluster === null) {
      throw new HfiError(
        'HFI_ERR_CONFIG',
        `the kubeconfig has no usable context ${JSON.stringify(contextName)} (contexts: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
        { field: this.options.context === undefined ? 'kubeconfig' : 'context' },
      );
    }
    return {
      kc,
      core: kc.makeApiClient(k8s.CoreV1Api),
      server: cluster.server.replace(/\/+$/, ''),
      context: contextName,
      namespace: this.options.namespace ?? context.namespace ?? 'default',
      proxyUrl: cluster.proxyUrl,
    };
  }

  private async withTimeout<T>(what: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HfiError('HFI_ERR_TIMEOUT', `${what}: no answer from the API server within ${this.timeoutMs} ms`, {
              details: { source: this.describe(), timeoutMs: this.timeoutMs },
            }),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async listPods(conn: Connection): Promise<V1Pod[]> {
    const pods: V1Pod[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.withTimeout(
        `listing pods (${this.selectorText(conn)})`,
        conn.core
          .listNamespacedPod({
            namespace: conn.namespace,
            limit: LIST_PAGE_SIZE,
            ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
            ...(continueToken ? { _continue: continueToken } : {}),
          })
          .catch((err: unknown) => {
            const f = apiFailure(err);
            const help = hint(f.status, `list pods in namespace "${conn.namespace}"`);
            throw new HfiError(
              'HFI_ERR_KUBERNETES_API',
              `listing pods (${this.selectorText(conn)}) failed: ${formatFailure(f)}${help ? ` — ${help}` : ''}`,
              {
                cause: err,
                details: { ...f, server: conn.server, context: conn.context, namespace: conn.namespace },
              },
            );
          }),
      );
      pods.push(...page.items);
      continueToken = page.metadata?._continue;
    } while (continueToken);
    return pods;
  }

  /** Headers and an agent for the proxy GETs, from the kubeconfig (tokens from exec plugins are fetched here). */
  private async requestOptions(conn: Connection): Promise<{ agent: HttpAgent; headers: Record<string, string> }> {
    const opts: https.RequestOptions = {};
    try {
      await conn.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new HfiError('HFI_ERR_KUBERNETES_API', `the kubeconfig credentials failed: ${apiFailure(err).message}`, {
        cause: err,
        details: { context: conn.context },
      });
    }
    const headers: Record<string, string> = { accept: 'text/plain, */*;q=0.5' };
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    // A proxy-url agent from the library is kept (it knows the proxy); otherwise a keep-alive agent, so a
    // snapshot costs `concurrency` connections (and TLS handshakes), not one per pod.
    if (conn.proxyUrl !== undefined && opts.agent) return { agent: opts.agent as HttpAgent, headers };
    const common = { keepAlive: true, maxSockets: this.concurrency };
    const agent = conn.server.startsWith('http:')
      ? new http.Agent(common)
      : new https.Agent({
          ...common,
          ...(opts.ca ? { ca: opts.ca } : {}),
          ...(opts.cert ? { cert: opts.cert } : {}),
          ...(opts.key ? { key: opts.key } : {}),
          ...(opts.pfx ? { pfx: opts.pfx } : {}),
          ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
          ...(opts.servername ? { servername: opts.servername } : {}),
          ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        });
    return { agent, headers };
  }

  private statsUrl(conn: Connection, name: string): string {
    const ns = encodeURIComponent(conn.namespace);
    return `${conn.server}/api/v1/namespaces/${ns}/pods/${encodeURIComponent(name)}:${this.port}/proxy${this.path}`;
  }

  private async scrape(
    conn: Connection,
    request: { agent: HttpAgent; headers: Record<string, string> },
    target: ScrapeTarget,
  ): Promise<{ sample: PodSample; failure?: ApiFailure }> {
    const url = this.statsUrl(conn, target.name);
    const base = { pod: target.key, labels: target.labels };
    const failed = (failure: ApiFailure) => ({
      sample: {
        ...base,
        scrapedAtMs: Date.now(),
        metrics: { aborts: undefined, delays: undefined, delayHistogram: undefined },
        error: `${formatFailure(failure)} (GET ${url})`,
      },
      failure,
    });
    try {
      const { status, contentType, body } = await get(url, request, this.timeoutMs);
      if (status !== 200) {
        const parsed = contentType.includes('json') ? parseStatus(body) : undefined;
        return failed({
          status,
          ...(parsed?.reason ? { reason: parsed.reason } : {}),
          message: parsed?.message ?? body.toString('utf8', 0, 300).trim(),
        });
      }
      return { sample: { ...base, scrapedAtMs: Date.now(), metrics: parsePodMetrics(body) } };
    } catch (err) {
      const f = apiFailure(err);
      return failed(f.message === 'timed out' ? { message: `timed out after ${this.timeoutMs} ms` } : f);
    }
  }

  private throwIfAllFailed(conn: Connection, results: { sample: PodSample; failure?: ApiFailure }[]): void {
    if (!results.every((r) => r.failure !== undefined)) return;
    const errors = Object.fromEntries(results.map((r) => [r.sample.pod, r.sample.error]));
    const statuses = new Set(results.map((r) => r.failure?.status));
    const [only] = [...statuses];
    // The same 401/403 for every pod is the API server refusing us, not the pods failing.
    if (statuses.size === 1 && (only === 401 || only === 403)) {
      const f = results[0]?.failure as ApiFailure;
      throw new HfiError(
        'HFI_ERR_KUBERNETES_API',
        `the pod proxy refused every request: ${formatFailure(f)} — ${hint(only, `get pods/proxy in namespace "${conn.namespace}"`)}`,
        { details: { ...f, server: conn.server, context: conn.context, namespace: conn.namespace, errors } },
      );
    }
    throw new HfiError(
      'HFI_ERR_METRICS_SCRAPE',
      `every pod's stats scrape failed (${this.selectorText(conn)}): ${results
        .map((r) => `${r.sample.labels?.pod}: ${r.sample.error}`)
        .join('; ')}`,
      { details: { source: this.describe(), errors } },
    );
  }
}

function get(
  url: string,
  options: { agent: HttpAgent; headers: Record<string, string> },
  timeoutMs: number,
): Promise<{ status: number; contentType: string; body: Buffer }> {
  const transport = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.get(
      url,
      { agent: options.agent, headers: options.headers, signal: AbortSignal.timeout(timeoutMs) },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
  });
}
