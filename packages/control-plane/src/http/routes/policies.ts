import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { statusBody, withStatus } from '../../policy/status';
import { policyNotFound } from '../../policy/writes';
import type { ListBody } from '../../watch/list-body';
import type { WatchOutcome } from '../../watch/watch-hub';
import { parseListQuery } from '../../watch/watch-query';
import { type AppContext, sendJson, sendList } from '../context';

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
    request.hfiWatch = true;
    if (identity) ctx.connected.add(identity.instance);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (identity) ctx.connected.remove(identity.instance);
    };
    ctx.watches.hold(query.revision, query.timeoutMs, {
      answer(body: ListBody, outcome: WatchOutcome) {
        finish();
        if (reply.sent || reply.raw.destroyed) return;
        ctx.metrics.watchAnswered(outcome);
        // On shutdown, tell keep-alive clients to reconnect (to another replica) rather than reuse this socket.
        if (outcome === 'shutdown') reply.header('connection', 'close');
        sendList(reply, body);
      },
      fail(err: unknown) {
        finish();
        if (!reply.sent && !reply.raw.destroyed) reply.send(err);
      },
      onDisconnect(listener: () => void) {
        reply.raw.on('close', () => {
          finish();
          listener();
        });
      },
    });
    return reply;
  }
  if (!query.watch && etagMatches(request.headers['if-none-match'], current)) {
    return reply.code(304).header('etag', `"${current}"`).send();
  }
  return sendList(reply, await ctx.bodies.current());
}

function etagMatches(header: string | undefined, revision: number): boolean {
  if (!header) return false;
  const tag = `"${revision}"`;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === tag || t === '*');
}
