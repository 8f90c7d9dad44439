import type { FastifyInstance } from 'fastify';
import { nodesBody } from '../../nodes';
import { type AppContext, sendJson } from '../context';

export function registerNodeRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/v1/nodes', async (_request, reply) => {
    const body = await nodesBody(ctx.store, {
      staleMs: ctx.nodeStaleMs,
      retainMs: ctx.nodeRetainMs,
      connected: ctx.connected,
    });
    return sendJson(reply, 200, body);
  });
}
