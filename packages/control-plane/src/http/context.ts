import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { ControlPlaneMetrics } from '../metrics';
import type { PolicyWriter } from '../policy/writes';
import type { PolicyStore } from '../store/types';
import type { ConfigStreamHub } from '../watch/config-stream';
import type { ListBody, ListBodyCache } from '../watch/list-body';
import type { WatchHub } from '../watch/watch-hub';

/** Instances holding a watch on this process right now (for /v1/nodes: they are in contact). */
export class ConnectedInstances {
  private readonly counts = new Map<string, number>();

  add(instance: string): void {
    this.counts.set(instance, (this.counts.get(instance) ?? 0) + 1);
  }

  remove(instance: string): void {
    const n = (this.counts.get(instance) ?? 0) - 1;
    if (n > 0) this.counts.set(instance, n);
    else this.counts.delete(instance);
  }

  has(instance: string): boolean {
    return this.counts.has(instance);
  }
}

/** Everything the routes share. */
export interface AppContext {
  store: PolicyStore;
  writer: PolicyWriter;
  bodies: ListBodyCache;
  watches: WatchHub;
  streams: ConfigStreamHub;
  connected: ConnectedInstances;
  metrics: ControlPlaneMetrics;
  log: Logger;
  watchTimeoutMs: number;
  nodeStaleMs: number;
  nodeRetainMs: number;
}

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

export function sendList(reply: FastifyReply, body: ListBody): FastifyReply {
  return reply
    .code(200)
    .header('content-type', 'application/json; charset=utf-8')
    .header('etag', `"${body.revision}"`)
    .send(body.buffer);
}
