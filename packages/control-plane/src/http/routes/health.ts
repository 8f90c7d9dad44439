import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context';
import { sendJson } from '../context';

const READY_CHECK_TIMEOUT_MS = 3000;

export function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/v1/health', async (_request, reply) => sendJson(reply, 200, { status: 'healthy' }));

  app.get('/v1/ready', async (_request, reply) => {
    const kind = ctx.store.kind;
    const result = await withTimeout(ctx.store.check(), READY_CHECK_TIMEOUT_MS);
    if (result.ok) return sendJson(reply, 200, { status: 'ready', storage: kind });
    return sendJson(reply, 503, { status: 'not_ready', reason: `${kind} connection failed`, error: result.error });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.code(200).header('content-type', ctx.metrics.registry.contentType).send(text);
  });
}

async function withTimeout(
  check: Promise<{ ok: true } | { ok: false; error: string }>,
  ms: number,
): Promise<{ ok: true } | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `store check timed out after ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([
      check.catch((err: unknown) => ({ ok: false as const, error: (err as Error).message ?? String(err) })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
