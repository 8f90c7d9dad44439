// One HTTP stream (a request/response pair) of a plugin VM, driven through Envoy's callbacks. The public methods are
// what a test (or the local sidecar) calls in Envoy's order; the VM's host functions reach the stream's header maps
// and body buffers through the internal accessors below, with Envoy's availability rules: request headers are
// readable and writable from on_request_headers until the request is continued, bodies from their callback while
// buffered, and in on_log both header maps are readable.

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

/** @internal What a stream needs from its VM. */
export interface StreamHost {
  readonly rootContextId: number;
  readonly failOpen: boolean;
  guestFunction(name: string): GuestFunction | undefined;
  failed(): boolean;
  /** Calls into the guest with `contextId` effective; `onReturn` runs before deferred actions (continue, local reply). */
  invoke(
    name: string,
    contextId: number,
    call: () => unknown,
    onReturn: (value: unknown, trapped: boolean) => void,
  ): void;
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

function toBuffer(data: Uint8Array | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

export class HttpStream {
  readonly startTime = new Date();
  /** Values stored by proxy_set_property (Envoy's filter state), readable again through proxy_get_property. */
  readonly filterState = new Map<string, Buffer>();
  private readonly request = newSide();
  private readonly response = newSide();
  private phase?: Phase;
  private created = false;
  private finished = false;
  private local?: LocalResponse;
  private resetReason?: string;
  private waiters: (() => void)[] = [];

  /** @internal */
  constructor(
    private readonly host: StreamHost,
    readonly contextId: number,
    readonly info: StreamInfo = {},
  ) {}

  // --- the driver's side ---

  onRequestHeaders(headers: readonly (readonly [string, string])[], endOfStream: boolean): StreamAction {
    this.host.enter();
    this.request.headers = normalizeHeaders(headers);
    this.request.endOfStream = endOfStream;
    return this.runHeaders('request', 'request_headers', 'proxy_on_request_headers', endOfStream);
  }

  onRequestBody(body: Uint8Array | string, endOfStream: boolean): StreamAction {
    this.host.enter();
    return this.runBody('request', 'request_body', 'proxy_on_request_body', toBuffer(body), endOfStream);
  }

  onRequestTrailers(trailers: readonly (readonly [string, string])[]): StreamAction {
    this.host.enter();
    this.request.trailers = normalizeHeaders(trailers);
    return this.runTrailers('request', 'request_trailers', 'proxy_on_request_trailers');
  }

  onResponseHeaders(headers: readonly (readonly [string, string])[], endOfStream: boolean): StreamAction {
    this.host.enter();
    this.response.headers = normalizeHeaders(headers);
    this.response.endOfStream = endOfStream;
    return this.runHeaders('response', 'response_headers', 'proxy_on_response_headers', endOfStream);
  }

  onResponseBody(body: Uint8Array | string, endOfStream: boolean): StreamAction {
    this.host.enter();
    return this.runBody('response', 'response_body', 'proxy_on_response_body', toBuffer(body), endOfStream);
  }

  onResponseTrailers(trailers: readonly (readonly [string, string])[]): StreamAction {
    this.host.enter();
    this.response.trailers = normalizeHeaders(trailers);
    return this.runTrailers('response', 'response_trailers', 'proxy_on_response_trailers');
  }

  /** Ends the stream: on_log, on_done, on_delete (creating the context first if no callback ran, as Envoy does). */
  done(): void {
    if (this.finished) return;
    this.host.enter();
    this.ensureCreated();
    if (this.created && !this.host.failed()) {
      const call = (name: string, phase?: Phase) => {
        const fn = this.host.guestFunction(name);
        if (!fn) return;
        this.phase = phase;
        this.host.invoke(
          name,
          this.contextId,
          () => fn(this.contextId),
          () => {
            this.phase = undefined;
          },
        );
      };
      call('proxy_on_log', 'log');
      // Envoy ignores on_done's answer for stream contexts and deletes them right away.
      call('proxy_on_done');
      call('proxy_on_delete');
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
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get paused(): boolean {
    return this.request.paused || this.response.paused;
  }

  get requestHeaders(): HeaderPair[] {
    return (this.request.headers ?? []).map(([k, v]) => [k, v]);
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
    return Buffer.concat([...this.request.released, ...(this.request.pending ? [this.request.pending] : [])]);
  }

  get responseBody(): Buffer {
    return Buffer.concat([...this.response.released, ...(this.response.pending ? [this.response.pending] : [])]);
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
      data: side.pending ?? Buffer.alloc(0),
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
    let ok = true;
    if (fn) {
      this.host.invoke(
        'proxy_on_context_create',
        this.contextId,
        () => fn(this.contextId, this.host.rootContextId),
        (_, trapped) => {
          ok = !trapped;
        },
      );
    }
    this.created = ok;
  }

  /** Envoy's answer when the VM has failed: continue (fail open) or a 503 local reply (fail closed). */
  private failedAction(): StreamAction {
    if (this.host.failOpen) return 'continue';
    this.failClosed();
    this.settle();
    return 'pause';
  }

  private skip(which: 'request' | 'response'): StreamAction | undefined {
    if (this.finished) return 'continue';
    // After a local reply Envoy stops the request path; the response path still sees a request-path local reply.
    if (which === 'request' && (this.local || this.resetReason)) return 'continue';
    if (which === 'response' && (this.local?.phase === 'response' || this.resetReason)) return 'continue';
    this.ensureCreated();
    if (!this.created || this.host.failed()) return this.failedAction();
    return undefined;
  }

  private call(
    phase: Phase,
    name: string,
    args: number[],
    stops: Set<number>,
    onResult: (stopped: boolean, value: number) => void,
  ): StreamAction {
    const fn = this.host.guestFunction(name);
    if (!fn) {
      onResult(false, 0);
      return 'continue';
    }
    let action: StreamAction = 'continue';
    this.phase = phase;
    this.host.invoke(
      name,
      this.contextId,
      () => fn(...args),
      (value, trapped) => {
        this.phase = undefined;
        if (trapped) {
          onResult(false, 0);
          action = this.failedAction();
          return;
        }
        const code = Number(value ?? 0);
        const stopped = stops.has(code);
        onResult(stopped, code);
        action = stopped ? 'pause' : 'continue';
      },
    );
    return action;
  }

  private runHeaders(which: 'request' | 'response', phase: Phase, name: string, endOfStream: boolean): StreamAction {
    const skipped = this.skip(which);
    if (skipped) return skipped;
    const side = which === 'request' ? this.request : this.response;
    side.headersOpen = true;
    const count = side.headers?.length ?? 0;
    return this.call(phase, name, [this.contextId, count, endOfStream ? 1 : 0], STOPS_HEADERS, (stopped) => {
      if (stopped) this.pause(side, 'headers');
      else side.headersOpen = false;
    });
  }

  private runBody(
    which: 'request' | 'response',
    phase: Phase,
    name: string,
    chunk: Buffer,
    endOfStream: boolean,
  ): StreamAction {
    const skipped = this.skip(which);
    if (skipped) {
      (which === 'request' ? this.request : this.response).released.push(chunk);
      return skipped;
    }
    const side = which === 'request' ? this.request : this.response;
    side.endOfStream = endOfStream;
    side.pending = side.buffering && side.pending ? Buffer.concat([side.pending, chunk]) : chunk;
    const size = side.pending.length;
    return this.call(phase, name, [this.contextId, size, endOfStream ? 1 : 0], STOPS_DATA, (stopped, code) => {
      side.buffering = stopped && BUFFERS_DATA.has(code);
      if (stopped) {
        this.pause(side, 'body');
      } else {
        this.release(side);
      }
    });
  }

  private runTrailers(which: 'request' | 'response', phase: Phase, name: string): StreamAction {
    const skipped = this.skip(which);
    if (skipped) return skipped;
    const side = which === 'request' ? this.request : this.response;
    side.trailersOpen = true;
    const count = side.trailers?.length ?? 0;
    return this.call(phase, name, [this.contextId, count], STOPS_TRAILERS, (stopped) => {
      if (stopped) this.pause(side, 'trailers');
      else side.trailersOpen = false;
    });
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
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
