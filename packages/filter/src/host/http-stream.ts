// One HTTP stream (a request/response pair) of a plugin VM, driven through Envoy's callbacks. The public methods are
// what a test (or the local sidecar) calls in Envoy's order; the VM's host functions reach the stream's header maps
// and body buffers through the internal accessors below, with Envoy's availability rules: request headers are
// readable and writable from on_request_headers until the request is continued, bodies from their callback while
// buffered, and in on_log both header maps are readable.

import { performance } from 'node:perf_hooks';
import { MapType, Status, StreamType } from './abi';
import type { HeaderPair } from './pairs';

export type StreamAction = 'continue' | 'pause';

export interface LocalResponse {
  status: number;
  /** The plugin's headers (lowercased) plus what Envoy adds: content-length and, for a body, content-type. */
  headers: HeaderPair[];
  body: Buffer;
  /** Response code details, whitespace replaced by `_` as Envoy does. */
  details: string;
  /** Whether it was sent from the request path (Envoy then runs it through the response callbacks). */
  phase: 'request' | 'response';
}

/** Connection facts for properties (`source.*`, `destination.*`, `connection.*`, `request.protocol`). */
export interface StreamInfo {
  sourceAddress?: string;
  sourcePort?: number;
  destinationAddress?: string;
  destinationPort?: number;
  connectionId?: number;
  protocol?: string;
}

type Phase =
  | 'request_headers'
  | 'request_body'
  | 'request_trailers'
  | 'response_headers'
  | 'response_body'
  | 'response_trailers'
  | 'log';

type GuestFunction = (...args: number[]) => unknown;

/** What `StreamHost.callStream` answers when the callback trapped (or the VM had already failed). */
export const TRAPPED: unique symbol = Symbol('trapped');

/** @internal What a stream needs from its VM. */
export interface StreamHost {
  readonly rootContextId: number;
  readonly failOpen: boolean;
  guestFunction(name: string): GuestFunction | undefined;
  failed(): boolean;
  /**
   * Calls a stream callback with `contextId` effective and returns its value, or TRAPPED. Deferred actions
   * (continue, local reply) wait for `afterStreamCall()`, so the caller first records what the callback answered.
   */
  callStream(name: string, fn: GuestFunction, contextId: number, a?: number, b?: number): unknown;
  afterStreamCall(): void;
  afterCall(action: () => void): void;
  release(stream: HttpStream): void;
  /** Called as the driver makes each callback, before it: the VM runs its due ticks. */
  enter(): void;
}

/** Which return values stop iteration, per Envoy's conversion of the SDK's statuses. */
const STOPS_HEADERS = new Set([1, 3, 4]);
const STOPS_DATA = new Set([1, 2, 3]);
const STOPS_TRAILERS = new Set([1]);
const BUFFERS_DATA = new Set([1, 2]);

interface Side {
  headers?: HeaderPair[];
  headersOpen: boolean;
  trailers?: HeaderPair[];
  trailersOpen: boolean;
  released: Buffer[];
  pending?: Buffer;
  buffering: boolean;
  endOfStream: boolean;
  paused: boolean;
  pausedAt?: 'headers' | 'body' | 'trailers';
}

function newSide(): Side {
  return { headersOpen: false, trailersOpen: false, released: [], buffering: false, endOfStream: false, paused: false };
}

function headersOf(side: Side): HeaderPair[] {
  if (!side.headers) side.headers = [];
  return side.headers;
}

function trailersOf(side: Side): HeaderPair[] {
  if (!side.trailers) side.trailers = [];
  return side.trailers;
}

function normalizeHeaders(headers: readonly (readonly [string, string])[]): HeaderPair[] {
  return headers.map(([k, v]) => [k.toLowerCase(), String(v)]);
}

/** Every released chunk plus what is still buffered, without a copy when there is one chunk. */
function bodyOf(side: Side): Buffer {
  const { released, pending } = side;
  if (pending === undefined) {
    if (released.length === 1) return released[0];
    if (released.length === 0) return EMPTY;
    return Buffer.concat(released);
  }
  return released.length === 0 ? pending : Buffer.concat([...released, pending]);
}

const EMPTY = Buffer.alloc(0);
const NO_PAIRS: readonly HeaderPair[] = Object.freeze([]);

function toBuffer(data: Uint8Array | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

export class HttpStream {
  /** Date.now() when the stream began. */
  readonly startedAt = Date.now();
  private state?: Map<string, Buffer>;
  private readonly request = newSide();
  private readonly response = newSide();
  private phase?: Phase;
  private created = false;
  private finished = false;
  private local?: LocalResponse;
  private resetReason?: string;
  private waiters?: (() => void)[];
  private continuedAt?: number;

  /** @internal */
  constructor(
    private readonly host: StreamHost,
    readonly contextId: number,
    readonly info: StreamInfo = {},
  ) {}

  get startTime(): Date {
    return new Date(this.startedAt);
  }

  /** Values stored by proxy_set_property (Envoy's filter state), readable again through proxy_get_property. */
  get filterState(): Map<string, Buffer> {
    this.state ??= new Map();
    return this.state;
  }

  // --- the driver's side ---

  onRequestHeaders(headers: readonly (readonly [string, string])[], endOfStream: boolean): StreamAction {
    return this.takeRequestHeaders(normalizeHeaders(headers), endOfStream);
  }

  /**
   * @internal onRequestHeaders for a driver that hands over a list it built itself, keys already lowercase: the
   * stream keeps the list (the plugin may change it) instead of copying it.
   */
  takeRequestHeaders(headers: HeaderPair[], endOfStream: boolean): StreamAction {
    this.host.enter();
    this.request.headers = headers;
    this.request.endOfStream = endOfStream;
    return this.runHeaders(this.request, 'request_headers', 'proxy_on_request_headers', endOfStream);
  }

  onRequestBody(body: Uint8Array | string, endOfStream: boolean): StreamAction {
    this.host.enter();
    return this.runBody(this.request, 'request_body', 'proxy_on_request_body', toBuffer(body), endOfStream);
  }

  onRequestTrailers(trailers: readonly (readonly [string, string])[]): StreamAction {
    this.host.enter();
    this.request.trailers = normalizeHeaders(trailers);
    return this.runTrailers(this.request, 'request_trailers', 'proxy_on_request_trailers');
  }

  onResponseHeaders(headers: readonly (readonly [string, string])[], endOfStream: boolean): StreamAction {
    return this.takeResponseHeaders(normalizeHeaders(headers), endOfStream);
  }

  /** @internal As takeRequestHeaders, for the response. */
  takeResponseHeaders(headers: HeaderPair[], endOfStream: boolean): StreamAction {
    this.host.enter();
    this.response.headers = headers;
    this.response.endOfStream = endOfStream;
    return this.runHeaders(this.response, 'response_headers', 'proxy_on_response_headers', endOfStream);
  }

  onResponseBody(body: Uint8Array | string, endOfStream: boolean): StreamAction {
    this.host.enter();
    return this.runBody(this.response, 'response_body', 'proxy_on_response_body', toBuffer(body), endOfStream);
  }

  onResponseTrailers(trailers: readonly (readonly [string, string])[]): StreamAction {
    this.host.enter();
    this.response.trailers = normalizeHeaders(trailers);
    return this.runTrailers(this.response, 'response_trailers', 'proxy_on_response_trailers');
  }

  /** Ends the stream: on_log, on_done, on_delete (creating the context first if no callback ran, as Envoy does). */
  done(): void {
    if (this.finished) return;
    this.host.enter();
    this.ensureCreated();
    if (this.created && !this.host.failed()) {
      this.callEnd('proxy_on_log', 'log');
      // Envoy ignores on_done's answer for stream contexts and deletes them right away.
      this.callEnd('proxy_on_done', undefined);
      this.callEnd('proxy_on_delete', undefined);
    }
    this.finished = true;
    this.request.paused = false;
    this.response.paused = false;
    this.host.release(this);
    this.settle();
  }

  /** Resolves once nothing holds the stream: continued, answered locally, reset, failed open, or done. */
  whenResumed(): Promise<void> {
    if (this.runnable()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters ??= [];
      this.waiters.push(resolve);
    });
  }

  /** performance.now() when the plugin last continued a paused side of this stream (undefined if it never did). */
  get lastContinuedAt(): number | undefined {
    return this.continuedAt;
  }

  get paused(): boolean {
    return this.request.paused || this.response.paused;
  }

  get requestHeaders(): HeaderPair[] {
    return (this.request.headers ?? []).map(([k, v]) => [k, v]);
  }

  /** @internal The request headers as they are now, not copied: read them before the next callback. */
  peekRequestHeaders(): readonly HeaderPair[] {
    return this.request.headers ?? NO_PAIRS;
  }

  /** @internal As peekRequestHeaders, for the response. */
  peekResponseHeaders(): readonly HeaderPair[] {
    return this.response.headers ?? NO_PAIRS;
  }

  /** @internal As peekRequestHeaders, for the response trailers. */
  peekResponseTrailers(): readonly HeaderPair[] {
    return this.response.trailers ?? NO_PAIRS;
  }

  get responseHeaders(): HeaderPair[] {
    return (this.response.headers ?? []).map(([k, v]) => [k, v]);
  }

  get requestTrailers(): HeaderPair[] {
    return (this.request.trailers ?? []).map(([k, v]) => [k, v]);
  }

  get responseTrailers(): HeaderPair[] {
    return (this.response.trailers ?? []).map(([k, v]) => [k, v]);
  }

  /** Request body as the plugin left it: every released chunk plus what is still buffered. */
  get requestBody(): Buffer {
    return bodyOf(this.request);
  }

  get responseBody(): Buffer {
    return bodyOf(this.response);
  }

  get localResponse(): LocalResponse | undefined {
    return this.local;
  }

  /** Set when the plugin reset the stream (proxy_close_stream): Envoy's response code details for it. */
  get reset(): string | undefined {
    return this.resetReason;
  }

  get isDone(): boolean {
    return this.finished;
  }

  // --- the VM's side (host functions) ---

  /** @internal The live header list for a map, or undefined where Envoy has no such map right now. */
  headerMap(type: number, forWrite: boolean): HeaderPair[] | undefined {
    const readInLog = this.phase === 'log' && !forWrite;
    switch (type) {
      case MapType.HttpRequestHeaders:
        return this.request.headersOpen || readInLog ? headersOf(this.request) : undefined;
      case MapType.HttpResponseHeaders:
        return this.response.headersOpen || readInLog ? headersOf(this.response) : undefined;
      case MapType.HttpRequestTrailers:
        return this.trailerMap(this.request, 'request_body', forWrite, false);
      case MapType.HttpResponseTrailers:
        return this.trailerMap(this.response, 'response_body', forWrite, readInLog);
      default:
        return undefined;
    }
  }

  private trailerMap(side: Side, bodyPhase: Phase, forWrite: boolean, readInLog: boolean): HeaderPair[] | undefined {
    if (readInLog) return side.trailers;
    if (side.trailersOpen) return trailersOf(side);
    // Trailers can be added from the last body callback of a stream that has none.
    if (forWrite && this.phase === bodyPhase && side.endOfStream) return trailersOf(side);
    return undefined;
  }

  /** @internal The body buffer a body callback (or a paused, buffering body) exposes. */
  bodyBuffer(which: 'request' | 'response'): { data: Buffer; set(data: Buffer): void } | undefined {
    const side = which === 'request' ? this.request : this.response;
    const active = this.phase === (which === 'request' ? 'request_body' : 'response_body');
    if (!active && !side.buffering) return undefined;
    return {
      data: side.pending ?? EMPTY,
      set: (data) => {
        side.pending = data;
      },
    };
  }

  /** @internal proxy_continue_stream / proxy_continue_request / proxy_continue_response. */
  continueStream(type: number): number {
    if (type === StreamType.HttpRequest || type === StreamType.HttpResponse) {
      const side = type === StreamType.HttpRequest ? this.request : this.response;
      // Deferred like Envoy's addAfterVmCallAction: a continue issued inside a callback that then pauses resumes it.
      this.host.afterCall(() => this.resume(side));
      return Status.Ok;
    }
    if (type === StreamType.Downstream) return Status.Ok;
    if (type === StreamType.Upstream) return Status.Unimplemented;
    return Status.BadArgument;
  }

  /** @internal proxy_close_stream. */
  closeStream(type: number): number {
    if (type === StreamType.HttpRequest || type === StreamType.HttpResponse) {
      this.resetReason ??= 'wasm_close_stream';
      this.host.afterCall(() => this.settle());
      return Status.Ok;
    }
    if (type === StreamType.Downstream || type === StreamType.Upstream) return Status.Ok;
    return Status.BadArgument;
  }

  /** @internal proxy_send_local_response. */
  sendLocalResponse(status: number, details: string, body: Buffer, headers: HeaderPair[]): void {
    if (this.finished || this.local) return;
    const responsePhase = this.phase?.startsWith('response') === true || this.response.paused;
    this.local = this.buildLocalResponse(status, details, body, headers, responsePhase ? 'response' : 'request');
    this.host.afterCall(() => this.settle());
  }

  /** @internal The VM failed (trapped) outside this stream's own callback. */
  vmFailed(): void {
    if (this.finished) return;
    if (!this.host.failOpen) this.failClosed();
    this.request.paused = false;
    this.response.paused = false;
    this.settle();
  }

  // --- internals ---

  private buildLocalResponse(
    status: number,
    details: string,
    body: Buffer,
    headers: HeaderPair[],
    phase: 'request' | 'response',
  ): LocalResponse {
    const out: HeaderPair[] = headers.map(([k, v]) => [k.toLowerCase(), v]);
    if (body.length > 0) {
      out.push(['content-length', String(body.length)]);
      if (!out.some(([k]) => k === 'content-type')) out.push(['content-type', 'text/plain']);
    }
    return { status, headers: out, body, details: details.replace(/\s/g, '_'), phase };
  }

  private failClosed(): void {
    this.local ??= this.buildLocalResponse(503, 'wasm_fail_stream', Buffer.alloc(0), [], 'request');
  }

  private ensureCreated(): void {
    if (this.created || this.finished || this.host.failed()) return;
    const fn = this.host.guestFunction('proxy_on_context_create');
    if (!fn) {
      this.created = true;
      return;
    }
    const value = this.host.callStream('proxy_on_context_create', fn, this.contextId, this.host.rootContextId);
    this.created = value !== TRAPPED;
    this.host.afterStreamCall();
  }

  /** Envoy's answer when the VM has failed: continue (fail open) or a 503 local reply (fail closed). */
  private failedAction(): StreamAction {
    if (this.host.failOpen) return 'continue';
    this.failClosed();
    this.settle();
    return 'pause';
  }

  private skip(side: Side): StreamAction | undefined {
    if (this.finished) return 'continue';
    // After a local reply Envoy stops the request path; the response path still sees a request-path local reply.
    if (side === this.request && (this.local || this.resetReason)) return 'continue';
    if (side === this.response && (this.local?.phase === 'response' || this.resetReason)) return 'continue';
    this.ensureCreated();
    if (!this.created || this.host.failed()) return this.failedAction();
    return undefined;
  }

  /** on_log, on_done, on_delete: nothing to read from their answers. */
  private callEnd(name: string, phase: Phase | undefined): void {
    const fn = this.host.guestFunction(name);
    if (!fn) return;
    this.phase = phase;
    this.host.callStream(name, fn, this.contextId);
    this.phase = undefined;
    this.host.afterStreamCall();
  }

  /**
   * Makes one callback: the callback's code, or TRAPPED, is answered before the VM's deferred actions run, so a
   * pause is recorded before a continue issued during the callback resumes it. Undefined when the plugin does not
   * export the callback.
   */
  private callCode(phase: Phase, name: string, a: number, b?: number): number | typeof TRAPPED | undefined {
    const fn = this.host.guestFunction(name);
    if (!fn) return undefined;
    this.phase = phase;
    const value = this.host.callStream(name, fn, this.contextId, a, b);
    this.phase = undefined;
    return value === TRAPPED ? TRAPPED : Number(value ?? 0);
  }

  /** The action for a callback that answered `code` and `stopped` or not, after its deferred actions ran. */
  private finishCall(code: number | typeof TRAPPED | undefined, stopped: boolean): StreamAction {
    const action: StreamAction = code === TRAPPED ? this.failedAction() : stopped ? 'pause' : 'continue';
    if (code !== undefined) this.host.afterStreamCall();
    return action;
  }

  private runHeaders(side: Side, phase: Phase, name: string, endOfStream: boolean): StreamAction {
    const skipped = this.skip(side);
    if (skipped) return skipped;
    side.headersOpen = true;
    const count = side.headers?.length ?? 0;
    const code = this.callCode(phase, name, count, endOfStream ? 1 : 0);
    const stopped = typeof code === 'number' && STOPS_HEADERS.has(code);
    if (stopped) this.pause(side, 'headers');
    else side.headersOpen = false;
    return this.finishCall(code, stopped);
  }

  private runBody(side: Side, phase: Phase, name: string, chunk: Buffer, endOfStream: boolean): StreamAction {
    const skipped = this.skip(side);
    if (skipped) {
      side.released.push(chunk);
      return skipped;
    }
    side.endOfStream = endOfStream;
    side.pending = side.buffering && side.pending ? Buffer.concat([side.pending, chunk]) : chunk;
    const code = this.callCode(phase, name, side.pending.length, endOfStream ? 1 : 0);
    const stopped = typeof code === 'number' && STOPS_DATA.has(code);
    side.buffering = stopped && BUFFERS_DATA.has(code);
    if (stopped) this.pause(side, 'body');
    else this.release(side);
    return this.finishCall(code, stopped);
  }

  private runTrailers(side: Side, phase: Phase, name: string): StreamAction {
    const skipped = this.skip(side);
    if (skipped) return skipped;
    side.trailersOpen = true;
    const count = side.trailers?.length ?? 0;
    const code = this.callCode(phase, name, count);
    const stopped = typeof code === 'number' && STOPS_TRAILERS.has(code);
    if (stopped) this.pause(side, 'trailers');
    else side.trailersOpen = false;
    return this.finishCall(code, stopped);
  }

  private pause(side: Side, at: 'headers' | 'body' | 'trailers'): void {
    side.paused = true;
    side.pausedAt = at;
  }

  private release(side: Side): void {
    if (side.pending) side.released.push(side.pending);
    side.pending = undefined;
    side.buffering = false;
  }

  private resume(side: Side): void {
    if (!side.paused || this.finished) return;
    side.paused = false;
    this.continuedAt = performance.now();
    if (side.pausedAt === 'headers') side.headersOpen = false;
    if (side.pausedAt === 'body') this.release(side);
    if (side.pausedAt === 'trailers') side.trailersOpen = false;
    side.pausedAt = undefined;
    this.settle();
  }

  private runnable(): boolean {
    return (
      this.finished ||
      this.local !== undefined ||
      this.resetReason !== undefined ||
      (!this.request.paused && !this.response.paused)
    );
  }

  private settle(): void {
    if (!this.runnable()) return;
    const waiters = this.waiters;
    if (waiters === undefined) return;
    this.waiters = undefined;
    for (const resolve of waiters) resolve();
  }
}
