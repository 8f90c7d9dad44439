// `npm run demo` as a user runs it: scripts/demo.js in its own process, on a local mesh with the real plugin.wasm
// (from the built packages: `npm test` builds first). The short profile keeps each fault window at 2 s.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startLocalShopMesh } from './local-mesh';

jest.setTimeout(180_000);

const root = path.join(__dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node <args>` from the repository root. */
function node(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const demo = (...args: string[]) => node([path.join(root, 'scripts/demo.js'), '--no-build', ...args]);

/** The report block of one phase, from its `── ` heading to the next blank line. */
function block(report: string, heading: string): string {
  const start = report.indexOf(`── ${heading}`);
  if (start < 0) throw new Error(`no "── ${heading}" block in:\n${report}`);
  const end = report.indexOf('\n\n', start);
  return report.slice(start, end < 0 ? undefined : end);
}

function count(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  if (!m) throw new Error(`${pattern} not found in:\n${text}`);
  return Number(m[1]);
}

it('npm run demo: the hypothesis holds through every window thanks to the fallback (exit 0)', async () => {
  const { code, stdout, stderr } = await demo('--profile', 'short');
  // The whole report goes into the failure message when the exit code is not 0.
  expect({ code, stderr, report: code === 0 ? '' : stdout }).toEqual({ code: 0, stderr: '', report: '' });
  // Progress, one line per step when stdout is not a terminal (no carriage-return redraws).
  expect(stdout).toMatch(/^\[ +[\d.]+ s\] starting the shop/m);
  expect(stdout).not.toContain('\r');
  expect(stdout).toMatch(/^══ verdict: HELD: the hypothesis held before, during 3 fault windows and after/m);

  const abort = block(stdout, 'window 1/3: catalog aborts 50% of GET /products with 503');
  const aborts = count(abort, /^ +catalog-local +(\d+) +0$/m);
  expect(aborts).toBeGreaterThan(0);
  expect(abort).toMatch(/^ +frontend-local +0 +0$/m);
  // Every injected abort became a fallback page (a slow catalog answer under load can add more, never fewer).
  expect(count(abort, /ok \((\d+) from the fallback\)/)).toBeGreaterThanOrEqual(aborts);
  expect(abort).toMatch(/hypothesis +HELD/);

  const delay = block(stdout, 'window 2/3: catalog delays every GET /products by 150 ms');
  const delays = count(delay, /^ +catalog-local +0 +(\d+)$/m);
  expect(delays).toBeGreaterThan(0);
  expect(delay).toMatch(/^ +le="100" +0$/m);
  expect(count(delay, /^ +le="250" +(\d+)$/m)).toBe(delays);
  expect(delay).toMatch(new RegExp(`count ${delays} · sum \\d+ ms · p50 [\\d.]+ ms · p99 [\\d.]+ ms`));

  const hang = block(stdout, "window 3/3: catalog hangs GET /products for 3 s, past the frontend's 300 ms deadline");
  expect(count(hang, /^ +le="5000" +(\d+)$/m)).toBe(count(hang, /^ +catalog-local +0 +(\d+)$/m));
  expect(hang).toMatch(/\((\d+) from the fallback\), 0 failed/);

  expect(block(stdout, 'after')).toMatch(/hypothesis +HELD/);
});

it('npm run demo -- --break: without the fallback the hypothesis breaks in the first window (exit 1)', async () => {
  const { code, stdout } = await demo('--profile', 'short', '--break');
  expect(code).toBe(1);
  const abort = block(stdout, 'window 1/3: catalog aborts 50% of GET /products with 503');
  expect(abort).toMatch(/hypothesis +BROKEN/);
  expect(abort).toMatch(/✗ frontend success rate [\d.]+% \(expected ≥ 99\.0%\)/);
  expect(abort).toMatch(/\d+× 502/);
  expect(block(stdout, 'skipped')).toContain('catalog delays every GET /products by 150 ms');
  // The rollback worked: once the window closed, the shop was healthy again.
  expect(block(stdout, 'after')).toMatch(/hypothesis +HELD/);
  expect(stdout).toMatch(/^══ verdict: DEVIATED: the hypothesis broke during window 1 .*exit code 1\)$/m);
});

it('a bad option is a usage error (exit 2), before anything starts', async () => {
  const { code, stdout, stderr } = await demo('--profile', 'long');
  expect(code).toBe(2);
  expect(stderr).toMatch(/--profile must be full or short, not long\nusage: chaos-experiment/);
  expect(stdout).toBe('');
});

it('connects to a running control plane and sidecars with --control-plane, --frontend and --stats', async () => {
  await using mesh = await startLocalShopMesh({ namespace: 'shop-connect' });
  const args = [
    '-r',
    path.join(root, 'examples/chaos/register-ts.js'),
    path.join(root, 'examples/chaos-experiment.ts'),
    '--profile',
    'short',
    '--namespace',
    mesh.namespace,
    '--control-plane',
    mesh.controlPlaneUrl,
    '--frontend',
    mesh.frontendUrl,
    ...mesh.statsTargets.flatMap((t) => ['--stats', `${t.pod}=${t.url}`]),
  ];
  const result = await node(args);
  expect({ code: result.code, stderr: result.stderr, report: result.code === 0 ? '' : result.stdout }).toEqual({
    code: 0,
    stderr: '',
    report: '',
  });
  expect(result.stdout).toContain(`control plane ${mesh.controlPlaneUrl}`);
  expect(result.stdout).not.toContain('starting the shop');
  expect(count(block(result.stdout, 'window 1/3'), /^ +catalog-local +(\d+) +0$/m)).toBeGreaterThan(0);
});
