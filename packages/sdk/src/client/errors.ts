// Turns everything that can go wrong on a control-plane call into an HfiError with a stable code.
import { ERROR_CATALOGUE, HfiError, type HfiErrorCode } from '@hfi/core';

/** Where a failed request was going; carried into every error's details. */
export interface RequestTarget {
  method: string;
  /** Absolute URL of the request, e.g. `http://127.0.0.1:8080/v1/policies/a%2Fb`. */
  url: string;
  /** The control plane's base URL as the client was given it. */
  baseUrl: string;
}

// Socket-level codes that mean "nobody answered at that address".
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The errno-style code of a transport error; Node wraps dual-stack connect failures in an AggregateError. */
export function transportErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const innerCode = transportErrorCode(inner);
      if (innerCode !== undefined) return innerCode;
    }
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause === undefined || cause === err ? undefined : transportErrorCode(cause);
}

function transportErrorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(transportErrorText).join('; ');
  }
  if (err instanceof Error && err.message !== '') return err.message;
  return transportErrorCode(err) ?? String(err);
}

/** Is this failure one where the request may be retried on a fresh connection (a stale keep-alive socket)? */
export function isStaleSocketError(err: unknown): boolean {
  const code = transportErrorCode(err);
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

export function timeoutError(target: RequestTarget, timeoutMs: number, cause?: unknown): HfiError {
  return new HfiError(
    'HFI_ERR_TIMEOUT',
    `control plane at ${target.baseUrl} did not answer ${target.method} ${target.url.slice(target.baseUrl.length)} within ${timeoutMs}ms`,
    { details: { url: target.url, method: target.method, timeoutMs }, cause },
  );
}

/** Maps a failure below HTTP (connect, DNS, socket, timeouts) to an HfiError. */
export function transportError(err: unknown, target: RequestTarget, timeoutMs: number): HfiError {
  if (err instanceof HfiError) return err;
  const code = transportErrorCode(err);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return timeoutError(target, timeoutMs, err);
  const causeText = transportErrorText(err);
  const known = code !== undefined && UNREACHABLE_CODES.has(code);
  return new HfiError(
    'HFI_ERR_CONTROL_PLANE_UNREACHABLE',
    `control plane unreachable at ${target.baseUrl}: ${causeText}`,
    {
      details: {
        url: target.url,
        method: target.method,
        cause: code ?? 'unknown',
        ...(known ? {} : { unexpected: true }),
      },
      cause: err,
    },
  );
}

function isKnownCode(value: unknown): value is HfiErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

/**
 * Maps a non-2xx answer to an HfiError: the server's `hfi_code` when it names a catalogue entry, otherwise
 * HFI_ERR_CONTROL_PLANE_RESPONSE; the HTTP status becomes `statusCode` whatever the code's usual status is.
 */
export function responseError(
  status: number,
  rawBody: string,
  requestId: string | undefined,
  target: RequestTarget,
): HfiError {
  let parsed: unknown;
  try {
    parsed = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    parsed = undefined;
  }
  const body = asRecord(parsed);
  const serverDetails = asRecord(body?.details);
  const code: HfiErrorCode = isKnownCode(body?.hfi_code) ? body.hfi_code : 'HFI_ERR_CONTROL_PLANE_RESPONSE';
  const errorName = firstString(body?.error);
  // The reference's PUT handler puts its explanation in a string `details`.
  const message =
    firstString(body?.message, typeof body?.details === 'string' ? body.details : undefined, errorName) ??
    (rawBody.trim() !== '' && body === undefined ? rawBody.trim().slice(0, 500) : `HTTP ${status}`);
  const field = firstString(body?.field, serverDetails?.field);
  return new HfiError(code, message, {
    statusCode: status,
    ...(field === undefined ? {} : { field }),
    details: {
      status,
      error: errorName,
      requestId: firstString(body?.request_id, requestId),
      url: target.url,
      method: target.method,
      body: parsed ?? rawBody,
    },
  });
}

/** A 2xx answer whose body is not what the API promises. */
export function malformedResponseError(status: number, rawBody: string, target: RequestTarget, why: string): HfiError {
  return new HfiError(
    'HFI_ERR_CONTROL_PLANE_RESPONSE',
    `unexpected answer from ${target.method} ${target.url}: ${why}`,
    {
      statusCode: status,
      details: { status, url: target.url, method: target.method, body: rawBody.slice(0, 2000) },
    },
  );
}
