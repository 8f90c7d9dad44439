// The local sidecar: what Envoy with the hfi WasmPlugin is for one workload, on one machine. An HTTP/1.1 proxy in
// front of the workload (`listen` → `upstream`) whose streams run through the plugin (N workers, round-robin), the
// Envoy-faithful stats store with periodic flushes, and the admin endpoints. The control plane becomes the
// Istio-style cluster the plugin calls (`outbound|<port>||<host>`).

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HfiError, holdTickObjectShape } from '@hfi/core';
import { Agent } from 'undici';
import type { LogLevelName } from '../host/abi';
import type { StreamInfo } from '../host/http-stream';
import { formatLogRecord, type LogRecord } from '../host/log';
import { istioNode } from '../host/node-identity';
import { PluginPool } from '../host/plugin-pool';
import { DEFAULT_PLUGIN_PATH } from '../host/plugin-vm';
import { type AdminServer, startAdminServer } from '../stats/admin-server';
import { createStatsStore, DEFAULT_FLUSH_INTERVAL_MS, type EnvoyStatsStore } from '../stats/store';
import {
  authorityOf,
  istioOutboundCluster,
  type ListenOption,
  parseHttpUrl,
  parseListenAddress,
  urlOf,
} from './addresses';
import { type ExchangeContext, runExchange } from './exchange';
import { InFlight } from './in-flight';
import { createRequestCounter } from './request-stats';

export interface StartSidecarOptions {
  /** Where the proxy listens: `host:port`, a port, or `{host, port}` (port 0: ephemeral). */
  listen: ListenOption;
  /** The workload's own URL, e.g. `http://127.0.0.1:8080`. */
  upstream: string;
  /** Where the admin endpoints listen (Istio: 15000 for admin, 15090 for Prometheus). */
  admin: ListenOption;
  /** The control plane's URL; the plugin reaches it as cluster `outbound|<port>||<host>`. */
  controlPlane: string;
  workload: string;
  namespace: string;
  /** Default `<workload>-local`. */
  pod?: string;
  labels?: Record<string, string>;
  /** Envoy's --concurrency: one VM per worker. Default 2. */
  workers?: number;
  /** stats_flush_interval. Default 5000. */
  flushIntervalMs?: number;
  /** proxyStatsMatcher.inclusionPrefixes, appended to Istio's list. */
  statsInclusionPrefixes?: string[];
  /** false: only `statsInclusionPrefixes` (Istio's required list dropped). Default true. */
  defaultStatsInclusion?: boolean;
  /** Path of the plugin .wasm. Default: the bundled plugin.wasm. */
  plugin?: string;
  /** Merged over the generated `{control_plane_address, control_plane_cluster}`; a string replaces it. */
  pluginConfig?: string | Record<string, unknown>;
  /** Envoy's log level for plugin logs. Default `info`. */
  logLevel?: LogLevelName;
  /** Receives every log line, Envoy-formatted. Default: process.stderr. */
  logSink?: (line: string) => void;
  /** Envoy's fail_open for the plugin. Default true. */
  failOpen?: boolean;
  /** More clusters the plugin may call (name → base URL). */
  clusters?: Record<string, string>;
  /** How long close() lets in-flight requests finish. Default 1000 ms. */
  drainTimeoutMs?: number;
}

export interface StartedSidecar extends AsyncDisposable {
  /** The proxy: `http://host:port`. */
  readonly url: string;
  /** The admin endpoints: `http://host:port`. */
  readonly adminUrl: string;
  /** The plugin's cluster name for the control plane. */
  readonly controlPlaneCluster: string;
  readonly stats: EnvoyStatsStore;
  /** The plugin VMs, one per worker. */
  readonly plugin: PluginPool;
  close(): Promise<void>;
}

const DEFAULT_WORKERS = 2;

export async function startSidecar(options: StartSidecarOptions): Promise<StartedSidecar> {
  const listen = parseListenAddress(options.listen, 'listen');
  const adminListen = parseListenAddress(options.admin, 'admin');
  const upstream = parseHttpUrl(options.upstream, 'upstream');
  const controlPlane = parseHttpUrl(options.controlPlane, 'controlPlane');
  for (const field of ['workload', 'namespace'] as const) {
    if (typeof options[field] !== 'string' || options[field].trim() === '') {
      throw new HfiError('HFI_ERR_CONFIG', `${field} is required`, { field });
    }
  }
  const workers = options.workers ?? DEFAULT_WORKERS;
  // Before any load: keeps the proxy's many nextTicks on V8's fast path (see holdTickObjectShape).
  holdTickObjectShape();
  const sink = options.logSink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (level: LogRecord['level'], message: string) =>
    sink(formatLogRecord({ level, message, source: 'host', time: new Date(), worker: 0, prefix: '' }));

  const controlPlaneCluster = istioOutboundCluster(controlPlane);
  const generatedConfig = {
    control_plane_address: authorityOf(controlPlane),
    control_plane_cluster: controlPlaneCluster,
  };
  const pluginConfig =
    typeof options.pluginConfig === 'string' ? options.pluginConfig : { ...generatedConfig, ...options.pluginConfig };
  const identity = {
    workload: options.workload,
    namespace: options.namespace,
    pod: options.pod,
    labels: options.labels,
  };
  const node = istioNode(identity);

  const stats = createStatsStore({
    inclusionPrefixes: options.statsInclusionPrefixes,
    defaultInclusion: options.defaultStatsInclusion,
    concurrency: workers,
  });
  let state: 'INITIALIZING' | 'LIVE' | 'DRAINING' = 'INITIALIZING';
  const resources: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    stats.stopFlushing();
    for (const resource of resources.splice(0).reverse()) await resource.close().catch(() => undefined);
  };

  try {
    const plugin = await PluginPool.start({
      wasm: options.plugin ?? DEFAULT_PLUGIN_PATH,
      workers,
      stats,
      node: identity,
      pluginConfig,
      clusters: { ...(options.clusters ?? {}), [controlPlaneCluster]: controlPlane.toString() },
      logLevel: options.logLevel,
      failOpen: options.failOpen,
      logger: (record) => sink(formatLogRecord(record)),
    });
    resources.push(plugin);
    // Envoy's Wasm runtime stats: a base VM on the main thread plus one per worker.
    const vms = BigInt(workers + 1);
    stats.incrementMetric(stats.defineStat('counter', 'wasm.envoy.wasm.runtime.v8.created'), vms);
    stats.recordMetric(stats.defineStat('gauge', 'wasm.envoy.wasm.runtime.v8.active'), vms);
    stats.startFlushing(options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);

    const admin: AdminServer = await startAdminServer({
      listen: adminListen,
      stats,
      serverInfo: {
        nodeId: node.id,
        cluster: node.cluster,
        nodeMetadata: node.metadata,
        concurrency: workers,
      },
      ready: () => state,
      configDump: () => wasmFilterConfigDump(options.plugin ?? DEFAULT_PLUGIN_PATH, pluginConfig, options.failOpen),
    });
    resources.push(admin);

    const dispatcher = new Agent({ keepAliveTimeout: 4000 });
    // destroy, not close: by then every downstream is gone, and a hung upstream must not hold the shutdown.
    resources.push({ close: () => dispatcher.destroy() });
    const inFlight = new InFlight();
    let connectionIds = 0;
    // Connection facts per downstream connection: every stream on it shares one StreamInfo.
    const connections = new WeakMap<Socket, StreamInfo>();
    const countRequest = createRequestCounter(stats, { workload: options.workload, namespace: options.namespace });
    function counted(this: ServerResponse): void {
      countRequest(this.statusCode);
    }
    // One context for every exchange: nothing built per request.
    const exchangeContext: ExchangeContext = {
      upstream,
      upstreamPathPrefix: upstream.pathname.replace(/\/+$/, ''),
      dispatcher,
      log,
      runDueTicks: () => plugin.runDueTicks(),
      newStream: (request: IncomingMessage) => {
        const socket = request.socket;
        let info = connections.get(socket);
        if (info === undefined) {
          info = {
            sourceAddress: socket.remoteAddress,
            sourcePort: socket.remotePort,
            destinationAddress: socket.localAddress,
            destinationPort: socket.localPort,
            connectionId: ++connectionIds,
            protocol: `HTTP/${request.httpVersion}`,
          };
          connections.set(socket, info);
        }
        return plugin.newStream(info);
      },
      ended: () => inFlight.leave(),
    };
    const server: Server = createServer((req, res) => {
      res.on('finish', counted);
      inFlight.enter();
      void runExchange(exchangeContext, req, res);
    });
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    server.listen(listen.port, listen.host);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))]);
    } catch (cause) {
      throw new HfiError(
        'HFI_ERR_SIDECAR_START',
        `The local sidecar could not listen on ${listen.host}:${listen.port}`,
        {
          field: 'listen',
          cause,
          details: { host: listen.host, port: listen.port },
        },
      );
    }
    const url = urlOf({ host: listen.host, port: (server.address() as AddressInfo).port });
    resources.push({
      close: async () => {
        server.close();
        server.closeIdleConnections();
        const drained = inFlight.drained();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise((resolve) => {
          timer = setTimeout(resolve, options.drainTimeoutMs ?? 1000);
        });
        await Promise.race([drained, timeout]);
        clearTimeout(timer);
        server.closeAllConnections();
      },
    });
    state = 'LIVE';
    log(
      'info',
      `local sidecar for ${options.workload}.${options.namespace} listening on ${url} → ${upstream.origin}; admin ${admin.url}; control plane ${controlPlane.origin} as cluster ${controlPlaneCluster}`,
    );

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        state = 'DRAINING';
        await closeAll();
      })();
      return closing;
    };
    return {
      url,
      adminUrl: admin.url,
      controlPlaneCluster,
      stats,
      plugin,
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** What Envoy's /config_dump shows for the HTTP Wasm filter, enough to check which plugin and config are loaded. */
function wasmFilterConfigDump(pluginPath: string, pluginConfig: unknown, failOpen: boolean | undefined): object {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
    config: {
      name: 'hfi',
      root_id: 'hfi',
      vm_config: { runtime: 'envoy.wasm.runtime.v8', code: { local: { filename: pluginPath } } },
      configuration: {
        '@type': 'type.googleapis.com/google.protobuf.StringValue',
        value: typeof pluginConfig === 'string' ? pluginConfig : JSON.stringify(pluginConfig),
      },
      fail_open: failOpen ?? true,
    },
  };
}
