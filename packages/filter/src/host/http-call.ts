// proxy_http_call over real HTTP (undici). What the plugin receives mirrors Envoy's async client, which runs the
// call through a router: a timeout or an unreachable cluster is not a failure callback but a local reply from the
// router (504 "upstream request timeout", 503 "upstream connect error ..."); only a reset after the response began
// is a failure (a callback with zero headers).

import type { Dispatcher } from 'undici';
import type { HeaderPair } from './pairs';

export interface HttpCallResponse {
  headers: HeaderPair[];
  body: Buffer;
  trailers: HeaderPair[];
}

export type HttpCallOutcome =
  | { kind: 'response'; response: HttpCallResponse }
  | { kind: 'failure'; reason: string }
  /** The host is shutting down: deliver nothing. */
  | { kind: 'cancelled' };

export interface HttpCallRequest {
  /** The cluster's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Includes the pseudo-headers :method, :path and :authority. */
  headers: readonly HeaderPair[];
  body: Buffer;
  /** 0 means no timeout, as in Envoy. */
  timeoutMs: number;
  dispatcher: Dispatcher;
  /** Aborted when the VM closes. */
  signal: AbortSignal;
}

const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function routerLocalReply(status: number, body: string): HttpCallResponse {
  const bytes = Buffer.from(body, 'utf8');
  return {
    headers: [
      [':status', String(status)],
      ['content-length', String(bytes.length)],
      ['content-type', 'text/plain'],
    ],
    body: bytes,
    trailers: [],
  };
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_ABORTED') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return (error as { code?: string } | null)?.code;
}

/** The cluster URL's own path (if any) prefixes the call's :path, which is sent verbatim (query included). */
function requestPath(baseUrl: URL, path: string): string {
  const prefix = baseUrl.pathname.replace(/\/+$/, '');
  return `${prefix}${path.startsWith('/') ? path : `/${path}`}`;
}

export async function sendHttpCall(request: HttpCallRequest): Promise<HttpCallOutcome> {
  const pseudo = new Map<string, string>();
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of request.headers) {
    if (key.startsWith(':')) {
      pseudo.set(key, value);
      continue;
    }
    const existing = headers[key];
    headers[key] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  }
  headers.host = pseudo.get(':authority') ?? '';
  const baseUrl = new URL(request.baseUrl);
  const timeout = request.timeoutMs > 0 ? AbortSignal.timeout(request.timeoutMs) : undefined;
  const signal = timeout ? AbortSignal.any([request.signal, timeout]) : request.signal;
  let headersReceived = false;
  try {
    const res = await request.dispatcher.request({
      origin: baseUrl.origin,
      path: requestPath(baseUrl, pseudo.get(':path') ?? '/'),
      method: (pseudo.get(':method') ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: request.body.length > 0 ? request.body : undefined,
      signal,
    });
    headersReceived = true;
    const body = Buffer.from(await res.body.arrayBuffer());
    const pairs: HeaderPair[] = [[':status', String(res.statusCode)]];
    for (const [key, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) pairs.push([key.toLowerCase(), v]);
    }
    const trailers: HeaderPair[] = [];
    for (const [key, value] of Object.entries(res.trailers ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) trailers.push([key.toLowerCase(), v]);
    }
    return { kind: 'response', response: { headers: pairs, body, trailers } };
  } catch (error) {
    if (request.signal.aborted) return { kind: 'cancelled' };
    if (timeout?.aborted) return { kind: 'response', response: routerLocalReply(504, 'upstream request timeout') };
    if (headersReceived) return { kind: 'failure', reason: 'reset' };
    const code = errorCode(error);
    const reason =
      code !== undefined && CONNECT_ERROR_CODES.has(code) ? 'connection failure' : 'connection termination';
    return {
      kind: 'response',
      response: routerLocalReply(
        503,
        `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`,
      ),
    };
  }
}
