// The type tests in types/__tests__/{jest,jest-globals,vitest} compile with tsc (each has @ts-expect-error lines, so
// typings that were too loose fail too), and the typings are what makes them compile.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PACKAGE = path.resolve(__dirname, '..');
const TSC = require.resolve('typescript/bin/tsc');
const RUNNERS = ['jest', 'jest-globals', 'vitest'] as const;

function tsc(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, ...args], { cwd: PACKAGE, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const project = (runner: string) => path.join(PACKAGE, 'types', '__tests__', runner, 'tsconfig.json');

let tmp: string;
beforeAll(async () => {
  // The type tests import '@hfi/jest-preset', which resolves to the built declarations.
  if (!existsSync(path.join(PACKAGE, 'dist', 'index.d.ts'))) {
    throw new Error('packages/jest-preset is not built: run `npx tsc -b packages/jest-preset` (npm test builds first)');
  }
  tmp = await mkdtemp(path.join(os.tmpdir(), 'hfi-typings-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe.each(RUNNERS)('typings for %s', (runner) => {
  it('compile the type test, @ts-expect-error lines included', async () => {
    const { code, output } = await tsc(['-p', project(runner)]);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('have no errors of their own (checked without skipLibCheck)', async () => {
    const { output } = await tsc(['-p', project(runner), '--skipLibCheck', 'false']);
    const ours = output.split('\n').filter((line) => /(^|\/)types\//.test(line) && !line.includes('node_modules'));
    expect(ours).toEqual([]);
  }, 120_000);

  it('are what makes the type test compile: without them the matchers are unknown', async () => {
    const config = path.join(tmp, `${runner}-without-typings.json`);
    await writeFile(
      config,
      JSON.stringify({
        extends: project(runner),
        files: [path.join(PACKAGE, 'types', '__tests__', runner, 'matchers.ts')],
      }),
    );
    const { code, output } = await tsc(['-p', config]);
    expect(code).not.toBe(0);
    expect(output).toMatch(/toHaveInjectedAborts/);
  }, 120_000);
});

it('reject a wrongly typed expectation (so the @ts-expect-error lines can fail)', async () => {
  const file = path.join(tmp, 'misuse.ts');
  await writeFile(
    file,
    [
      'declare const win: { metrics(): Promise<unknown> };',
      'export async function misuse(): Promise<void> {',
      "  await expect(win).toHaveInjectedAborts('3');",
      '}',
    ].join('\n'),
  );
  const config = path.join(tmp, 'misuse.json');
  await writeFile(config, JSON.stringify({ extends: project('jest'), files: [path.join(PACKAGE, 'types', 'jest.d.ts'), file] }));
  const { code, output } = await tsc(['-p', config]);
  expect(code).not.toBe(0);
  expect(output).toContain('misuse.ts(3,');
  expect(output).toMatch(/'string' is not assignable/);
}, 120_000);
