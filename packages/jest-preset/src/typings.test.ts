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

/** `file(line,col): error TS…` lines, except those about files in node_modules (third-party declarations). */
function ownErrors(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => /error TS\d+/.test(line) && !/^\S*node_modules/.test(line.replace(/^(\.\.\/)+/, '')));
}

/** A tsconfig in the temp dir: extends a type test's, finds @types from the repository. */
async function tempProject(name: string, runner: string, files: string[]): Promise<string> {
  const config = path.join(tmp, `${name}.json`);
  await writeFile(
    config,
    JSON.stringify({
      extends: project(runner),
      compilerOptions: { typeRoots: [path.resolve(PACKAGE, '../../node_modules/@types')] },
      files,
    }),
  );
  return config;
}

describe.each(RUNNERS)('typings for %s', (runner) => {
  // skipLibCheck off, so the typings' own declarations are checked too; errors inside node_modules are not ours.
  it('compile the type test, @ts-expect-error lines included', async () => {
    const { output } = await tsc(['-p', project(runner), '--skipLibCheck', 'false']);
    expect(ownErrors(output)).toEqual([]);
  }, 180_000);

  it('are what makes the type test compile: without them the matchers are unknown', async () => {
    const config = await tempProject(`${runner}-without-typings`, runner, [
      path.join(PACKAGE, 'types', '__tests__', runner, 'matchers.ts'),
    ]);
    const { code, output } = await tsc(['-p', config]);
    expect(code).not.toBe(0);
    expect(output).toMatch(/toHaveInjectedAborts/);
  }, 180_000);
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
  const config = await tempProject('misuse', 'jest', [path.join(PACKAGE, 'types', 'jest.d.ts'), file]);
  const { code, output } = await tsc(['-p', config]);
  expect(code).not.toBe(0);
  expect(output).toContain('misuse.ts(3,');
  expect(output).toMatch(/'string' is not assignable/);
}, 120_000);
