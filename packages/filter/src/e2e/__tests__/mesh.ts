// A local mesh for end-to-end tests: the real control plane (in this process), real sidecars running the real
// plugin.wasm, and a real upstream, all on ephemeral loopback ports. Propagation is awaited through the control
// plane's acks (GET /v1/nodes), never by sleeping.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import type { Policy } from '@hfi/core';
import { ControlPlaneClient } from '@hfi/sdk';
import { Pool } from 'undici';
import { DEFAULT_PLUGIN_PATH } from '../../host/plugin-vm';
import { type StartedSidecar, type StartSidecarOptions, startSidecar } from '../../sidecar/sidecar';

export const WAIT_MS = 20_000;
const POLL_MS = 25;

/** Resolves once `probe` returns a value other than undefined; rejects with `describe()` after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  describe: () => string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A free loopback port (bound, read, released): for a server that must come up later at a known address. */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface Upstream {
  url: string;
  /** Requests it has answered. */
  readonly hits: number;
  close(): Promise<void>;
}

/** The workload behind the sidecars: answers every request with 200 `upstream <method> <path>`. */
export async function startUpstream(): Promise<Upstream> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    const body = `upstream ${req.method} ${req.url}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get hits() {
      return hits;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Milliseconds from sending to the end of the body. */
  ms: number;
}

export interface TestSidecar {
  sidecar: StartedSidecar;
  pod: string;
  workers: number;
  /** Every log line the sidecar wrote (Envoy format). */
  lines: string[];
  send(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** Sends `count` requests, at most `concurrency` at a time. */
  sendMany(count: number, path: string, headers?: Record<string, string>, concurrency?: number): Promise<Reply[]>;
  /** GET on the admin port; returns the body. */
  admin(path: string): Promise<string>;
  /** `/stats/prometheus | grep <pattern>`. */
  grep(pattern: string): Promise<string[]>;
  /** A sample's value from /stats/prometheus, by its full series text (`name{labels}`). */
  sample(series: string): Promise<number | undefined>;
  close(): Promise<void>;
}

let pods = 0;

export interface SidecarOptions extends Partial<StartSidecarOptions> {
  workload: string;
  controlPlane: string;
  upstream: string;
}

/** A sidecar with the real plugin.wasm, on ephemeral ports, its logs kept in memory, a unique pod name. */
export async function startTestSidecar(options: SidecarOptions): Promise<TestSidecar> {
  const lines: string[] = [];
  const pod = options.pod ?? `${options.workload}-e2e-${process.pid}-${++pods}`;
  const workers = options.workers ?? 2;
  const sidecar = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    namespace: 'demo',
    plugin: DEFAULT_PLUGIN_PATH,
    logSink: (line) => lines.push(line),
    ...options,
    pod,
    workers,
  });
  const pool = new Pool(sidecar.url, { connections: 32 });
  const send = async (path: string, headers: Record<string, string> = {}): Promise<Reply> => {
    const started = performance.now();
    const res = await pool.request({ path, method: 'GET', headers });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started };
  };
  const admin = async (path: string): Promise<string> => {
    const res = await fetch(`${sidecar.adminUrl}${path}`);
    return res.text();
  };
  const grep = async (pattern: string) =>
    (await admin('/stats/prometheus')).split('\n').filter((l) => l.includes(pattern));
  return {
    sidecar,
    pod,
    workers,
    lines,
    send,
    sendMany: async (count, path, headers = {}, concurrency = 20) => {
      const replies: Reply[] = [];
      let next = 0;
      const lane = async () => {
        while (next < count) {
          next++;
          replies.push(await send(path, headers));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
      return replies;
    },
    admin,
    grep,
    sample: async (series) => {
      const line = (await admin('/stats/prometheus')).split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
    close: async () => {
      await pool.close();
      await sidecar.close();
    },
  };
}

export interface Mesh {
  controlPlane: StartedControlPlane;
  client: ControlPlaneClient;
  /** POSTs a policy; resolves with the store revision it was written at. */
  apply(policy: Policy): Promise<number>;
  /** Deletes a policy; resolves with the store revision after the delete. */
  remove(name: string): Promise<number>;
  /** Resolves once every worker of every sidecar has acked `revision` (or a later one). */
  acked(sidecars: readonly TestSidecar[], revision: number): Promise<void>;
  close(): Promise<void>;
}

/** The real control plane (memory store) in this process, with an SDK client. */
export async function startMesh(listen = '127.0.0.1:0'): Promise<Mesh> {
  const controlPlane = await startControlPlane({ listen, logLevel: 'silent' });
  const client = new ControlPlaneClient({ url: controlPlane.url, timeoutMs: WAIT_MS });
  return {
    controlPlane,
    client,
    apply: async (policy) => {
      const stored = await client.applyPolicy(policy);
      if (!('status' in stored)) throw new Error('the control plane answered a policy without its status');
      return stored.status.revision;
    },
    remove: async (name) => {
      await client.deletePolicy(name);
      return (await client.nodes()).revision;
    },
    acked: (sidecars, revision) => waitForAcks(client, sidecars, revision),
    close: async () => {
      await client.close();
      await controlPlane.close();
    },
  };
}

/** Polls GET /v1/nodes until every worker (instance) of each sidecar reports `applied_revision >= revision`. */
export async function waitForAcks(
  client: ControlPlaneClient,
  sidecars: readonly TestSidecar[],
  revision: number,
): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const { nodes } = await client.nodes();
      const behind = sidecars.filter((s) => {
        const acked = nodes.filter((n) => n.pod === s.pod && n.applied_revision >= revision);
        return acked.length < s.workers;
      });
      last = JSON.stringify(nodes.map((n) => [n.pod, n.instance, n.applied_revision]));
      return behind.length === 0 ? true : undefined;
    },
    () => `acks of revision ${revision}; nodes: ${last}`,
  );
}

/** A one-rule policy with the BOIFI fields. */
export function policy(
  name: string,
  rule: Policy['spec']['rules'][number],
  selector?: Policy['spec']['selector'],
): Policy {
  return { metadata: { name, version: '' }, spec: { ...(selector ? { selector } : {}), rules: [rule] } };
}

export function countStatus(replies: readonly Reply[], status: number): number {
  return replies.filter((r) => r.status === status).length;
}

const CONTROL_PLANE_DIST = path.resolve(__dirname, '..', '..', '..', '..', 'control-plane', 'dist', 'index.js');

export interface ControlPlaneProcess {
  url: string;
  /** SIGKILL: no graceful answer to held watches, connections just drop. */
  kill(): Promise<void>;
}

/** The built control plane (`npx tsc -b packages/control-plane`) in a child process, so it can be killed for real. */
export async function spawnControlPlane(listen = '127.0.0.1:0'): Promise<ControlPlaneProcess> {
  const code = `require(process.argv[1]).startControlPlane({ listen: process.argv[2], logLevel: 'silent' }).then(
    (cp) => process.stdout.write(cp.url + '\\n'),
    (err) => { console.error(err); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', code, CONTROL_PLANE_DIST, listen], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
    void exited.then(([status]) => reject(new Error(`control plane process exited (${status}): ${stderr}`)));
  });
  return {
    url,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export type FakeMode = 'status-500' | 'garbage-json' | 'slow';

export interface FakeControlPlane {
  url: string;
  port: number;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** A fake control plane that misbehaves: 500s, 200 with a body that is not JSON, or never answering. */
export async function startFakeControlPlane(mode: FakeMode, port = 0): Promise<FakeControlPlane> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    if (mode === 'status-500') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal_server_error"}');
    } else if (mode === 'garbage-json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"revision": 7, "policies": [{"metadata": ');
    }
    // slow: hold the request; close() drops it.
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    get requests() {
      return requests;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
