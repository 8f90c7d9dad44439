// GET /v1/plugin.wasm: the bundled filter, so a WasmPlugin can load it from the control plane (pinned by sha256)
// instead of a hostPath web server as in the reference deployment.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HfiError } from '@hfi/core';
import type { FastifyInstance } from 'fastify';

interface LoadedPlugin {
  bytes: Buffer;
  sha256: string;
}

/** `HFI_PLUGIN_PATH` overrides the build shipped in @hfi/filter (for an image carrying another build). */
export function pluginPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.HFI_PLUGIN_PATH ?? join(dirname(require.resolve('@hfi/filter/package.json')), 'plugin.wasm');
}

export function registerPluginRoute(app: FastifyInstance, path: string = pluginPath()): void {
  let loaded: Promise<LoadedPlugin> | undefined;
  const load = () => {
    loaded ??= readFile(path).then(
      (bytes) => ({ bytes, sha256: createHash('sha256').update(bytes).digest('hex') }),
      (cause: unknown) => {
        loaded = undefined; // a later build may put it there
        throw new HfiError('HFI_ERR_PLUGIN_LOAD', `plugin.wasm is not available at ${path} (run npm run build)`, {
          statusCode: 503,
          details: { path },
          cause,
        });
      },
    );
    return loaded;
  };

  app.get('/v1/plugin.wasm', async (request, reply) => {
    const plugin = await load();
    const etag = `"${plugin.sha256}"`;
    reply.header('etag', etag).header('x-sha256', plugin.sha256).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.code(200).header('content-type', 'application/wasm').send(plugin.bytes);
  });
}
