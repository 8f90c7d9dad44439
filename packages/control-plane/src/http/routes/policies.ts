import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { statusBody, withStatus } from '../../policy/status';
import { policyNotFound } from '../../policy/writes';
import type { ListBody } from '../../watch/list-body';
import type { WatchOutcome } from '../../watch/watch-hub';
import { parseListQuery } from '../../watch/watch-query';
import { logAccess } from '../access-log';
import { type AppContext, sendJson, sendList } from '../context';
import { errorBody, toHfiError } from '../errors';

type NameParams = { Params: { name: string } };
type ListRequest = FastifyRequest<{ Querystring: Record<string, string | string[] | undefined> }>;

export function registerPolicyRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store, writer } = ctx;

  app.post('/v1/policies', async (request, reply) => {
    const record = await writer.upsert(request.body);
    return sendJson(reply, 201, withStatus(record, Date.now()));
  });

  app.post('/v1/policies/create', async (request, reply) => {
    const record = await writer.create(request.body);
    return sendJson(reply, 201, { message: 'policy created successfully', policy: withStatus(record, Date.now()) });
  });

  app.get('/v1/policies', (request: ListRequest, reply) => listPolicies(ctx, request, reply));

  app.get('/v1/policies/status', async (_request, reply) => {
    const snapshot = await store.list();
    return sendJson(reply, 200, statusBody(snapshot.records, Date.now()));
  });

  app.get<NameParams>('/v1/policies/:name', async (request, reply) => {
    const record = await store.get(request.params.name);
    if (!record) throw policyNotFound(request.params.name);
    return sendJson(reply, 200, withStatus(record, Date.now()));
  });

  app.put<NameParams>('/v1/policies/:name', async (request, reply) => {
    const record = await writer.update(request.params.name, request.body);
    return sendJson(reply, 200, { message: 'policy updated successfully', policy: withStatus(record, Date.now()) });
  });

  app.delete<NameParams>('/v1/policies/:name', async (request, reply) => {
    await writer.delete(request.params.name);
    return sendJson(reply, 200, { message: 'policy deleted successfully' });
  });
}

/**
 * `GET /v1/policies`, plain or as a long-poll watch. A request carrying an identity is also an ack: the instance
 * says it has applied `revision`.
 */
async function listPolicies(ctx: AppContext, request: ListRequest, reply: FastifyReply): Promise<FastifyReply> {
  const query = parseListQuery(request.query, ctx.watchTimeoutMs);
  const identity = query.identity;
  if (identity) {
    try {
      await ctx.store.recordAck({
        node: { ...identity, applied_revision: query.revision ?? 0 },
        seenAtMs: Date.now(),
      });
    } catch (err) {
      // Failing to record an ack must not cut a sidecar off from its policies.
      request.log.warn({ err, instance: identity.instance }, 'could not record ack');
    }
  }
  const current = ctx.store.currentRevision();
  if (query.watch && query.revision === current && query.timeoutMs > 0) {
    holdWatch(ctx, request, reply, query.revision, query.timeoutMs, identity?.instance);
    return reply;
  }
  if (!query.watch && etagMatches(request.headers['if-none-match'], current)) {
    return reply.code(304).header('etag', `"${current}"`).send();
  }
  return sendList(reply, await ctx.bodies.current());
}

/**
 * Parks the request in the watch hub. The answer bypasses fastify's reply pipeline (one shared buffer written
 * straight to the response): with 10,000 watches, per-reply framework work is most of the fan-out time.
 */
function holdWatch(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  revision: number,
  timeoutMs: number,
  instance: string | undefined,
): void {
  request.hfiWatch = true;
  reply.hijack();
  const res = reply.raw;
  if (instance) ctx.connected.add(instance);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (instance) ctx.connected.remove(instance);
  };
  const write = (status: number, body: Buffer | string, headers: Record<string, string>) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': request.id,
      ...headers,
    });
    res.end(body);
    // Hijacked replies skip fastify's onResponse hook; the access-log line is written here instead.
    logAccess(ctx.log, {
      method: request.method,
      url: request.url,
      status,
      latencyMs: reply.elapsedTime,
      requestId: request.id,
      clientIp: request.ip,
      userAgent: request.headers['user-agent'],
    });
  };
  ctx.watches.hold(revision, timeoutMs, {
    answer(body: ListBody, outcome: WatchOutcome) {
      finish();
      if (res.headersSent || res.destroyed) return;
      ctx.metrics.watchAnswered(outcome);
      // On shutdown, tell keep-alive clients to reconnect (to another replica) rather than reuse this socket.
      write(200, body.buffer, {
        etag: `"${body.revision}"`,
        ...(outcome === 'shutdown' ? { connection: 'close' } : {}),
      });
    },
    fail(err: unknown) {
      finish();
      const hfi = toHfiError(err);
      if (hfi.statusCode >= 500) request.log.error({ err, hfi_code: hfi.code }, 'watch failed');
      write(hfi.statusCode, JSON.stringify(errorBody(hfi, request.id)), {});
    },
    onDisconnect(listener: () => void) {
      res.on('close', () => {
        finish();
        listener();
      });
    },
  });
}

function etagMatches(header: string | undefined, revision: number): boolean {
  if (!header) return false;
  const tag = `"${revision}"`;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === tag || t === '*');
}
