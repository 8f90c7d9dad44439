// One downstream request through the plugin and on to the upstream, in Envoy's order: request headers, request
// body, upstream, response headers, response body, then on_log/on_done/on_delete. A pause holds the exchange until
// the plugin continues it; a local reply from the request path goes back through the response callbacks, as
// Envoy's local replies pass the encoder filters. Bodies are buffered whole and given to the plugin in one chunk
// (end_of_stream true), a sequence Envoy also produces when a body arrives in one piece.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { HttpStream } from '../host/http-stream';
import type { HeaderPair } from '../host/pairs';
import { appendPairs, type CallAnswer, type CallFailure, isCallFailure, UndiciCall } from '../host/undici-call';

/** Connection-specific headers Envoy's HTTP/1 codec does not pass through. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

export interface ExchangeContext {
  upstream: URL;
  /** The upstream URL's path without its trailing slashes, put before every request's path. */
  upstreamPathPrefix: string;
  dispatcher: Dispatcher;
  newStream(req: IncomingMessage): HttpStream;
  /**
   * Runs the plugin's due ticks: called before work that does not enter the plugin, such as the upstream dispatch
   * and each upstream write. A function property, handed to the upstream call as it is.
   */
  runDueTicks: () => void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Called once per exchange when it has ended, whichever way. */
  ended(): void;
}

interface UpstreamResponse {
  headers: HeaderPair[];
  body: Buffer;
  trailers: HeaderPair[];
}

class Aborted extends Error {}

function requestHeaders(req: IncomingMessage, upstream: URL): HeaderPair[] {
  const headers: HeaderPair[] = [
    [':authority', req.headers.host ?? upstream.host],
    [':path', req.url ?? '/'],
    [':method', req.method ?? 'GET'],
    [':scheme', 'http'],
  ];
  let forwardedProto = false;
  let requestId = false;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i].toLowerCase();
    if (key === 'host' || HOP_BY_HOP.has(key)) continue;
    if (key === 'x-forwarded-proto') forwardedProto = true;
    else if (key === 'x-request-id') requestId = true;
    headers.push([key, raw[i + 1]]);
  }
  // Envoy's connection manager adds these before any filter runs.
  if (!forwardedProto) headers.push(['x-forwarded-proto', 'http']);
  if (!requestId) headers.push(['x-request-id', randomUUID()]);
  return headers;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Envoy's router answers like this when the upstream cannot be reached. */
function noHealthyUpstream(): UpstreamResponse {
  const body = Buffer.from('no healthy upstream');
  return {
    headers: [
      [':status', '503'],
      ['content-length', String(body.length)],
      ['content-type', 'text/plain'],
    ],
    body,
    trailers: [],
  };
}

/** The upstream call in flight for a downstream response (a property rather than a WeakMap entry per request). */
const kUpstreamCall = Symbol('hfi.upstreamCall');
type WithCall = ServerResponse & { [kUpstreamCall]?: UndiciCall };

/** Cancels the upstream call of an exchange whose downstream went away; `this` is the ServerResponse. */
function downstreamGone(this: WithCall): void {
  this[kUpstreamCall]?.cancel();
}

/** Throws Aborted when the stream can no longer go on: ended (host shutdown), or the downstream has gone. */
function checkGoing(stream: HttpStream, res: ServerResponse): void {
  if (stream.isDone || res.destroyed) throw new Aborted();
}

// Each step awaits only when the plugin paused: an await on a value that is already there still costs a promise
// and a turn of the microtask queue per step, on every request.
export async function runExchange(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let stream: HttpStream;
  try {
    stream = ctx.newStream(req);
  } catch (error) {
    // The plugin is closing with the sidecar.
    ctx.log('error', `local sidecar: request failed: ${(error as Error).message}`);
    res.writeHead(503, { 'content-type': 'text/plain' }).end('local sidecar is closing');
    ctx.ended();
    return;
  }
  res.on('close', downstreamGone);
  try {
    const bodyFollows = hasBody(req);
    if (stream.takeRequestHeaders(requestHeaders(req, ctx.upstream), !bodyFollows) === 'pause') {
      await stream.whenResumed();
    }
    checkGoing(stream, res);
    if (bodyFollows && !stream.localResponse && !stream.reset) {
      const body = await readAll(req);
      if (stream.onRequestBody(body, true) === 'pause') await stream.whenResumed();
      checkGoing(stream, res);
    }
    if (stream.reset) throw new Aborted();
    const local = stream.localResponse;
    let response: UpstreamResponse;
    if (local) {
      const headers: HeaderPair[] = [[':status', String(local.status)]];
      for (const pair of local.headers) headers.push([pair[0], pair[1]]);
      response = { headers, body: local.body, trailers: [] };
    } else {
      // The streams one tick resumed dispatch one after the other; a tick falling due meanwhile runs between them.
      ctx.runDueTicks();
      const call = forward(ctx, stream);
      (res as WithCall)[kUpstreamCall] = call;
      response = responseOf(ctx, call, await call.result);
    }

    const { body, trailers } = response;
    if (stream.takeResponseHeaders(response.headers, body.length === 0 && trailers.length === 0) === 'pause') {
      await stream.whenResumed();
    }
    checkGoing(stream, res);
    if (body.length > 0) {
      if (stream.onResponseBody(body, trailers.length === 0) === 'pause') await stream.whenResumed();
      checkGoing(stream, res);
    }
    if (trailers.length > 0) {
      if (stream.onResponseTrailers(trailers) === 'pause') await stream.whenResumed();
      checkGoing(stream, res);
    }
    if (stream.reset) throw new Aborted();

    const responseLocal = stream.localResponse?.phase === 'response' ? stream.localResponse : undefined;
    if (responseLocal) {
      const headers: HeaderPair[] = [[':status', String(responseLocal.status)]];
      for (const pair of responseLocal.headers) headers.push([pair[0], pair[1]]);
      writeResponse(res, headers, responseLocal.body, []);
    } else {
      writeResponse(res, stream.peekResponseHeaders(), stream.responseBody, stream.peekResponseTrailers());
    }
  } catch (error) {
    if (!(error instanceof Aborted)) ctx.log('error', `local sidecar: request failed: ${(error as Error).message}`);
    // Envoy resets the downstream stream; on HTTP/1.1 that closes the connection.
    if (!res.headersSent && !(error instanceof Aborted)) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('local sidecar error');
    } else {
      res.destroy();
    }
  } finally {
    res.off('close', downstreamGone);
    (res as WithCall)[kUpstreamCall] = undefined;
    stream.done();
    ctx.ended();
  }
}

function forward(ctx: ExchangeContext, stream: HttpStream): UndiciCall {
  // Flat name/value list, as undici takes it: repeated names stay repeated, in order.
  const outgoing: string[] = [];
  let authority: string | undefined;
  let path: string | undefined;
  let method: string | undefined;
  for (const [key, value] of stream.peekRequestHeaders()) {
    if (key.charCodeAt(0) === 58 /* ':' */) {
      if (key === ':authority') authority ??= value;
      else if (key === ':path') path ??= value;
      else if (key === ':method') method ??= value;
      continue;
    }
    if (key === 'content-length' || key === 'host' || HOP_BY_HOP.has(key)) continue;
    outgoing.push(key, value);
  }
  outgoing.push('host', authority ?? ctx.upstream.host);
  const body = stream.requestBody;
  method ??= 'GET';
  if (body.length > 0 || method === 'POST' || method === 'PUT' || method === 'PATCH') {
    outgoing.push('content-length', String(body.length));
  }
  return new UndiciCall(
    ctx.dispatcher,
    {
      origin: ctx.upstream.origin,
      path: ctx.upstreamPathPrefix + (path ?? '/'),
      method: method as Dispatcher.HttpMethod,
      headers: outgoing,
      body: body.length > 0 ? body : undefined,
    },
    ctx.runDueTicks,
  );
}

function responseOf(ctx: ExchangeContext, call: UndiciCall, outcome: CallAnswer | CallFailure): UpstreamResponse {
  if (isCallFailure(outcome)) {
    // Broken off after its headers (Envoy then resets the downstream stream too), or cancelled as the downstream left.
    if (outcome.kind !== 'unreachable') throw new Aborted();
    ctx.log('warn', `local sidecar: upstream ${ctx.upstream.origin} unreachable: ${outcome.error.message}`);
    return noHealthyUpstream();
  }
  const headers = appendPairs(outcome.headers, [[':status', String(outcome.statusCode)]], HOP_BY_HOP);
  headers.push(['x-envoy-upstream-service-time', String(Date.now() - call.startedAt)]);
  return { headers, body: outcome.body, trailers: appendPairs(outcome.trailers, []) };
}

function writeResponse(
  res: ServerResponse,
  headers: readonly HeaderPair[],
  body: Buffer,
  trailers: readonly HeaderPair[],
): void {
  let status = 200;
  let statusSeen = false;
  // The upstream's declared length: a HEAD answer keeps it.
  let declared: string | undefined;
  // Flat name/value list, as writeHead takes it.
  const out: string[] = [];
  for (const [key, value] of headers) {
    if (key.charCodeAt(0) === 58 /* ':' */) {
      if (key === ':status' && !statusSeen) {
        status = Number(value);
        statusSeen = true;
      }
      continue;
    }
    if (key === 'content-length') {
      declared ??= value;
      continue;
    }
    if (HOP_BY_HOP.has(key)) continue;
    out.push(key, value);
  }
  const head = res.req.method === 'HEAD';
  const bodyless = head || status === 204 || status === 304 || (status >= 100 && status < 200);
  if (trailers.length > 0) {
    // Trailers need chunked encoding, so no content-length.
    out.push('trailer', trailers.map(([k]) => k).join(', '));
  } else if (!bodyless) {
    // The length of the body as the plugin left it.
    out.push('content-length', String(body.length));
  } else if (head && declared !== undefined) {
    out.push('content-length', declared);
  }
  res.writeHead(status, out);
  if (trailers.length > 0) res.addTrailers(trailers);
  res.end(bodyless ? undefined : body);
}
