import type { ServerResponse } from 'node:http';
import type { PolicyStore } from '../store/types';
import type { ListBodyCache } from './list-body';

/** Past this much unsent data a client is too slow and is disconnected (the reference dropped it silently). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * The reference's `GET /v1/config/stream` (server-sent events): the full policy array as `full_config` on connect,
 * again as `update` after every change, and a `: keepalive` comment every 30 s.
 */
export class ConfigStreamHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly unsubscribe: () => void;
  private readonly keepalive: NodeJS.Timeout;
  private sending = false;
  private sendAgain = false;

  constructor(
    store: PolicyStore,
    private readonly bodies: ListBodyCache,
    private readonly onError: (err: unknown) => void,
    keepaliveMs = 30_000,
  ) {
    this.unsubscribe = store.onChange(() => {
      void this.broadcast();
    });
    this.keepalive = setInterval(() => {
      for (const res of this.clients) this.write(res, ': keepalive\n\n');
    }, keepaliveMs);
    this.keepalive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over `res` (headers already written) and sends the current state. */
  async add(res: ServerResponse): Promise<void> {
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    try {
      const body = await this.bodies.current();
      this.write(res, `event: full_config\ndata: ${body.policiesJson}\n\n`);
    } catch (err) {
      this.onError(err);
      this.clients.delete(res);
      res.end();
    }
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.keepalive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private async broadcast(): Promise<void> {
    if (this.sending) {
      this.sendAgain = true;
      return;
    }
    this.sending = true;
    try {
      do {
        this.sendAgain = false;
        if (this.clients.size === 0) break;
        const body = await this.bodies.current();
        const event = `event: update\ndata: ${body.policiesJson}\n\n`;
        for (const res of this.clients) this.write(res, event);
      } while (this.sendAgain);
    } catch (err) {
      this.onError(err);
    } finally {
      this.sending = false;
    }
  }

  private write(res: ServerResponse, chunk: string): void {
    if (res.writableEnded || res.destroyed) {
      this.clients.delete(res);
      return;
    }
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(chunk);
  }
}
