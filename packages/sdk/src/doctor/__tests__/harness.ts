// Real pieces for the doctor's tests: an upstream workload, a control plane, local sidecars running a real plugin
// (their log captured to a file, as `hfi sidecar 2> sidecar.log` would), and the built `hfi` binary run as a child
// process. Waiting is on events or on the control plane's own state, never on fixed sleeps.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import type { Policy } from '@hfi/core';
import { type StartedSidecar, type StartSidecarOptions, startSidecar } from '@hfi/filter';
import { ControlPlaneClient } from '../../client/control-plane-client';
import type { DiagnosisReport } from '../types';

export const REPO = path.resolve(__dirname, '../../../../..');
const BIN = path.join(REPO, 'packages/sdk/bin/hfi.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built `hfi` with only PATH inherited (no HFI_* variables from the developer's shell). */
export async function hfi(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** `hfi doctor ... --json`, parsed. */
export async function doctorJson(args: string[]): Promise<{ run: Run; report: DiagnosisReport }> {
  const run = await hfi(['doctor', ...args, '--json']);
  let report: DiagnosisReport;
  try {
    report = JSON.parse(run.stdout) as DiagnosisReport;
  } catch {
    throw new Error(`hfi doctor printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { run, report };
}

export function check(report: DiagnosisReport, id: string) {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
}

export interface Env {
  dir: string;
  upstream: string;
  cp: StartedControlPlane;
  client: ControlPlaneClient;
  sidecars: StartedSidecar[];
  close(): Promise<void>;
}

export async function startEnv(): Promise<Env> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-doctor-'));
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const cp = await startControlPlane({ logLevel: 'silent' });
  const client = new ControlPlaneClient({ url: cp.url });
  const sidecars: StartedSidecar[] = [];
  return {
    dir,
    upstream: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cp,
    client,
    sidecars,
    async close() {
      for (const s of sidecars.splice(0)) await s.close();
      await client.close();
      await cp.close();
      server.closeAllConnections();
      server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface LocalSidecar {
  sidecar: StartedSidecar;
  logFile: string;
  pod: string;
}

/** A local sidecar for workload `frontend` in `demo` (the seed's), its log appended to a file line by line. */
export async function addSidecar(
  env: Env,
  options: Partial<StartSidecarOptions> & { pod?: string } = {},
): Promise<LocalSidecar> {
  const pod = options.pod ?? `frontend-${env.sidecars.length}`;
  const logFile = path.join(env.dir, `${pod}.log`);
  writeFileSync(logFile, '');
  const sidecar = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: env.upstream,
    controlPlane: env.cp.url,
    workload: 'frontend',
    namespace: 'demo',
    labels: { app: 'frontend' },
    flushIntervalMs: 100,
    ...options,
    pod,
    logSink: (line) => appendFileSync(logFile, `${line}\n`),
  });
  env.sidecars.push(sidecar);
  return { sidecar, logFile, pod };
}

export const abortPolicy = (name: string, selector: Policy['spec']['selector'], prefix = '/api'): Policy => ({
  metadata: { name },
  spec: {
    selector,
    rules: [{ match: { path: { prefix } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }],
  },
});

/** Until every worker VM of `pod` reports the control plane's current revision. */
export async function waitForApplied(env: Env, pod: string, workers = 2): Promise<void> {
  for (;;) {
    const { nodes, revision } = await env.client.nodes();
    const mine = nodes.filter((n) => n.pod === pod && !n.stale);
    if (mine.length >= workers && mine.every((n) => n.applied_revision >= revision)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends `n` GETs through the sidecar and returns their statuses. */
export async function send(sidecar: StartedSidecar, pathname: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sidecar.url}${pathname}`);
    await res.text();
    statuses.push(res.status);
  }
  return statuses;
}

export async function statsPage(sidecar: StartedSidecar, page = '/stats/prometheus'): Promise<string> {
  const res = await fetch(`${sidecar.adminUrl}${page}`);
  return res.text();
}
