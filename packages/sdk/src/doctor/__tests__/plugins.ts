// Plugins the doctor tests load into real local sidecars besides the bundled plugin.wasm:
// - the hfi filter built from its own source with the reference's OLD metric names (`hfi.faults.*`), i.e. an old
//   plugin version that polls the control plane and injects faults but exports the wrong names (seed Problem 5);
// - a Wasm module that is not hfi at all (seed Problem 1: the hfi plugin is not loaded).
// Builds are cached in the OS temp dir by source hash, written atomically so parallel Jest workers can share them.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../../../../..');
const ASSEMBLY = path.join(REPO, 'packages/filter/assembly');

/** The filter source's metric names and the reference's old ones. */
const RENAMES: [string, string][] = [
  ["'wasmcustom.hfi_faults_aborts_total'", "'hfi.faults.aborts_total'"],
  ["'wasmcustom.hfi_faults_delays_total'", "'hfi.faults.delays_total'"],
  ["'wasmcustom.hfi_faults_delay_duration_milliseconds'", "'hfi.faults.delay_duration_milliseconds'"],
];

async function cached(key: string, build: (dir: string) => Promise<Buffer>): Promise<string> {
  const file = path.join(os.tmpdir(), `hfi-doctor-${key}.wasm`);
  if (existsSync(file)) return file;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-doctor-build-'));
  try {
    const wasm = await build(dir);
    const staging = `${file}.${process.pid}.tmp`;
    await writeFile(staging, wasm);
    await rename(staging, file);
    return file;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** plugin.wasm as it was before the `wasmcustom.` names: the current filter source with the old names. */
export async function oldNamesPluginPath(): Promise<string> {
  const files = (await readdir(ASSEMBLY)).filter((f) => f.endsWith('.ts'));
  const sources = await Promise.all(
    files.map(async (f) => [f, await readFile(path.join(ASSEMBLY, f), 'utf8')] as const),
  );
  const ascPackage = require.resolve('assemblyscript/package.json', { paths: [REPO] });
  const ascVersion = JSON.parse(await readFile(ascPackage, 'utf8')).version as string;
  const hash = createHash('sha256');
  for (const [name, text] of sources) hash.update(name).update(text);
  const key = `old-names-${hash.update(ascVersion).digest('hex').slice(0, 16)}`;
  return cached(key, async (dir) => {
    const assembly = path.join(dir, 'assembly');
    await run('mkdir', ['-p', assembly]);
    const renamed: string[] = [];
    for (const [name, text] of sources) {
      let out = text;
      for (const [from, to] of RENAMES) out = out.replace(from, to);
      renamed.push(out);
      await writeFile(path.join(assembly, name), out);
    }
    // The names may sit in any module of the filter source (index.ts, root.ts, ...).
    for (const [from, to] of RENAMES) {
      if (!renamed.some((out) => out.includes(to)))
        throw new Error(`the filter source no longer defines ${from}; update RENAMES`);
    }
    // The patched proxy-runtime and AssemblyScript's library resolve through the repository's node_modules.
    await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    const asc = path.join(path.dirname(ascPackage), 'bin', 'asc.js');
    await run(
      process.execPath,
      [asc, 'assembly/index.ts', '--outFile', 'plugin.wasm', '--optimizeLevel', '1', '--use', 'abort=abort_proc_exit'],
      { cwd: dir },
    );
    return readFile(path.join(dir, 'plugin.wasm'));
  });
}

/**
 * A valid proxy-wasm module that is not hfi: it exports `memory`, `proxy_abi_version_0_2_1` and a
 * `proxy_on_memory_allocate` (a fixed scratch area; the host needs an allocator to pass configuration). A host loads
 * and starts it, and it defines no metric and never calls the control plane.
 */
export async function otherPluginPath(): Promise<string> {
  const name = (text: string) => [text.length, ...Buffer.from(text)];
  const bytes = Buffer.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...[0x01, 0x09, 0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f], // types: () -> (), (i32) -> i32
    ...[0x03, 0x03, 0x02, 0x00, 0x01], // functions: #0 of type 0, #1 of type 1
    ...[0x05, 0x03, 0x01, 0x00, 0x01], // memory: one, min 1 page
    ...[0x07, 0x3f, 0x03], // exports (63 bytes, 3 entries):
    ...[...name('memory'), 0x02, 0x00],
    ...[...name('proxy_abi_version_0_2_1'), 0x00, 0x00],
    ...[...name('proxy_on_memory_allocate'), 0x00, 0x01],
    // code: #0 empty; #1 `i32.const 1024`
    ...[0x0a, 0x0a, 0x02, 0x02, 0x00, 0x0b, 0x05, 0x00, 0x41, 0x80, 0x08, 0x0b],
  ]);
  return cached(`other-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`, async () => bytes);
}
