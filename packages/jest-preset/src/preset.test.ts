// End to end through Jest itself: a project of its own (in a temp dir) with `preset` pointing at this package, an
// hfi.config.json naming one service in front of a small upstream this test starts, and test files that use
// `hfi`, `service` and the matchers. Each project is run by spawning `npx jest`, as a user would. Needs the built
// packages (dist/) and the compiled plugin.wasm.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const PACKAGE = path.resolve(__dirname, '..');
const REPO = path.resolve(PACKAGE, '../..');

let upstream: Server;
let upstreamUrl: string;
const dirs: string[] = [];

beforeAll(async () => {
  const needed = [
    path.join(PACKAGE, 'dist', 'preset.js'),
    path.join(REPO, 'packages', 'sdk', 'dist', 'index.js'),
    path.join(REPO, 'packages', 'filter', 'dist', 'index.js'),
    path.join(REPO, 'packages', 'control-plane', 'dist', 'index.js'),
    path.join(REPO, 'packages', 'filter', 'plugin.wasm'),
  ];
  const missing = needed.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`build first (npm run build); missing: ${missing.join(', ')}`);
  upstream = createServer((req, res) => res.end(`upstream saw ${req.url}`));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  upstream?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * A Jest project using the preset, as a new user would write it; `tests` maps file names to their source. The preset
 * is named by its absolute path (Jest 30 takes an absolute preset path as the file itself), or by package name,
 * found through node_modules as after an install.
 */
async function project(tests: Record<string, string>, preset = path.join(PACKAGE, 'jest-preset.js')): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-preset-e2e-'));
  dirs.push(dir);
  await writeFile(
    path.join(dir, 'hfi.config.json'),
    JSON.stringify({ mode: 'local', services: [{ name: 'frontend', namespace: 'demo', upstream: upstreamUrl }] }),
  );
  // As `npm install @hfi/jest-preset` would make it resolvable from the tests.
  await mkdir(path.join(dir, 'node_modules', '@hfi'), { recursive: true });
  await symlink(PACKAGE, path.join(dir, 'node_modules', '@hfi', 'jest-preset'), 'dir');
  await writeFile(
    path.join(dir, 'jest.config.js'),
    `module.exports = ${JSON.stringify({ rootDir: dir, preset, transform: {}, testMatch: ['<rootDir>/*.test.js'] })};\n`,
  );
  for (const [name, source] of Object.entries(tests)) await writeFile(path.join(dir, name), source);
  return dir;
}

async function runJest(dir: string): Promise<{ code: number | null; output: string }> {
  const env: Record<string, string | undefined> = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', CI: '1' };
  for (const name of Object.keys(env)) if (name.startsWith('HFI_') || name.startsWith('JEST_')) delete env[name];
  const child = spawn('npx', ['--no-install', 'jest', '--config', path.join(dir, 'jest.config.js')], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output: stripVTControlCharacters(output) };
}

const OPEN_ABORT_WINDOW = `
const { hfi, service } = require('@hfi/jest-preset');

async function openAbortWindow() {
  return hfi.openFaultWindow({
    selector: service('frontend').selector,
    abort: { httpStatus: 503 },
    percentage: 100,
    duration: '30s',
  });
}

async function send(times) {
  const statuses = [];
  for (let i = 0; i < times; i++) {
    const res = await fetch(service('frontend').url + '/');
    await res.text();
    statuses.push(res.status);
  }
  return statuses;
}
`;

it('runs a test that opens an abort window and asserts toHaveInjectedAborts', async () => {
  const dir = await project(
    {
      'aborts.test.js': `${OPEN_ABORT_WINDOW}
test('the frontend answers 503 while the window is open', async () => {
  const win = await openAbortWindow();
  expect(await send(3)).toEqual([503, 503, 503]);
  await expect(win).toHaveInjectedAborts(3);
  await expect(win).toBeAppliedOnAllTargets();
});

test('the window of the previous test was closed after it', async () => {
  const res = await fetch(service('frontend').url + '/after');
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('upstream saw /after');
  expect(hfi.windows).toHaveLength(0);
});
`,
    },
    '@hfi/jest-preset',
  );
  const { code, output } = await runJest(dir);
  expect(output).toContain('Tests:       2 passed, 2 total');
  expect(code).toBe(0);
}, 180_000);

it('fails a wrong assertion with the per-pod table, and still closes the window', async () => {
  const dir = await project({
    'wrong-count.test.js': `${OPEN_ABORT_WINDOW}
test('expects more aborts than were injected', async () => {
  const win = await openAbortWindow();
  await send(3);
  await expect(win).toHaveInjectedAborts(5);
});
`,
  });
  const { code, output } = await runJest(dir);
  expect(code).toBe(1);
  expect(output).toContain('Tests:       1 failed, 1 total');
  expect(output).toContain('expect(received).toHaveInjectedAborts(expected)');
  expect(output).toContain('Expected aborts: 5');
  expect(output).toContain('Received aborts: 3');
  expect(output).toContain('Received per pod:');
  expect(output).toMatch(/pod\s+aborts\s+delays\s+histogram count\s+histogram sum \(ms\)\s+flags/);
  expect(output).toMatch(/frontend-local\s+3\s+0\s+0\s+0/);
  // afterEach closed the window: the teardown found nothing left open.
  expect(output).not.toContain('left open');
}, 180_000);

it('fails the run in global teardown when a policy is left on the control plane', async () => {
  const dir = await project({
    'leftover.test.js': `${OPEN_ABORT_WINDOW}
test('applies a policy and forgets it', async () => {
  await hfi.applyPolicy({
    metadata: { name: 'forgotten' },
    spec: {
      selector: service('frontend').selector,
      rules: [{ match: { path: { prefix: '/never' } }, fault: { percentage: 100, abort: { httpStatus: 500 } } }],
    },
  });
});
`,
  });
  const { code, output } = await runJest(dir);
  expect(output).toContain('Tests:       1 passed, 1 total');
  expect(code).not.toBe(0);
  expect(output).toContain('1 fault policy was left open on the control plane when the test run ended');
  expect(output).toContain('- forgotten on frontend.demo');
  const logDir = /Sidecar and control-plane logs: (\S+)/.exec(output)?.[1];
  if (logDir) dirs.push(logDir);
}, 180_000);
