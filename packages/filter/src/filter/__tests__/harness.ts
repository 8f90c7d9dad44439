// Test harness for the compiled plugin.wasm: a canned control plane (a tiny node:http server that answers the
// filter's watch with JSON the test sets), VM start-up through the proxy-wasm host, and metric readers.

import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Policy, PolicyWithStatus, RuleStatus } from '@hfi/core';
import { loadPluginModule, PluginVm, type PluginVmOptions, type StreamAction, type WasmModule } from '../../host';
import type { LogRecord } from '../../host/log';
import type { NodeIdentity } from '../../host/node-identity';
import { createStatsStore, type EnvoyStatsStore } from '../../stats/store';

/** The build output; HFI_TEST_PLUGIN_WASM points the tests at another build (e.g. one without the runtime patch). */
export const PLUGIN_PATH = process.env.HFI_TEST_PLUGIN_WASM ?? path.resolve(__dirname, '..', '..', '..', 'plugin.wasm');

let pluginModule: Promise<WasmModule> | undefined;

/** The compiled plugin, compiled once per test file. */
export function pluginWasm(): Promise<WasmModule> {
  pluginModule ??= loadPluginModule(PLUGIN_PATH);
  return pluginModule;
}

export interface WatchRequest {
  url: URL;
  headers: http.IncomingHttpHeaders;
  revision: number;
  watch: boolean;
}

/** ok; error: 503; garbage: 200 with an unparsable body; reset: connection closed before any response;
 *  truncate: connection closed in the middle of the body. */
type Mode = 'ok' | 'error' | 'garbage' | 'reset' | 'truncate' | 'raw';

/** Adds the status block the control plane attaches to every policy (all rules active, no deadline). */
export function withStatus(policy: Policy, rules?: RuleStatus[], revision = 1): PolicyWithStatus {
  return {
    ...policy,
    status: {
      revision,
      updated_at: new Date().toISOString(),
      rules: rules ?? policy.spec.rules.map(() => ({ active: true })),
    },
  };
}

/**
 * A canned control plane: answers `GET /v1/policies` with `{revision, policies}`. A watch whose revision is current
 * is held until the policies change or its timeout_ms passes, as the real one does. `mode` makes it fail.
 */
export class CannedControlPlane {
  revision = 0;
  policies: unknown[] = [];
  mode: Mode = 'ok';
  /** Body sent in 'garbage' mode. */
  garbage = '{"revision": 7, "policies": [';
  /** Status and body sent in 'raw' mode (bytes, so that they need not be valid UTF-8). */
  raw: { status: number; body: Buffer } = { status: 200, body: Buffer.alloc(0) };
  readonly requests: WatchRequest[] = [];
  private readonly events = new EventEmitter();
  private readonly held = new Set<() => void>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  baseUrl = '';

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Publishes a new revision; held watches answer at once. */
  publish(policies: unknown[]): number {
    this.policies = policies;
    this.revision++;
    for (const release of [...this.held]) release();
    return this.revision;
  }

  /** Resolves with the first request (already received or future) that satisfies `predicate`. */
  waitForRequest(predicate: (r: WatchRequest) => boolean, timeoutMs = 20000): Promise<WatchRequest> {
    const seen = this.requests.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onRequest = (r: WatchRequest) => {
        if (!predicate(r)) return;
        clearTimeout(timer);
        this.events.off('request', onRequest);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.events.off('request', onRequest);
        reject(new Error(`no matching control-plane request within ${timeoutMs} ms (${this.requests.length} seen)`));
      }, timeoutMs);
      this.events.on('request', onRequest);
    });
  }

  /** Resolves when the filter acknowledges `revision` (its next watch carries it). */
  acked(revision = this.revision, timeoutMs = 20000): Promise<WatchRequest> {
    return this.waitForRequest((r) => r.revision >= revision, timeoutMs);
  }

  async close(): Promise<void> {
    for (const release of [...this.held]) release();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const request: WatchRequest = {
      url,
      headers: req.headers,
      revision: Number(url.searchParams.get('revision') ?? '0'),
      watch: url.searchParams.get('watch') === 'true',
    };
    this.requests.push(request);
    this.events.emit('request', request);
    if (url.pathname !== '/v1/policies') {
      res.writeHead(404).end();
      return;
    }
    const answer = () => {
      if (this.mode === 'reset') {
        req.socket.destroy();
        return;
      }
      if (this.mode === 'truncate') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"revision": 9, "poli', () => req.socket.destroy());
        return;
      }
      if (this.mode === 'raw') {
        res.writeHead(this.raw.status, { 'content-type': 'application/json' }).end(this.raw.body);
        return;
      }
      if (this.mode === 'error') {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"store_unavailable"}');
        return;
      }
      const body =
        this.mode === 'garbage' ? this.garbage : JSON.stringify({ revision: this.revision, policies: this.policies });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    };
    const holdMs = Number(url.searchParams.get('timeout_ms') ?? '0');
    if (this.mode !== 'ok' || !request.watch || request.revision < this.revision || holdMs <= 0) {
      answer();
      return;
    }
    const release = () => {
      clearTimeout(timer);
      this.held.delete(release);
      answer();
    };
    const timer = setTimeout(release, holdMs);
    this.held.add(release);
    req.on('close', () => {
      clearTimeout(timer);
      this.held.delete(release);
    });
  }
}

export const DEFAULT_ADDRESS = 'hfi-control-plane.boifi.svc.cluster.local:8080';
export const DEFAULT_CLUSTER = 'outbound|8080||hfi-control-plane.boifi.svc.cluster.local';

export const FRONTEND: NodeIdentity = {
  workload: 'frontend-v1',
  namespace: 'demo',
  pod: 'frontend-v1-7d9f-abcde',
  labels: { app: 'frontend' },
};

export interface StartOptions extends Partial<Omit<PluginVmOptions, 'stats'>> {
  controlPlane?: CannedControlPlane;
  stats?: EnvoyStatsStore;
}

export interface TestVm {
  vm: PluginVm;
  stats: EnvoyStatsStore;
  /** Resolves with the first log record (past or future) whose message satisfies `predicate`. */
  waitForLog(predicate: (message: string) => boolean, timeoutMs?: number): Promise<LogRecord>;
  close(): Promise<void>;
}

/** Starts the compiled plugin in the host, its control-plane cluster pointing at `controlPlane`. */
export async function startVm(options: StartOptions = {}): Promise<TestVm> {
  const { controlPlane, stats: given, ...rest } = options;
  const stats = given ?? createStatsStore();
  const events = new EventEmitter();
  const vm = await PluginVm.start({
    wasm: await pluginWasm(),
    node: FRONTEND,
    clusters: controlPlane ? { [DEFAULT_CLUSTER]: controlPlane.baseUrl } : {},
    logLevel: 'debug',
    ...rest,
    stats,
    logger: (record) => events.emit('log', record),
  });
  const waitForLog = (predicate: (message: string) => boolean, timeoutMs = 20000): Promise<LogRecord> => {
    const seen = vm.logs.find((r) => predicate(r.message));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onLog = (r: LogRecord) => {
        if (!predicate(r.message)) return;
        clearTimeout(timer);
        events.off('log', onLog);
        resolve(r);
      };
      const timer = setTimeout(() => {
        events.off('log', onLog);
        reject(
          new Error(
            `no matching log within ${timeoutMs} ms; last: ${vm.logs
              .slice(-5)
              .map((r) => r.message)
              .join(' | ')}`,
          ),
        );
      }, timeoutMs);
      events.on('log', onLog);
    });
  };
  return { vm, stats, waitForLog, close: () => vm.close() };
}

const METRIC_SUFFIX = {
  aborts: 'hfi_faults_aborts_total',
  delays: 'hfi_faults_delays_total',
  histogram: 'hfi_faults_delay_duration_milliseconds',
} as const;

/** Counter value by the plugin's metric name; undefined when the plugin never defined it. */
export function counter(stats: EnvoyStatsStore, which: 'aborts' | 'delays'): number | undefined {
  const info = stats.metrics().find((m) => m.name.endsWith(METRIC_SUFFIX[which]));
  return info === undefined ? undefined : Number(stats.getMetric(info.id));
}

/** `_count` and `_sum` of the delay histogram after a flush, from /stats/prometheus. Envoy computes `_sum` from its
 *  log-linear bins, so a recorded 200 shows as a value in [200, 210). */
export function delayHistogram(stats: EnvoyStatsStore): { count: number; sum: number } {
  stats.flush();
  const text = stats.renderPrometheus();
  const read = (suffix: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`wasmcustom_${METRIC_SUFFIX.histogram}_${suffix}`));
    return line === undefined ? Number.NaN : Number(line.split(' ').pop());
  };
  return { count: read('count'), sum: read('sum') };
}

export const GET = (p: string, extra: [string, string][] = []): [string, string][] => [
  [':method', 'GET'],
  [':path', p],
  [':authority', 'frontend.demo'],
  [':scheme', 'http'],
  ...extra,
];

/** A one-rule policy. */
export function policy(
  name: string,
  rule: Policy['spec']['rules'][number],
  selector?: Policy['spec']['selector'],
): Policy {
  return { metadata: { name, version: '' }, spec: { ...(selector ? { selector } : {}), rules: [rule] } };
}

/** A small seeded PRNG (mulberry32), so that a randomized test can be replayed from its seed. */
export class Random {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Sends one request through a new stream: what on_request_headers decided, and the local response's policy header
 *  and status when one answered it. */
export function answerTo(
  vm: PluginVm,
  headers: [string, string][],
): { action: StreamAction; answer: { policy: string; status: number } | null } {
  const stream = vm.newStream();
  const action = stream.onRequestHeaders(headers, true);
  const local = stream.localResponse;
  stream.done();
  if (local === undefined) return { action, answer: null };
  return {
    action,
    answer: { policy: local.headers.find(([k]) => k === 'x-hfi-policy')?.[1] ?? '?', status: local.status },
  };
}
