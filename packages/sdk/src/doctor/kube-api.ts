// The few Kubernetes API reads the doctor makes, as plain GETs with the kubeconfig's credentials: pods, a
// container's log, the pod and service proxies, and Istio's custom resources. Plain GETs keep one code path for
// core and custom resources and for text (logs, stats) and JSON answers.
import type { Agent as HttpAgent } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { HfiError } from '@hfi/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubernetesClient } from '../metrics/kubernetes-client';
import { asRecord, parseJson } from './http';

export type KubeAnswer = { ok: true; status: number; body: Buffer } | { ok: false; error: string };

export interface KubeApiOptions {
  kubeconfig?: string | KubeConfig;
  context?: string;
  timeoutMs: number;
}

export class KubeApi {
  private constructor(
    readonly server: string,
    readonly contextName: string,
    readonly defaultNamespace: string | undefined,
    private readonly agent: HttpAgent,
    private readonly headers: Record<string, string>,
    private readonly timeoutMs: number,
  ) {}

  static async connect(options: KubeApiOptions): Promise<KubeApi> {
    const k8s = await loadKubernetesClient();
    let kc: KubeConfig;
    try {
      if (options.kubeconfig !== undefined && typeof options.kubeconfig !== 'string') kc = options.kubeconfig;
      else {
        kc = new k8s.KubeConfig();
        if (options.kubeconfig === undefined) kc.loadFromDefault();
        else if (options.kubeconfig.includes('\n')) kc.loadFromString(options.kubeconfig);
        else kc.loadFromFile(options.kubeconfig);
      }
      if (options.context !== undefined) kc.setCurrentContext(options.context);
    } catch (cause) {
      throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', `the kubeconfig could not be loaded: ${(cause as Error).message}`, {
        field: 'kubeconfig',
        cause,
      });
    }
    const cluster = kc.getCurrentCluster();
    if (cluster === null) {
      throw new HfiError(
        'HFI_ERR_DOCTOR_OPTIONS',
        `the kubeconfig has no cluster for context ${kc.getCurrentContext()}`,
        {
          field: 'kubeconfig',
        },
      );
    }
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const server = cluster.server.replace(/\/+$/, '');
    const agent = server.startsWith('http:')
      ? new http.Agent({ keepAlive: true, maxSockets: 8 })
      : new https.Agent({
          keepAlive: true,
          maxSockets: 8,
          ...(opts.ca ? { ca: opts.ca } : {}),
          ...(opts.cert ? { cert: opts.cert } : {}),
          ...(opts.key ? { key: opts.key } : {}),
          ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        });
    const context = kc.getContextObject(kc.getCurrentContext());
    return new KubeApi(server, kc.getCurrentContext(), context?.namespace, agent, headers, options.timeoutMs);
  }

  close(): void {
    this.agent.destroy();
  }

  /** The auth headers, for callers that GET API URLs themselves. */
  get authHeaders(): Record<string, string> {
    return { ...this.headers };
  }

  get(path: string, accept = 'application/json'): Promise<KubeAnswer> {
    const url = `${this.server}${path}`;
    const lib = url.startsWith('https:') ? https : http;
    return new Promise((resolve) => {
      const req = lib.request(
        url,
        { method: 'GET', agent: this.agent, headers: { ...this.headers, accept }, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', (err) => resolve({ ok: false, error: `${url}: ${err.message}` }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => resolve({ ok: false, error: `${url}: ${err.message}` }));
      req.end();
    });
  }

  /** JSON of a 200 answer, or the failure in words (the API's Status message when it sent one). */
  async getJson(path: string): Promise<{ value: unknown } | { error: string; status?: number }> {
    const answer = await this.get(path);
    if (!answer.ok) return { error: answer.error };
    if (answer.status !== 200) return { error: statusText(answer, path), status: answer.status };
    return { value: parseJson(answer.body.toString()) };
  }

  async getText(path: string): Promise<{ text: string } | { error: string; status?: number }> {
    const answer = await this.get(path, 'text/plain, */*');
    if (!answer.ok) return { error: answer.error };
    if (answer.status !== 200) return { error: statusText(answer, path), status: answer.status };
    return { text: answer.body.toString() };
  }

  async getBytes(path: string): Promise<{ body: Buffer } | { error: string; status?: number }> {
    const answer = await this.get(path, '*/*');
    if (!answer.ok) return { error: answer.error };
    if (answer.status !== 200) return { error: statusText(answer, path), status: answer.status };
    return { body: answer.body };
  }

  podsPath(namespace: string, selector: string): string {
    const query = selector === '' ? '' : `?labelSelector=${encodeURIComponent(selector)}`;
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods${query}`;
  }

  podLogPath(namespace: string, pod: string, container: string, tailLines: number): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?container=${encodeURIComponent(container)}&tailLines=${tailLines}`;
  }

  podProxyPath(namespace: string, pod: string, port: number, path: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy${path}`;
  }

  serviceProxyPath(namespace: string, service: string, port: number, path: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}:${port}/proxy${path}`;
  }

  customPath(group: string, version: string, namespace: string, plural: string): string {
    return `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
  }
}

function statusText(answer: { status: number; body: Buffer }, path: string): string {
  const text = answer.body.toString();
  const status = asRecord(parseJson(text));
  const message = typeof status?.message === 'string' ? status.message : text.slice(0, 200).trim();
  return `GET ${path}: HTTP ${answer.status}${message ? ` ${message}` : ''}`;
}
