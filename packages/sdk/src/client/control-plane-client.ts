// HTTP client for the control plane's /v1 API over a keep-alive undici Pool.
import { HfiError, type Policy, type PolicyWithStatus } from '@hfi/core';
import { Pool } from 'undici';
import { SDK_VERSION } from '../version';
import {
  isStaleSocketError,
  malformedResponseError,
  type RequestTarget,
  responseError,
  timeoutError,
  transportError,
} from './errors';
import type {
  CallOptions,
  ControlPlaneClientOptions,
  HealthStatus,
  NodeList,
  PolicyList,
  PolicyStatusReport,
  ReadyStatus,
  StoredPolicy,
  WatchPoliciesOptions,
  WatchResult,
} from './types';

export const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_WATCH_TIMEOUT_MS = 30_000;

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  target: RequestTarget;
}

interface RequestSpec extends CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Statuses returned instead of thrown (besides 2xx). */
  acceptStatuses?: readonly number[];
  /** Whether a request that died on a stale keep-alive socket may be sent again. */
  retryable?: boolean;
}

// Marks our own timer's abort apart from a caller's signal.
const TIMED_OUT = Symbol('hfi.timeout');

/** Parses and checks a control-plane base URL; only http and https are accepted. */
export function parseControlPlaneUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new HfiError('HFI_ERR_CONFIG', `invalid control plane URL "${String(value)}"`, {
      field: 'url',
      details: { url: String(value) },
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HfiError(
      'HFI_ERR_CONFIG',
      `invalid control plane URL "${String(value)}": the scheme must be http or https`,
      { field: 'url', details: { url: String(value), scheme: url.protocol.replace(/:$/, '') } },
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new HfiError('HFI_ERR_CONFIG', `invalid control plane URL "${String(value)}": no query or fragment allowed`, {
      field: 'url',
      details: { url: String(value) },
    });
  }
  return url;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function headerValue(headers: RawResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Client for the hfi control plane (BOIFI-compatible `/v1`). Every failure is an HfiError:
 * HFI_ERR_CONTROL_PLANE_UNREACHABLE, HFI_ERR_TIMEOUT, or the server's own code for non-2xx answers
 * (HFI_ERR_CONTROL_PLANE_RESPONSE when it sends none), with `statusCode` = the HTTP status.
 */
export class ControlPlaneClient implements AsyncDisposable {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  readonly timeoutMs: number;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #headers: Record<string, string>;

  constructor(options: ControlPlaneClientOptions) {
    const base = parseControlPlaneUrl(options.url);
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.url = `${base.origin}${this.#basePath}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new HfiError('HFI_ERR_CONFIG', `timeoutMs must be a positive number, got ${options.timeoutMs}`, {
        field: 'timeoutMs',
      });
    }
    this.#headers = {
      accept: 'application/json',
      'user-agent': options.userAgent ?? `hfi-sdk/${SDK_VERSION}`,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    };
    this.#pool = new Pool(base.origin, {
      connections: options.connections ?? 4,
      keepAliveTimeout: 4_000,
      connect: { timeout: Math.min(this.timeoutMs, 10_000) },
      // Our own timer bounds every call; undici's per-phase timers would only fire later.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** `GET /v1/health`. */
  async health(options: CallOptions = {}): Promise<HealthStatus> {
    return this.#json<HealthStatus>('GET', '/v1/health', { ...options, retryable: true });
  }

  /** `GET /v1/ready`; resolves with `status: 'not_ready'` on a 503 from a store that cannot serve. */
  async ready(options: CallOptions = {}): Promise<ReadyStatus> {
    const res = await this.#send('GET', '/v1/ready', { ...options, retryable: true, acceptStatuses: [503] });
    const body = this.#parse(res);
    const object = asObject(body);
    if (res.status === 503 && object?.status !== 'not_ready') {
      throw responseError(res.status, res.text, headerValue(res.headers, 'x-request-id'), res.target);
    }
    if (object === undefined || typeof object.status !== 'string') {
      throw malformedResponseError(res.status, res.text, res.target, 'expected {"status": ...}');
    }
    return object as ReadyStatus;
  }

  /** `POST /v1/policies`: create or replace (upsert). Resolves with the policy as stored. */
  async applyPolicy(policy: Policy, options: CallOptions = {}): Promise<StoredPolicy> {
    return this.#json<StoredPolicy>('POST', '/v1/policies', { ...options, body: policy, retryable: true });
  }

  /** `POST /v1/policies/create`: fails with HFI_ERR_POLICY_EXISTS (409) when the name is taken. */
  async createPolicy(policy: Policy, options: CallOptions = {}): Promise<StoredPolicy> {
    const body = await this.#json<unknown>('POST', '/v1/policies/create', { ...options, body: policy });
    return this.#unwrapPolicy(body, 'POST', '/v1/policies/create');
  }

  /** `PUT /v1/policies/:name`: fails when the policy does not exist or the name differs from the body's. */
  async updatePolicy(name: string, policy: Policy, options: CallOptions = {}): Promise<StoredPolicy> {
    const path = this.#policyPath(name);
    const body = await this.#json<unknown>('PUT', path, { ...options, body: policy, retryable: true });
    return this.#unwrapPolicy(body, 'PUT', path);
  }

  /** `GET /v1/policies`, sorted by name, with the store revision they were read at. */
  async listPolicies(options: CallOptions = {}): Promise<PolicyList> {
    const res = await this.#send('GET', '/v1/policies', { ...options, retryable: true });
    return this.#policyList(res);
  }

  /** `GET /v1/policies/:name`; HFI_ERR_POLICY_NOT_FOUND (404) when absent. */
  async getPolicy(name: string, options: CallOptions = {}): Promise<PolicyWithStatus> {
    const path = this.#policyPath(name);
    const body = await this.#json<unknown>('GET', path, { ...options, retryable: true });
    if (asObject(asObject(body)?.metadata) === undefined) {
      throw malformedResponseError(200, JSON.stringify(body), this.#target('GET', path), 'expected a policy object');
    }
    return body as PolicyWithStatus;
  }

  /** `DELETE /v1/policies/:name`; HFI_ERR_POLICY_NOT_FOUND (404) when absent. */
  async deletePolicy(name: string, options: CallOptions = {}): Promise<void> {
    await this.#send('DELETE', this.#policyPath(name), { ...options, retryable: true });
  }

  /** `GET /v1/policies/status`: counts per fault type and one summary line per policy. */
  async policyStatus(options: CallOptions = {}): Promise<PolicyStatusReport> {
    const body = asObject(await this.#json<unknown>('GET', '/v1/policies/status', { ...options, retryable: true }));
    const summary = asObject(body?.summary);
    if (body === undefined || summary === undefined) {
      throw malformedResponseError(200, JSON.stringify(body), this.#target('GET', '/v1/policies/status'), 'no summary');
    }
    return {
      summary: summary as unknown as PolicyStatusReport['summary'],
      policies: Array.isArray(body.policies) ? (body.policies as PolicyStatusReport['policies']) : [],
    };
  }

  /** `GET /v1/nodes`: the sidecar instances that have polled recently, with the revision each has applied. */
  async nodes(options: CallOptions = {}): Promise<NodeList> {
    const res = await this.#send('GET', '/v1/nodes', { ...options, retryable: true });
    const body = asObject(this.#parse(res));
    if (body === undefined || !Array.isArray(body.nodes)) {
      throw malformedResponseError(res.status, res.text, res.target, 'expected {"nodes": [...]}');
    }
    return { nodes: body.nodes as NodeList['nodes'], revision: this.#revision(body, res) };
  }

  /**
   * Long-poll: resolves as soon as the store revision differs from `revision`, or with `changed: false` after
   * `timeoutMs`. With `identity`, the request also acks `revision` for that sidecar instance.
   */
  async watchPolicies(options: WatchPoliciesOptions): Promise<WatchResult> {
    const waitMs = options.timeoutMs ?? DEFAULT_WATCH_TIMEOUT_MS;
    const identity = options.identity;
    const res = await this.#send('GET', '/v1/policies', {
      signal: options.signal,
      // The server holds the request for up to waitMs; allow the usual margin on top for the answer itself.
      timeoutMs: waitMs + this.timeoutMs,
      retryable: true,
      query: {
        watch: 'true',
        revision: options.revision,
        timeout_ms: waitMs,
        ...(identity === undefined
          ? {}
          : {
              instance: identity.instance,
              workload: identity.workload,
              namespace: identity.namespace,
              pod: identity.pod,
              labels:
                identity.labels === undefined
                  ? undefined
                  : Object.entries(identity.labels)
                      .map(([key, value]) => `${key}=${value}`)
                      .join(','),
            }),
      },
    });
    const list = this.#policyList(res);
    return { ...list, changed: list.revision !== options.revision };
  }

  /** Closes the keep-alive connections; pending calls finish first. */
  async close(): Promise<void> {
    if (!this.#pool.closed) await this.#pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #policyPath(name: string): string {
    if (typeof name !== 'string' || name === '') {
      throw new HfiError('HFI_ERR_BAD_REQUEST', 'a policy name is required', { field: 'name' });
    }
    return `/v1/policies/${encodeURIComponent(name)}`;
  }

  #target(method: HttpMethod, path: string): RequestTarget {
    return { method, url: `${this.url}${path}`, baseUrl: this.url };
  }

  #revision(body: Record<string, unknown>, res: RawResponse): number {
    if (typeof body.revision === 'number') return body.revision;
    const header = Number(headerValue(res.headers, 'x-hfi-revision'));
    return Number.isFinite(header) ? header : 0;
  }

  #policyList(res: RawResponse): PolicyList {
    const body = asObject(this.#parse(res));
    if (body === undefined || !Array.isArray(body.policies)) {
      throw malformedResponseError(res.status, res.text, res.target, 'expected {"policies": [...]}');
    }
    return { policies: body.policies as PolicyWithStatus[], revision: this.#revision(body, res) };
  }

  // create and update answer {message, policy}; the upsert answers the bare policy.
  #unwrapPolicy(body: unknown, method: HttpMethod, path: string): StoredPolicy {
    const wrapped = asObject(asObject(body)?.policy);
    const policy = wrapped ?? asObject(body);
    if (asObject(policy?.metadata) === undefined) {
      throw malformedResponseError(200, JSON.stringify(body), this.#target(method, path), 'expected a policy');
    }
    return policy as unknown as StoredPolicy;
  }

  #parse(res: RawResponse): unknown {
    if (res.text === '') return undefined;
    try {
      return JSON.parse(res.text);
    } catch {
      throw malformedResponseError(res.status, res.text, res.target, 'the body is not JSON');
    }
  }

  async #json<T>(method: HttpMethod, path: string, spec: RequestSpec): Promise<T> {
    return this.#parse(await this.#send(method, path, spec)) as T;
  }

  async #send(method: HttpMethod, path: string, spec: RequestSpec): Promise<RawResponse> {
    try {
      return await this.#sendOnce(method, path, spec);
    } catch (err) {
      // A keep-alive socket the server closed between calls fails the first write; one fresh try is safe for
      // these idempotent endpoints (create is not retried: a lost 201 would come back as a 409).
      const cause = err instanceof HfiError ? err.cause : undefined;
      if (spec.retryable && isStaleSocketError(cause) && !spec.signal?.aborted) {
        return this.#sendOnce(method, path, spec);
      }
      throw err;
    }
  }

  async #sendOnce(method: HttpMethod, path: string, spec: RequestSpec): Promise<RawResponse> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) search.set(key, String(value));
    }
    const queryText = search.toString();
    const query = queryText === '' ? '' : `?${queryText}`;
    const target = this.#target(method, `${path}${query}`);
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    const external = spec.signal;
    external?.throwIfAborted();

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
    const onExternalAbort = () => controller.abort(external?.reason);
    external?.addEventListener('abort', onExternalAbort, { once: true });
    const headers: Record<string, string> = { ...this.#headers };
    let payload: string | undefined;
    if (spec.body !== undefined) {
      payload = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    try {
      const res = await this.#pool.request({
        method,
        path: `${this.#basePath}${path}${query}`,
        headers,
        body: payload,
        signal: controller.signal,
      });
      const text = await res.body.text();
      const raw: RawResponse = { status: res.statusCode, headers: res.headers, text, target };
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      if (!ok && !spec.acceptStatuses?.includes(res.statusCode)) {
        throw responseError(res.statusCode, text, headerValue(res.headers, 'x-request-id'), target);
      }
      return raw;
    } catch (err) {
      if (err instanceof HfiError) throw err;
      if (controller.signal.aborted) {
        if (controller.signal.reason === TIMED_OUT) throw timeoutError(target, timeoutMs, err);
        throw external?.reason ?? err;
      }
      throw transportError(err, target, timeoutMs);
    } finally {
      clearTimeout(timer);
      external?.removeEventListener('abort', onExternalAbort);
    }
  }
}
