// Builds the host's own test plugin (test-plugin.as, AssemblyScript without an SDK) with asc, once per source
// version: the result is cached in the OS temp dir, written atomically so parallel Jest workers can share it.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function compileTestPlugin(): Promise<Buffer> {
  return readFile(await testPluginPath());
}

/** The path of the compiled test plugin (compiling it first if needed). */
export async function testPluginPath(): Promise<string> {
  const source = await readFile(path.join(__dirname, 'test-plugin.as'));
  const ascPackage = require.resolve('assemblyscript/package.json');
  const ascVersion = JSON.parse(await readFile(ascPackage, 'utf8')).version as string;
  const hash = createHash('sha256').update(source).update(ascVersion).digest('hex').slice(0, 16);
  const cached = path.join(os.tmpdir(), `hfi-host-test-plugin-${hash}.wasm`);
  if (existsSync(cached)) return cached;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-host-test-plugin-'));
  try {
    await writeFile(path.join(dir, 'test-plugin.ts'), source);
    const asc = path.join(path.dirname(ascPackage), 'bin', 'asc.js');
    const args = ['test-plugin.ts', '-o', 'test-plugin.wasm', '--runtime', 'stub', '--exportStart', '_initialize'];
    await run(process.execPath, [asc, ...args], { cwd: dir });
    const wasm = await readFile(path.join(dir, 'test-plugin.wasm'));
    const staging = `${cached}.${process.pid}.tmp`;
    await writeFile(staging, wasm);
    await rename(staging, cached);
    return cached;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
