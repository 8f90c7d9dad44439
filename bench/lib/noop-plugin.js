// A proxy-wasm plugin that does nothing: every stream callback returns Continue at once. It exports the same
// callbacks as plugin.wasm, so the host makes the same calls for it; the difference between the two is what the
// hfi filter itself costs. Compiled once with asc into the OS temp dir (cached by source and compiler version).
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SOURCE = `
export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_on_memory_allocate(size: usize): usize { return heap.alloc(size); }
export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_vm_start(id: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(id: u32, size: u32): u32 { return 1; }
export function proxy_on_tick(id: u32): void {}
export function proxy_on_context_create(id: u32, parent: u32): void {}
export function proxy_on_request_headers(id: u32, count: u32, eos: u32): u32 { return 0; }
export function proxy_on_request_body(id: u32, size: u32, eos: u32): u32 { return 0; }
export function proxy_on_request_trailers(id: u32, count: u32): u32 { return 0; }
export function proxy_on_response_headers(id: u32, count: u32, eos: u32): u32 { return 0; }
export function proxy_on_response_body(id: u32, size: u32, eos: u32): u32 { return 0; }
export function proxy_on_response_trailers(id: u32, count: u32): u32 { return 0; }
export function proxy_on_http_call_response(id: u32, token: u32, h: u32, b: u32, t: u32): void {}
export function proxy_on_log(id: u32): void {}
export function proxy_on_done(id: u32): u32 { return 1; }
export function proxy_on_delete(id: u32): void {}
`;

/** Path of the compiled no-op plugin (compiling it on first use). */
function noopPluginPath() {
  const ascPackage = require.resolve('assemblyscript/package.json');
  const ascVersion = JSON.parse(readFileSync(ascPackage, 'utf8')).version;
  const hash = createHash('sha256').update(SOURCE).update(ascVersion).digest('hex').slice(0, 16);
  const cached = path.join(os.tmpdir(), `hfi-bench-noop-plugin-${hash}.wasm`);
  if (existsSync(cached)) return cached;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hfi-bench-noop-'));
  try {
    writeFileSync(path.join(dir, 'noop.ts'), SOURCE);
    const asc = path.join(path.dirname(ascPackage), 'bin', 'asc.js');
    execFileSync(process.execPath, [asc, 'noop.ts', '-o', 'noop.wasm', '--runtime', 'stub', '-O3'], { cwd: dir });
    const staging = `${cached}.${process.pid}.tmp`;
    writeFileSync(staging, readFileSync(path.join(dir, 'noop.wasm')));
    renameSync(staging, cached);
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { noopPluginPath };
