import type { FastifyInstance } from 'fastify';
import { logAccess } from '../access-log';
import type { AppContext } from '../context';

/** The reference's SSE endpoint, kept for compatibility; the watch is the way sidecars learn of changes. */
export function registerConfigStreamRoute(app: FastifyInstance, ctx: AppContext): void {
  app.get('/v1/config/stream', async (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'access-control-allow-origin': '*',
      'x-request-id': request.id,
    });
    const started = process.hrtime.bigint();
    res.on('close', () => {
      // Hijacked replies skip fastify's response hooks; log the stream's end here.
      logAccess(ctx.log, {
        method: request.method,
        url: request.url,
        status: 200,
        latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
        requestId: request.id,
        clientIp: request.ip,
        userAgent: request.headers['user-agent'],
      });
    });
    await ctx.streams.add(res);
  });
}
