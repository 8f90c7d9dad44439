// One downstream request through the plugin and on to the upstream, in Envoy's order: request headers, request
// body, upstream, response headers, response body, then on_log/on_done/on_delete. A pause holds the exchange until
// the plugin continues it; a local reply from the request path goes back through the response callbacks, as
// Envoy's local replies pass the encoder filters. Bodies are buffered whole and given to the plugin in one chunk
// (end_of_stream true), a sequence Envoy also produces when a body arrives in one piece.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { HttpStream, StreamAction } from '../host/http-stream';
import type { HeaderPair } from '../host/pairs';
import { isUpstreamFailure, UpstreamCall } from './upstream-call';

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
  dispatcher: Dispatcher;
  newStream(req: IncomingMessage): HttpStream;
  /** Runs the plugin's due ticks: called before work that does not enter the plugin, such as the upstream dispatch. */
  runDueTicks(): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
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
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const key = req.rawHeaders[i].toLowerCase();
    if (key === 'host' || HOP_BY_HOP.has(key)) continue;
    headers.push([key, req.rawHeaders[i + 1]]);
  }
  // Envoy's connection manager adds these before any filter runs.
  if (!headers.some(([k]) => k === 'x-forwarded-proto')) headers.push(['x-forwarded-proto', 'http']);
  if (!headers.some(([k]) => k === 'x-request-id')) headers.push(['x-request-id', randomUUID()]);
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

export async function runExchange(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const stream = ctx.newStream(req);
  let upstreamCall: UpstreamCall | undefined;
  const downstreamGone = () => upstreamCall?.cancel();
  res.once('close', downstreamGone);

  /** Waits for a paused side; afterwards the stream may have ended (host shutdown) or been answered locally. */
  const settle = async (action: StreamAction) => {
    if (action === 'pause') await stream.whenResumed();
    if (stream.isDone || res.destroyed) throw new Aborted();
  };

  try {
    const bodyFollows = hasBody(req);
    await settle(stream.onRequestHeaders(requestHeaders(req, ctx.upstream), !bodyFollows));
    let response: UpstreamResponse | undefined;
    if (!stream.localResponse && !stream.reset) {
      if (bodyFollows) {
        const body = await readAll(req);
        await settle(stream.onRequestBody(body, true));
      }
    }
    if (stream.reset) throw new Aborted();
    const local = stream.localResponse;
    if (local) {
      response = {
        headers: [[':status', String(local.status)], ...local.headers],
        body: local.body,
        trailers: [],
      };
    } else {
      // The streams one tick resumed dispatch one after the other; a tick falling due meanwhile runs between them.
      ctx.runDueTicks();
      upstreamCall = forward(ctx, stream);
      response = await collect(ctx, upstreamCall);
    }

    await settle(
      stream.onResponseHeaders(response.headers, response.body.length === 0 && response.trailers.length === 0),
    );
    if (response.body.length > 0) {
      await settle(stream.onResponseBody(response.body, response.trailers.length === 0));
    }
    if (response.trailers.length > 0) await settle(stream.onResponseTrailers(response.trailers));
    if (stream.reset) throw new Aborted();

    const responseLocal = stream.localResponse?.phase === 'response' ? stream.localResponse : undefined;
    if (responseLocal) {
      writeResponse(res, [[':status', String(responseLocal.status)], ...responseLocal.headers], responseLocal.body, []);
    } else {
      writeResponse(res, stream.responseHeaders, stream.responseBody, stream.responseTrailers);
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
    stream.done();
  }
}

function forward(ctx: ExchangeContext, stream: HttpStream): UpstreamCall {
  const headers = stream.requestHeaders;
  const pseudo = (name: string) => headers.find(([k]) => k === name)?.[1];
  const outgoing: Record<string, string | string[]> = {};
  for (const [key, value] of headers) {
    if (key.startsWith(':') || key === 'content-length' || HOP_BY_HOP.has(key)) continue;
    const existing = outgoing[key];
    outgoing[key] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  }
  outgoing.host = pseudo(':authority') ?? ctx.upstream.host;
  const body = stream.requestBody;
  const method = pseudo(':method') ?? 'GET';
  if (body.length > 0 || ['POST', 'PUT', 'PATCH'].includes(method)) outgoing['content-length'] = String(body.length);
  const prefix = ctx.upstream.pathname.replace(/\/+$/, '');
  return new UpstreamCall(ctx.dispatcher, {
    origin: ctx.upstream.origin,
    path: `${prefix}${pseudo(':path') ?? '/'}`,
    method: method as Dispatcher.HttpMethod,
    headers: outgoing,
    body: body.length > 0 ? body : undefined,
  });
}

async function collect(ctx: ExchangeContext, call: UpstreamCall): Promise<UpstreamResponse> {
  const outcome = await call.result;
  if (isUpstreamFailure(outcome)) {
    // Broken off after its headers (Envoy then resets the downstream stream too), or cancelled as the downstream left.
    if (outcome.kind !== 'unreachable') throw new Aborted();
    ctx.log('warn', `local sidecar: upstream ${ctx.upstream.origin} unreachable: ${outcome.error.message}`);
    return noHealthyUpstream();
  }
  const responseHeaders: HeaderPair[] = [[':status', String(outcome.statusCode)]];
  for (const [key, value] of Object.entries(outcome.headers)) {
    if (value === undefined || HOP_BY_HOP.has(key)) continue;
    for (const v of Array.isArray(value) ? value : [value]) responseHeaders.push([key, v]);
  }
  responseHeaders.push(['x-envoy-upstream-service-time', String(Date.now() - call.startedAt)]);
  const trailers: HeaderPair[] = [];
  for (const [key, value] of Object.entries(outcome.trailers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) trailers.push([key, v]);
  }
  return { headers: responseHeaders, body: outcome.body, trailers };
}

function writeResponse(res: ServerResponse, headers: HeaderPair[], body: Buffer, trailers: HeaderPair[]): void {
  const status = Number(headers.find(([k]) => k === ':status')?.[1] ?? 200);
  const out: [string, string][] = [];
  for (const [key, value] of headers) {
    if (key.startsWith(':') || key === 'content-length' || HOP_BY_HOP.has(key)) continue;
    out.push([key, value]);
  }
  const head = res.req.method === 'HEAD';
  const bodyless = head || status === 204 || status === 304 || (status >= 100 && status < 200);
  // The length of the (possibly rewritten) body; a HEAD answer keeps the length the upstream declared.
  const declared = headers.find(([k]) => k === 'content-length')?.[1];
  if (!bodyless) out.push(['content-length', String(body.length)]);
  else if (head && declared !== undefined) out.push(['content-length', declared]);
  if (trailers.length > 0) {
    // Trailers need chunked encoding, so no content-length.
    const index = out.findIndex(([k]) => k === 'content-length');
    if (index >= 0) out.splice(index, 1);
    out.push(['trailer', trailers.map(([k]) => k).join(', ')]);
  }
  res.writeHead(status, out.flat());
  if (trailers.length > 0) res.addTrailers(trailers);
  res.end(bodyless ? undefined : body);
}
