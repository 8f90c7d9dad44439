// The sha256 of the plugin.wasm bundled with @hfi/filter: the control plane serves that file at /v1/plugin.wasm,
// and Istio refuses a downloaded module whose digest differs from the WasmPlugin's `sha256`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HfiError } from '@hfi/core';

export function bundledPluginPath(): string {
  return path.join(path.dirname(require.resolve('@hfi/filter/package.json')), 'plugin.wasm');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads the bundled plugin.wasm (or `file`) and returns its sha256 in lower-case hex. */
export function pluginSha256(file: string = bundledPluginPath()): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new HfiError(
      'HFI_ERR_PLUGIN_LOAD',
      missing
        ? `${file} does not exist: the plugin has not been built; run \`npm run build\` (or pass --plugin-sha256)`
        : `${file} could not be read: ${(cause as Error).message}`,
      { field: 'plugin-sha256', details: { path: file }, cause },
    );
  }
  return sha256Hex(bytes);
}
