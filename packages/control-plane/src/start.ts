import { HfiError, holdTickObjectShape } from '@hfi/core';
import type { Logger } from 'pino';
import { Expirer } from './expiry/expirer';
import { buildApp } from './http/app';
import { ConnectedInstances } from './http/context';
import { checkListenSecurity, parseListenAddress, urlFor } from './listen-address';
import { createLogger, type LogLevel, parseLogLevel } from './logger';
import { createMetrics } from './metrics';
import { nodesBody } from './nodes';
import { PolicyWriter } from './policy/writes';
import { createStore, type StoreSpec } from './store/create-store';
import type { PolicyStore } from './store/types';
import { ConfigStreamHub } from './watch/config-stream';
import { ListBodyCache } from './watch/list-body';
import { WatchHub } from './watch/watch-hub';
import { DEFAULT_WATCH_TIMEOUT_MS, MAX_WATCH_TIMEOUT_MS } from './watch/watch-query';

export interface ControlPlaneOptions {
  /** `host:port`; default `127.0.0.1:0` (an ephemeral loopback port). */
  listen?: string;
  /** A store instance (the control plane starts it and closes it on close()) or a spec; default `memory`. */
  store?: PolicyStore | StoreSpec;
  /** Bearer token every POST/PUT/DELETE must carry. */
  token?: string;
  /** Allow a non-loopback listen address without a token. */
  insecure?: boolean;
  /** Largest `fixed_delay_ms` accepted; default 30000. */
  maxDelayMs?: number;
  /** How long a watch is held when the request names no `timeout_ms`; default 25000. */
  watchTimeoutMs?: number;
  /** A node is stale when not heard from for this long; default 60000. */
  nodeStaleMs?: number;
  /** DEBUG, INFO, WARN, ERROR (any case) or silent; default info. Ignored when `logger` is given. */
  logLevel?: LogLevel | string;
  logger?: Logger;
}

export interface StartedControlPlane extends AsyncDisposable {
  /** `http://host:port`, reachable from this machine. */
  readonly url: string;
  readonly port: number;
  readonly store: PolicyStore;
  /** Stops accepting, answers held watches, stops expiry, closes the store. Idempotent. */
  close(): Promise<void>;
}

/** Starts a control plane and resolves once it listens. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<StartedControlPlane> {
  const listen = parseListenAddress(options.listen ?? '127.0.0.1:0');
  const token = options.token || undefined;
  checkListenSecurity(listen, { ...(token ? { token } : {}), insecure: options.insecure === true });
  const maxDelayMs = positive('maxDelayMs', options.maxDelayMs ?? 30_000);
  const watchTimeoutMs = Math.min(
    positive('watchTimeoutMs', options.watchTimeoutMs ?? DEFAULT_WATCH_TIMEOUT_MS),
    MAX_WATCH_TIMEOUT_MS,
  );
  const nodeStaleMs = positive('nodeStaleMs', options.nodeStaleMs ?? 60_000);
  const log = options.logger ?? createLogger(parseLogLevel(options.logLevel ?? 'info'));
  // Before any load: keeps the server's nextTicks on V8's fast path (see holdTickObjectShape).
  holdTickObjectShape();

  const store =
    typeof options.store === 'object' ? options.store : createStore(options.store ?? 'memory', { logger: log });
  await store.start();
  const cleanups: (() => unknown)[] = [() => store.close()];
  try {
    const bodies = new ListBodyCache(store);
    const connected = new ConnectedInstances();
    const nodeRetainMs = Math.max(nodeStaleMs * 10, 10 * 60_000);
    // The gauges read the hubs below only when /metrics is scraped.
    const metrics = createMetrics({
      store,
      pendingWatches: () => watches.size,
      configStreams: () => streams.size,
      nodes: async () => {
        const { nodes } = await nodesBody(store, { staleMs: nodeStaleMs, retainMs: nodeRetainMs, connected });
        const stale = nodes.filter((n) => n.stale).length;
        return { fresh: nodes.length - stale, stale };
      },
    });
    const onError = (err: unknown) => log.error({ err }, 'watch fan-out failed');
    const watches = new WatchHub(store, bodies, onError, (answered, seconds) => metrics.fanOut(answered, seconds));
    const streams = new ConfigStreamHub(store, bodies, onError);
    cleanups.unshift(
      () => streams.close(),
      () => watches.close(),
    );
    const expirer = new Expirer(store, log, () => metrics.policyExpired());
    cleanups.unshift(() => expirer.stop());
    // Policies that expired while nobody was running go before the first request is served.
    await expirer.start();

    const app = buildApp(
      {
        store,
        writer: new PolicyWriter(store, { maxDelayMs }),
        bodies,
        watches,
        streams,
        connected,
        metrics,
        log,
        watchTimeoutMs,
        nodeStaleMs,
        nodeRetainMs,
      },
      token ? { token } : {},
    );
    cleanups.unshift(() => app.close());
    await app.listen({ host: listen.host, port: listen.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : listen.port;

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        await app.close();
        expirer.stop();
        await store.close();
      })();
      return closing;
    };
    return { url: urlFor(listen.host, port), port, store, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
    throw err;
  }
}

function positive(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new HfiError('HFI_ERR_CONFIG', `${field} must be a positive integer (got ${value})`, { field });
  }
  return value;
}
