// The preset as a new user gets it: the five packages packed as `npm publish` would pack them, installed from those
// tarballs into an empty project outside the repository (no workspace symlinks, no root devDependencies), which
// holds only a package.json, a one-line jest.config.js, an hfi.config.json and a plain-JS test. Catches what the
// symlinked e2e (preset.test.ts) cannot: files left out of a tarball (plugin.wasm, jest-preset.js, typings) and
// runtime dependencies that resolve only through the repository's node_modules. Needs `npm run build` and the npm
// registry (or a warm npm cache) for the third-party dependencies.
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  missingEntryPoints,
  packWorkspaces,
  run,
  runOrThrow,
  tarballFiles,
  tarballManifest,
  WORKSPACES,
  type Workspace,
} from './__tests__/packed-install';

const PACKAGE = path.resolve(__dirname, '..');
const REPO = path.resolve(PACKAGE, '../..');
const EIGHT_MINUTES = 8 * 60_000;

let upstream: Server;
let tmp: string;
let project: string;
let tarballs: Record<Workspace, string>;

beforeAll(async () => {
  const built = [
    ...['core', 'control-plane', 'filter', 'sdk', 'jest-preset'].map((p) => `packages/${p}/dist/index.js`),
    'packages/filter/plugin.wasm',
  ];
  const missing = built.filter((file) => !existsSync(path.join(REPO, file)));
  if (missing.length > 0) throw new Error(`build first (npm run build); missing: ${missing.join(', ')}`);

  upstream = createServer((req, res) => res.end(`upstream saw ${req.url}`));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  tmp = await mkdtemp(path.join(os.tmpdir(), 'hfi-packed-install-'));
  tarballs = await packWorkspaces(REPO, tmp);

  project = await mkdtemp(path.join(tmp, 'project-'));
  const repoManifest = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8'));
  // Every @hfi package from its tarball: the preset's exact `0.1.0` dependencies on the others then resolve to
  // these rather than to the registry.
  const dependencies = Object.fromEntries(WORKSPACES.map((w) => [w, `file:${tarballs[w]}`]));
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'hfi-packed-install-check',
        private: true,
        dependencies,
        devDependencies: { jest: repoManifest.devDependencies.jest },
      },
      null,
      2,
    ),
  );
  await writeFile(path.join(project, 'jest.config.js'), "module.exports = { preset: '@hfi/jest-preset' };\n");
  await writeFile(
    path.join(project, 'hfi.config.json'),
    JSON.stringify({ mode: 'local', services: [{ name: 'frontend', namespace: 'demo', upstream: upstreamUrl }] }),
  );
  await writeFile(path.join(project, 'frontend.test.js'), abortTest(3));
  await runOrThrow('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
}, EIGHT_MINUTES);

afterAll(async () => {
  if (upstream) await new Promise((resolve) => upstream.close(resolve));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A user's test: an abort window on the frontend, three requests through its sidecar, then the matcher. */
function abortTest(expectedAborts: number): string {
  return `const { hfi, service } = require('@hfi/jest-preset');

test('the frontend answers 503 while its abort window is open', async () => {
  const win = await hfi.openFaultWindow({
    selector: service('frontend').selector,
    abort: { httpStatus: 503 },
    percentage: 100,
    duration: '30s',
  });
  for (let i = 0; i < 3; i++) {
    const res = await fetch(service('frontend').url + '/api/items');
    await res.text();
    expect(res.status).toBe(503);
  }
  await expect(win).toHaveInjectedAborts(${expectedAborts});
});
`;
}

it('packs plugin.wasm, jest-preset.js, the typings and every entry point a manifest names', async () => {
  const files = Object.fromEntries(
    await Promise.all(WORKSPACES.map(async (w) => [w, await tarballFiles(tarballs[w])] as const)),
  ) as Record<Workspace, string[]>;
  expect(files['@hfi/filter']).toContain('package/plugin.wasm');
  expect(files['@hfi/jest-preset']).toEqual(
    expect.arrayContaining([
      'package/jest-preset.js',
      'package/types/jest.d.ts',
      'package/types/jest-globals.d.ts',
      'package/types/matchers.d.ts',
      'package/types/vitest.d.ts',
    ]),
  );
  for (const w of WORKSPACES) {
    const manifest = await tarballManifest(tarballs[w]);
    expect({ package: w, missing: missingEntryPoints(manifest, files[w]) }).toEqual({ package: w, missing: [] });
    // Sources and tests stay out of the tarballs.
    expect(files[w].filter((file) => /\.test\.|\/src\/|tsbuildinfo/.test(file))).toEqual([]);
  }
});

it('installs the @hfi packages as copies from the tarballs, not as links into the repository', async () => {
  for (const w of WORKSPACES) {
    const installed = path.join(project, 'node_modules', w);
    expect({ package: w, symlink: (await lstat(installed)).isSymbolicLink() }).toEqual({ package: w, symlink: false });
  }
  expect(existsSync(path.join(project, 'node_modules', '@hfi', 'filter', 'plugin.wasm'))).toBe(true);
});

it(
  'passes a plain-JS test that opens an abort window and asserts toHaveInjectedAborts(3)',
  async () => {
    const { code, output } = await run('npx', ['--no-install', 'jest'], project);
    expect(output).toContain('PASS ./frontend.test.js');
    expect(output).toContain('Tests:       1 passed, 1 total');
    expect(code).toBe(0);
  },
  EIGHT_MINUTES,
);

it(
  'fails a wrong count with the per-pod table',
  async () => {
    await writeFile(path.join(project, 'wrong-count.test.js'), abortTest(4));
    const { code, output } = await run('npx', ['--no-install', 'jest', 'wrong-count'], project);
    expect(output).toContain('FAIL ./wrong-count.test.js');
    expect(output).toContain('Tests:       1 failed, 1 total');
    expect(output).toContain('Expected aborts: 4');
    expect(output).toContain('Received aborts: 3');
    expect(output).toContain('Received per pod:');
    expect(output).toMatch(/frontend-local\s+3\s+0/);
    expect(code).toBe(1);
  },
  EIGHT_MINUTES,
);
