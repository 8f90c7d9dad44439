// A real single-member etcd on loopback for tests: free ports, a temp data dir, waits until healthy, always cleans up.
// Crash tests use kill() (SIGKILL, data kept) and restart() (same ports and data, so clients reconnect to the same URL).

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HfiError } from '@hfi/core';

export interface StartEtcdOptions {
  /** etcd executable; default `$HFI_ETCD_BIN` or `etcd` on PATH. */
  binary?: string;
  /** How long to wait for `/health` after each (re)start; default 30 s. */
  startTimeoutMs?: number;
}

export interface StartedEtcd extends AsyncDisposable {
  /** Client URL, `http://127.0.0.1:<port>`; stays the same across restart(). */
  readonly endpoint: string;
  readonly dataDir: string;
  /** True while the etcd process is alive. */
  readonly running: boolean;
  /** Terminates etcd and removes its data dir; idempotent. The instance cannot be restarted afterwards. */
  stop(): Promise<void>;
  /** SIGKILLs etcd (a crash); the data dir is kept so restart() resumes with the same data and revisions. */
  kill(): Promise<void>;
  /** Starts etcd again on the same ports and data dir (terminating it first if it is running); waits until healthy. */
  restart(): Promise<void>;
}

const STDERR_TAIL_CHARS = 16 * 1024;
const PORT_ATTEMPTS = 5;

/** Every etcd this process started and has not stopped; killed synchronously if the process exits first. */
const live = new Set<EtcdProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const etcd of live) etcd.killSync();
  });
}

class PortCollisionError extends Error {}

class EtcdProcess implements StartedEtcd {
  readonly endpoint: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderrTail = '';
  private stopped = false;

  constructor(
    private readonly binary: string,
    readonly dataDir: string,
    private readonly clientPort: number,
    private readonly peerPort: number,
    private readonly startTimeoutMs: number,
  ) {
    this.endpoint = `http://127.0.0.1:${clientPort}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Spawns etcd and resolves once `/health` answers; rejects (with etcd's own words) if it exits or times out. */
  async launch(): Promise<void> {
    const peerUrl = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name',
      'hfi-test',
      '--data-dir',
      this.dataDir,
      '--listen-client-urls',
      this.endpoint,
      '--advertise-client-urls',
      this.endpoint,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `hfi-test=${peerUrl}`,
      '--initial-cluster-state',
      'new',
      '--logger',
      'zap',
      '--log-outputs',
      'stderr',
      '--log-level',
      'warn',
    ];
    this.stderrTail = '';
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    live.add(this);
    installExitHook();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });

    let onEarlyExit: (err: Error) => void = () => {};
    const earlyExit = new Promise<never>((_, reject) => {
      onEarlyExit = reject;
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (this.child === child) this.child = undefined;
        onEarlyExit(
          err.code === 'ENOENT'
            ? new HfiError(
                'HFI_ERR_CONFIG',
                `etcd is not installed (no "${this.binary}" on PATH): install Debian's etcd-server, or set HFI_ETCD_BIN`,
                { details: { binary: this.binary }, cause: err },
              )
            : err,
        );
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        onEarlyExit(this.exitError(code, signal));
        resolve();
      });
    });

    // Settled by whichever comes first; the health loop stops then too, or it would poll until its timeout and hold
    // the caller's process open that long after a start that failed.
    const waiting = { over: false };
    try {
      await Promise.race([earlyExit, this.waitHealthy(waiting)]);
    } catch (err) {
      await this.signal('SIGKILL');
      throw err;
    } finally {
      waiting.over = true;
      onEarlyExit = () => {};
    }
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): Error {
    const tail = this.stderrTail.trim();
    if (tail.includes('address already in use')) return new PortCollisionError(tail);
    return new HfiError('HFI_ERR_CONFIG', `etcd exited during start (code ${code}, signal ${signal}): ${tail}`, {
      details: { endpoint: this.endpoint, dataDir: this.dataDir, code, signal },
    });
  }

  private async waitHealthy(waiting: { over: boolean }): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      if (waiting.over || (await this.healthy())) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (waiting.over) return;
    throw new HfiError('HFI_ERR_TIMEOUT', `etcd did not become healthy within ${this.startTimeoutMs} ms`, {
      details: { endpoint: this.endpoint, stderr: this.stderrTail.trim() },
    });
  }

  private healthy(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.get(
        { host: '127.0.0.1', port: this.clientPort, path: '/health', agent: false, timeout: 2000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => {
            try {
              resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: unknown }).health === 'true');
            } catch {
              resolve(false);
            }
          });
          res.on('error', () => resolve(false));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child) child.kill(signal);
    await this.exited;
  }

  /** Graceful stop, with SIGKILL if etcd does not exit in time. */
  private async terminate(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const forceKill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      await this.signal('SIGTERM');
    } finally {
      clearTimeout(forceKill);
    }
  }

  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new HfiError('HFI_ERR_CONFIG', 'this etcd was stopped and cannot be restarted');
    await this.terminate();
    try {
      await this.launch();
    } catch (err) {
      if (err instanceof PortCollisionError) {
        throw new HfiError('HFI_ERR_CONFIG', `etcd could not get its ports back on restart: ${err.message}`, {
          details: { endpoint: this.endpoint },
        });
      }
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.terminate();
    } finally {
      live.delete(this);
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  killSync(): void {
    this.child?.kill('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Two distinct ports that were free a moment ago (etcd may still lose a race for them; startEtcd retries). */
async function freePorts(): Promise<[number, number]> {
  const servers = [net.createServer(), net.createServer()];
  try {
    const ports = await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
          }),
      ),
    );
    return [ports[0] as number, ports[1] as number];
  } finally {
    await Promise.all(
      servers.map(
        (server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      ),
    );
  }
}

/** Starts a single-member etcd on loopback and waits until it is healthy. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<StartedEtcd> {
  const binary = options.binary ?? process.env.HFI_ETCD_BIN ?? 'etcd';
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let lastCollision: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hfi-etcd-'));
    const [clientPort, peerPort] = await freePorts();
    const etcd = new EtcdProcess(binary, dataDir, clientPort, peerPort, startTimeoutMs);
    try {
      await etcd.launch();
      return etcd;
    } catch (err) {
      await etcd.stop();
      if (!(err instanceof PortCollisionError)) throw err;
      lastCollision = err;
    }
  }
  throw new HfiError('HFI_ERR_CONFIG', `etcd could not bind free loopback ports after ${PORT_ATTEMPTS} attempts`, {
    cause: lastCollision,
  });
}
