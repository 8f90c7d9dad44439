// The doctor's GETs: never throw, so one unreachable endpoint becomes a finding instead of ending the run.
import { request } from 'undici';

export type Fetched = { ok: true; status: number; text: string } | { ok: false; error: string };

// Duck-typed: abort reasons are DOMExceptions, not `Error`s of every realm (Jest's vm contexts).
export function describeFailure(err: unknown, timeoutMs: number): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { name, message, code, cause } = err as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const causeCode = (cause as { code?: unknown } | undefined)?.code;
  const shown = typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : undefined;
  return shown === undefined ? String(message ?? err) : `${shown}: ${String(message ?? err)}`;
}

/** GET `url`; any status is an answer (`ok: true`), only a transport failure or timeout is `ok: false`. */
export async function getText(
  url: string,
  options: { timeoutMs: number; headers?: Record<string, string> },
): Promise<Fetched> {
  try {
    const res = await request(url, {
      method: 'GET',
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { accept: '*/*', ...(options.headers ?? {}) },
    });
    return { ok: true, status: res.statusCode, text: await res.body.text() };
  } catch (err) {
    return { ok: false, error: describeFailure(err, options.timeoutMs) };
  }
}

/** The body of a 200 answer, or why there is none. */
export function bodyOf(fetched: Fetched, url: string): { text: string } | { error: string } {
  if (!fetched.ok) return { error: `${url}: ${fetched.error}` };
  if (fetched.status !== 200) {
    return { error: `${url}: HTTP ${fetched.status} ${fetched.text.slice(0, 200).trim()}`.trim() };
  }
  return { text: fetched.text };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
