// The slice of Envoy's admin interface that tests and the SDK read, over plain node:http:
//   GET /stats/prometheus [?usedonly] [?filter=<regex>]      Prometheus text (what Istio proxies on :15090)
//   GET /stats [?usedonly] [?filter=] [?format=json|prometheus]
//   GET /ready        200 `LIVE\n`, else 503 with the state name (`INITIALIZING\n`, `DRAINING\n`, ...)
//   GET /server_info  ServerInfo JSON
//   GET /config_dump  {"configs":[BootstrapConfigDump, ...extra]} — the bootstrap carries
//                     stats_config.stats_matcher.inclusion_list.patterns, which is what operators jq for.
// Text bodies are `text/plain; charset=UTF-8`, JSON is printed with one-space indentation, as Envoy does.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HfiError } from '@hfi/core';
import { DEFAULT_FLUSH_INTERVAL_MS, type EnvoyStatsStore } from './store';
import type { RenderOptions, StatsStore } from './types';

export const BOOTSTRAP_CONFIG_DUMP_TYPE = 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump';

export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

export interface ServerInfo {
  /** Envoy's build string; shown in /server_info `version`. */
  version?: string;
  nodeId?: string;
  cluster?: string;
  nodeMetadata?: Record<string, unknown>;
  concurrency?: number;
}

export interface AdminServerOptions {
  /** Where to listen; default 127.0.0.1 on an ephemeral port. A number is a port on 127.0.0.1. */
  listen?: number | { host?: string; port?: number };
  stats: StatsStore;
  serverInfo?: ServerInfo;
  /** true/'LIVE' → 200; false → INITIALIZING; a state name → that state. Default: always LIVE. */
  ready?: () => boolean | ServerState;
  /** Extra config dump entries (e.g. the wasm filter's config), appended after the bootstrap. */
  configDump?: () => object | object[];
}

export interface AdminServer extends AsyncDisposable {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';

function isEnvoyStore(stats: StatsStore): stats is EnvoyStatsStore {
  return typeof (stats as Partial<EnvoyStatsStore>).statsConfig === 'function';
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-cache, max-age=0',
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 1)}\n`;
}

/** `?usedonly` / `?filter=` as Envoy's StatsParams reads them; an invalid regex is a 400. */
function renderOptions(query: URLSearchParams): RenderOptions | string {
  const options: RenderOptions = { usedOnly: query.has('usedonly') };
  const filter = query.get('filter');
  if (filter !== null && filter !== '') {
    try {
      options.filter = new RegExp(filter);
    } catch {
      return `Invalid regex: "${filter}"\n`;
    }
  }
  return options;
}

function state(ready: AdminServerOptions['ready']): ServerState {
  const value = ready === undefined ? true : ready();
  if (value === true) return 'LIVE';
  if (value === false) return 'INITIALIZING';
  return value;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { stats } = options;
  const listen = typeof options.listen === 'number' ? { port: options.listen } : (options.listen ?? {});
  const host = listen.host ?? '127.0.0.1';
  const startedAt = Date.now();
  let port = 0;

  const uptime = (): number =>
    isEnvoyStore(stats) ? stats.uptimeSeconds() : Math.floor((Date.now() - startedAt) / 1000);

  const statsConfig = (): Record<string, unknown> => {
    if (isEnvoyStore(stats)) return stats.statsConfig();
    const patterns = stats.inclusionPatterns();
    return { stats_matcher: { inclusion_list: patterns.length > 0 ? { patterns } : {} } };
  };

  const node = () => ({
    id: options.serverInfo?.nodeId ?? 'sidecar~127.0.0.1~hfi-local.default~default.svc.cluster.local',
    cluster: options.serverInfo?.cluster ?? 'hfi-local.default',
    metadata: options.serverInfo?.nodeMetadata ?? {},
    user_agent_name: 'envoy',
  });

  const routes: Record<string, (query: URLSearchParams, res: ServerResponse) => void> = {
    '/stats/prometheus': (query, res) => {
      const opts = renderOptions(query);
      if (typeof opts === 'string') return send(res, 400, TEXT, opts);
      send(res, 200, TEXT, stats.renderPrometheus(opts));
    },
    '/stats': (query, res) => {
      const opts = renderOptions(query);
      if (typeof opts === 'string') return send(res, 400, TEXT, opts);
      const format = query.get('format');
      if (format === null || format === 'text') return send(res, 200, TEXT, stats.renderText(opts));
      if (format === 'prometheus') return send(res, 200, TEXT, stats.renderPrometheus(opts));
      if (format === 'json' && isEnvoyStore(stats)) return send(res, 200, JSON_TYPE, stats.renderJson(opts));
      send(res, 400, TEXT, 'usage: /stats?format=(json|prometheus|text)\n');
    },
    '/ready': (_query, res) => {
      const s = state(options.ready);
      send(res, s === 'LIVE' ? 200 : 503, TEXT, `${s}\n`);
    },
    '/server_info': (_query, res) => {
      const up = `${uptime()}s`;
      send(
        res,
        200,
        JSON_TYPE,
        pretty({
          version: options.serverInfo?.version ?? 'hfi-local-sidecar/0.1.0/Clean/RELEASE/Node',
          state: state(options.ready),
          hot_restart_version: 'disabled',
          command_line_options: {
            concurrency: options.serverInfo?.concurrency ?? 2,
            mode: 'Serve',
            disable_hot_restart: true,
          },
          node: node(),
          uptime_current_epoch: up,
          uptime_all_epochs: up,
        }),
      );
    },
    '/config_dump': (_query, res) => {
      const flushMs = (isEnvoyStore(stats) ? stats.flushIntervalMs : undefined) ?? DEFAULT_FLUSH_INTERVAL_MS;
      const extra = options.configDump?.() ?? [];
      send(
        res,
        200,
        JSON_TYPE,
        pretty({
          configs: [
            {
              '@type': BOOTSTRAP_CONFIG_DUMP_TYPE,
              bootstrap: {
                node: node(),
                stats_config: statsConfig(),
                stats_flush_interval: `${flushMs / 1000}s`,
                admin: { address: { socket_address: { address: host, port_value: port } } },
              },
              last_updated: new Date(startedAt).toISOString(),
            },
            ...(Array.isArray(extra) ? extra : [extra]),
          ],
        }),
      );
    },
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = routes[url.pathname];
    if (route === undefined) {
      return send(res, 404, TEXT, `invalid path. admin commands are: ${Object.keys(routes).sort().join(', ')}\n`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
      return send(res, 405, TEXT, 'Method Not Allowed\n');
    }
    try {
      route(url.searchParams, res);
    } catch (err) {
      send(res, 500, TEXT, `${err instanceof Error ? err.message : String(err)}\n`);
    }
  });

  server.listen(listen.port ?? 0, host);
  try {
    await once(server, 'listening');
  } catch (cause) {
    throw new HfiError('HFI_ERR_CONFIG', `The admin server could not listen on ${host}:${listen.port ?? 0}`, {
      field: 'listen',
      details: { host, port: listen.port ?? 0 },
      cause,
    });
  }
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    });
    return closing;
  };
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close,
    [Symbol.asyncDispose]: close,
  };
}
