// One request through undici, its response collected whole: the sidecar's upstream requests and the plugin's HTTP
// calls (the filter's watch) both go through this class. Built on undici's dispatch handler rather than `request()`:
// no body stream, async iterator or AbortSignal per request, which is a good part of the proxy's per-request CPU, and
// under load that CPU is what makes paused streams resume late. One class for both matters too: V8 optimises
// undici's parser and Node's stream code for the objects it has seen there, and a watch answer that brought other
// handler and stream classes (as `request()` did, every 25 s) sent about 30 of those hot functions back to
// unoptimised code at once.

import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { HeaderPair } from './pairs';

export interface CallAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
}

/** Why a call ended without a response. */
export type CallFailure =
  /** Before the response began (connect refused, reset, timeout): Envoy's router answers 503. */
  | { kind: 'unreachable'; error: Error }
  /** After the response began: Envoy resets the downstream stream. */
  | { kind: 'broken'; error: Error }
  /** `cancel()` was called (the downstream went away, the call timed out, the VM closed). */
  | { kind: 'cancelled' };

export class UndiciCall implements Dispatcher.DispatchHandler {
  /** Resolves with the response, or with why there is none; never rejects. */
  readonly result: Promise<CallAnswer | CallFailure>;
  /** Date.now() when the call was made (for x-envoy-upstream-service-time). */
  readonly startedAt = Date.now();
  private finish!: (outcome: CallAnswer | CallFailure) => void;
  private controller?: Dispatcher.DispatchController;
  private cancelled = false;
  private started = false;
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];

  /**
   * `beforeWrite` runs as undici is about to write the request. undici writes a request that reuses an idle
   * keep-alive connection from a setImmediate callback, so the requests the tick of a delay resumed are written one
   * after the other in the loop's check phase, where nothing else would look at the plugin's due ticks.
   */
  constructor(
    dispatcher: Dispatcher,
    options: Dispatcher.DispatchOptions,
    private readonly beforeWrite?: () => void,
  ) {
    this.result = new Promise((resolve) => {
      this.finish = resolve;
    });
    try {
      dispatcher.dispatch(options, this);
    } catch (error) {
      this.onResponseError(undefined, error as Error);
    }
  }

  /** Aborts the call (at once, or as soon as undici starts it); its result is then `{ kind: 'cancelled' }`. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller?.abort(new Error('the call was cancelled'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.beforeWrite?.();
    this.controller = controller;
    if (this.cancelled) controller.abort(new Error('the call was cancelled'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // Called again after an informational (1xx) response; the final one wins.
    this.started = true;
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.finish({ statusCode: this.statusCode, headers: this.headers, body, trailers });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.cancelled) this.finish({ kind: 'cancelled' });
    else this.finish({ kind: this.started ? 'broken' : 'unreachable', error });
  }
}

export function isCallFailure(outcome: CallAnswer | CallFailure): outcome is CallFailure {
  return 'kind' in outcome;
}

/**
 * Appends an answer's headers (or trailers) to `into` as pairs, a repeated name once per value, leaving out the names
 * in `skip`. undici hands them over with lowercase names already.
 */
export function appendPairs(
  headers: IncomingHttpHeaders,
  into: HeaderPair[],
  skip?: ReadonlySet<string>,
): HeaderPair[] {
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || skip?.has(key)) continue;
    if (typeof value === 'string') into.push([key, value]);
    else for (const v of value) into.push([key, v]);
  }
  return into;
}
