import type { Socket } from 'node:net';
import { HfiError } from '@hfi/core';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { logAccess } from './access-log';
import { createTokenCheck } from './auth';
import { registerBodyParsers } from './body-parsers';
import type { AppContext } from './context';
import { errorBody, toHfiError } from './errors';
import { newRequestId, requestIdFor } from './request-id';
import { registerConfigStreamRoute } from './routes/config-stream';
import { registerHealthRoutes } from './routes/health';
import { registerNodeRoutes } from './routes/nodes';
import { registerPluginRoute } from './routes/plugin';
import { registerPolicyRoutes } from './routes/policies';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on a held long-poll watch: its duration is not a request latency. */
    hfiWatch: boolean;
  }
}

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppOptions {
  token?: string;
}

/** The Fastify app: middleware in the reference's order (request id, access log, errors), then the routes. */
export function buildApp(ctx: AppContext, options: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.log,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestIdFor,
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    clientErrorHandler: answerMalformedRequest,
  }) as unknown as FastifyInstance;

  app.decorateRequest('hfiWatch', false);
  registerBodyParsers(app);

  const checkToken = options.token ? createTokenCheck(options.token) : undefined;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    checkToken?.(request.method, request.headers.authorization);
  });

  app.addHook('onResponse', async (request, reply) => {
    logAccess(ctx.log, {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      latencyMs: reply.elapsedTime,
      requestId: request.id,
      clientIp: request.ip,
      userAgent: request.headers['user-agent'],
    });
    if (!request.hfiWatch) {
      ctx.metrics.observeRequest(
        request.method,
        request.routeOptions.url ?? 'unmatched',
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const hfi = toHfiError(err);
    if (hfi.statusCode >= 500) request.log.error({ err, hfi_code: hfi.code }, 'request failed');
    if (hfi.code === 'HFI_ERR_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer');
    return reply
      .code(hfi.statusCode)
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify(errorBody(hfi, request.id)));
  });

  app.setNotFoundHandler((request) => {
    throw new HfiError('HFI_ERR_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`, {
      details: { method: request.method, path: request.url.split('?')[0] },
    });
  });

  registerHealthRoutes(app, ctx);
  registerPolicyRoutes(app, ctx);
  registerNodeRoutes(app, ctx);
  registerConfigStreamRoute(app, ctx);
  registerPluginRoute(app);

  // Before the server stops accepting: answer held watches and end event streams, or close() would wait for them.
  app.addHook('preClose', async () => {
    ctx.streams.close();
    await ctx.watches.close();
  });
  return app;
}

/** Requests Node's HTTP parser rejects never reach fastify; answer them in the common error format too. */
function answerMalformedRequest(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const hfi = new HfiError(
    'HFI_ERR_BAD_REQUEST',
    tooLarge ? 'request headers are too large' : `malformed HTTP request (${err.code ?? err.message})`,
    {
      statusCode: tooLarge ? 431 : 400,
    },
  );
  const body = JSON.stringify(errorBody(hfi, newRequestId()));
  socket.end(
    `HTTP/1.1 ${hfi.statusCode} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}
