// What happens to a window when its process ends: a child node process (running the built dist/) opens a window
// against a real control plane, then is killed, signalled, or simply runs out of work. The target is a fake
// sidecar (a watch loop in this process).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import { isHfiError } from '@hfi/core';
import { ControlPlaneClient } from '../client/control-plane-client';
import { type FakeSidecar, startFakeSidecar } from './__tests__/fake-sidecar';

jest.setTimeout(60_000);

const SDK_DIST = path.resolve(__dirname, '../../dist/index.js');

// Opens one window, prints a line once it is open, then holds the process open ("hold") or leaves nothing to do
// ("idle").
const CHILD = `
const { HfiClient } = require(process.env.HFI_SDK);
const duration = Number(process.env.DURATION);
const hfi = new HfiClient({ controlPlane: process.env.CP, ackTimeoutMs: 20000 });
const startedAt = Date.now();
hfi
  .openFaultWindow({
    name: process.env.NAME,
    selector: { service: 'frontend', namespace: 'demo' },
    abort: { httpStatus: 503 },
    percentage: 100,
    duration,
  })
  .then((win) => {
    process.stdout.write(JSON.stringify({ name: win.name, revision: win.revision, startedAt }) + '\\n');
    if (process.env.MODE === 'hold') setInterval(() => {}, 1000);
  })
  .catch((err) => {
    process.stderr.write(String(err && err.stack) + '\\n');
    process.exit(3);
  });
`;

interface Opened {
  name: string;
  revision: number;
  startedAt: number;
}

describe('a window whose process ends (child process, fake sidecar)', () => {
  let cp: StartedControlPlane;
  let client: ControlPlaneClient;
  let sidecar: FakeSidecar;
  let dir: string;
  let script: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ logLevel: 'silent' });
    client = new ControlPlaneClient({ url: cp.url });
    sidecar = startFakeSidecar(cp.url, { workload: 'frontend', namespace: 'demo' });
    await sidecar.firstContact;
    dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-window-exit-'));
    script = path.join(dir, 'child.js');
    await writeFile(script, CHILD);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sidecar?.stop();
    await client?.close();
    await cp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function startChild(env: { NAME: string; DURATION: number; MODE: 'hold' | 'idle' }) {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, HFI_SDK: SDK_DIST, CP: cp.url, ...env, DURATION: String(env.DURATION) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const opened = new Promise<Opened>((resolve, reject) => {
      let stdout = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const line = stdout.split('\n')[0];
        if (stdout.includes('\n') && line) resolve(JSON.parse(line) as Opened);
      });
      void exited.then(([code, signal]) =>
        reject(new Error(`child exited (${code ?? signal}) before opening: ${stderr}`)),
      );
    });
    return { child, opened, exited };
  }

  async function gone(name: string): Promise<boolean> {
    try {
      await client.getPolicy(name);
      return false;
    } catch (err) {
      if (isHfiError(err, 'HFI_ERR_POLICY_NOT_FOUND')) return true;
      throw err;
    }
  }

  it('SIGKILL: the policy expires on the server within the window duration + 1 s', async () => {
    const durationMs = 4_000;
    const { child, opened, exited } = startChild({ NAME: 'killed-window', DURATION: durationMs, MODE: 'hold' });
    const info = await opened;
    child.kill('SIGKILL');
    expect((await exited)[1]).toBe('SIGKILL');

    // Nothing in the child ran: the policy is still there, and its own deadline is what removes it.
    const policy = await client.getPolicy('killed-window');
    expect(policy.spec.rules[0]?.fault.duration_seconds).toBe(4);
    const deadline = Date.parse(policy.status.rules[0]?.expires_at ?? '');
    expect(deadline).toBeGreaterThanOrEqual(info.startedAt + durationMs);
    expect(deadline).toBeLessThanOrEqual(info.startedAt + durationMs + 1_000);

    // The expirer removes it within a second of the deadline; the wait here is generous for a busy machine.
    while (!(await gone('killed-window'))) {
      expect(Date.now()).toBeLessThan(deadline + 15_000);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: the window deletes its policy, then the signal ends the process as it would have',
    async (signal) => {
      const name = `signalled-${signal.toLowerCase()}`;
      const { child, opened, exited } = startChild({ NAME: name, DURATION: 600_000, MODE: 'hold' });
      await opened;
      expect(await gone(name)).toBe(false);
      child.kill(signal);
      const [code, exitSignal] = await exited;
      expect({ code, exitSignal }).toEqual({ code: null, exitSignal: signal });
      // Deleted by the handler, not expired: the window had ten minutes to go.
      expect(await gone(name)).toBe(true);
    },
  );

  it('beforeExit: a process that runs out of work deletes its window and exits normally', async () => {
    const { opened, exited } = startChild({ NAME: 'idle-window', DURATION: 600_000, MODE: 'idle' });
    await opened;
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(await gone('idle-window')).toBe(true);
  });
});
