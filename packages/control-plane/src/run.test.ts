// The control plane as a process: the bin (built dist) started like a container would, stopped with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { examplePolicy, request } from './__tests__/http';

const BIN = resolve(__dirname, '../bin/hfi-control-plane.js');
const DIST = resolve(__dirname, '../dist/cli.js');

let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  expect(existsSync(DIST)).toBe(true); // build first: npx tsc -b packages/control-plane
  dir = await mkdtemp(join(tmpdir(), 'hfi-run-'));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

interface Spawned {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function spawnBin(args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ raw: line });
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  return { child, logs, exit, stderr: () => stderr };
}

async function untilLog(s: Spawned, message: string): Promise<Record<string, unknown>> {
  for (;;) {
    const found = s.logs.find((l) => l.message === message);
    if (found) return found;
    if (s.child.exitCode !== null) throw new Error(`exited before "${message}": ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGTERM: pending watches are answered, the store is closed, the process exits 0', async () => {
  const path = join(dir, 'policies.json');
  const proc = spawnBin(['--listen', '127.0.0.1:0', '--store', `file:${path}`], { LOG_LEVEL: 'INFO' });
  const started = await untilLog(proc, 'control plane started');
  const url = started.url as string;
  expect(started).toMatchObject({ storage: 'file', level: 'info' });
  expect((await request('POST', `${url}/v1/policies`, { body: examplePolicy('persisted') })).status).toBe(201);

  const watch = request('GET', `${url}/v1/policies?watch=true&revision=1&timeout_ms=300000`);
  for (;;) {
    if (/^hfi_control_plane_pending_watches 1$/m.test((await request('GET', `${url}/metrics`)).text)) break;
  }
  proc.child.kill('SIGTERM');
  const answer = await watch;
  expect(answer).toMatchObject({ status: 200, json: { revision: 1, policies: [{ metadata: { name: 'persisted' } }] } });
  expect(await proc.exit).toEqual({ code: 0, signal: null });
  expect(proc.logs.map((l) => l.message)).toEqual(
    expect.arrayContaining(['control plane shutting down', 'control plane stopped']),
  );
  await expect(request('GET', `${url}/v1/health`)).rejects.toThrow(/ECONNREFUSED/);
  const file = JSON.parse(await readFile(path, 'utf8'));
  expect(file).toMatchObject({ revision: 1, policies: [{ policy: { metadata: { name: 'persisted' } } }] });
}, 30_000);

test('configuration errors end the process with code 1 and a one-line message', async () => {
  const insecure = spawnBin(['--listen', '0.0.0.0:0']);
  expect(await insecure.exit).toEqual({ code: 1, signal: null });
  expect(insecure.stderr()).toMatch(/^hfi-control-plane: Refusing to listen .*\(HFI_ERR_INSECURE_LISTEN\)\n$/);

  const storage = spawnBin([], { STORAGE_BACKEND: 'redis' });
  expect(await storage.exit).toEqual({ code: 1, signal: null });
  expect(storage.stderr()).toBe(
    'hfi-control-plane: unsupported storage type: redis (supported: memory, file, etcd) (HFI_ERR_CONFIG)\n',
  );
}, 30_000);
