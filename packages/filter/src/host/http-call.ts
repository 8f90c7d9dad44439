// proxy_http_call over real HTTP (undici). What the plugin receives mirrors Envoy's async client, which runs the
// call through a router: a timeout or an unreachable cluster is not a failure callback but a local reply from the
// router (504 "upstream request timeout", 503 "upstream connect error ..."); only a reset after the response began
// is a failure (a callback with zero headers).

import type { Dispatcher } from 'undici';
import type { HeaderPair } from './pairs';
import { appendPairs, isCallFailure, UndiciCall } from './undici-call';

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
  // Flat name/value list, as the sidecar's upstream requests give it (see undici-call.ts on why they must match).
  const headers: string[] = [];
  let authority = '';
  let path = '/';
  let method = 'GET';
  for (const [key, value] of request.headers) {
    if (key.charCodeAt(0) === 58 /* ':' */) {
      if (key === ':authority') authority = value;
      else if (key === ':path') path = value;
      else if (key === ':method') method = value;
      continue;
    }
    headers.push(key, value);
  }
  headers.push('host', authority);
  const baseUrl = new URL(request.baseUrl);
  if (request.signal.aborted) return { kind: 'cancelled' };
  const call = new UndiciCall(request.dispatcher, {
    origin: baseUrl.origin,
    path: requestPath(baseUrl, path),
    method: method as Dispatcher.HttpMethod,
    headers,
    body: request.body.length > 0 ? request.body : undefined,
  });
  let timedOut = false;
  const timer =
    request.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          call.cancel();
        }, request.timeoutMs)
      : undefined;
  // Like AbortSignal.timeout, the call's timeout alone does not keep the process alive.
  timer?.unref();
  const cancel = () => call.cancel();
  request.signal.addEventListener('abort', cancel, { once: true });
  let outcome: Awaited<typeof call.result>;
  try {
    outcome = await call.result;
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener('abort', cancel);
  }
  if (!isCallFailure(outcome)) {
    const headers = appendPairs(outcome.headers, [[':status', String(outcome.statusCode)]]);
    return { kind: 'response', response: { headers, body: outcome.body, trailers: appendPairs(outcome.trailers, []) } };
  }
  if (request.signal.aborted) return { kind: 'cancelled' };
  if (timedOut) return { kind: 'response', response: routerLocalReply(504, 'upstream request timeout') };
  if (outcome.kind === 'broken') return { kind: 'failure', reason: 'reset' };
  const code = outcome.kind === 'unreachable' ? errorCode(outcome.error) : undefined;
  const reason = code !== undefined && CONNECT_ERROR_CODES.has(code) ? 'connection failure' : 'connection termination';
  return {
    kind: 'response',
    response: routerLocalReply(
      503,
      `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`,
    ),
  };
}
