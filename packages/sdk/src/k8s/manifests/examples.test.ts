// The files in examples/k8s are what `hfi` renders now (through the command tree, as render.sh runs it).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import type { CliIo } from '../../cli/io';
import { runCli } from '../../cli/program';
import { bundledPluginPath } from './plugin-wasm';

const EXAMPLES = path.resolve(__dirname, '../../../../../examples/k8s');
const REGENERATE = 'npm run build && bash examples/k8s/render.sh';

async function hfi(args: string[]): Promise<string> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env: {},
  };
  const code = await runCli(args, io);
  if (code !== 0) throw new Error(`hfi ${args.join(' ')} exited ${code}: ${stderr}`);
  return stdout;
}

function committed(name: string): string {
  return readFileSync(path.join(EXAMPLES, name), 'utf8');
}

/** Fails with the first differing line and the command that regenerates the examples. */
function expectSame(name: string, actual: string, fresh: string): void {
  if (actual === fresh) return;
  const a = actual.split('\n');
  const f = fresh.split('\n');
  const line = a.findIndex((text, i) => text !== f[i]);
  const at = line === -1 ? a.length : line;
  throw new Error(
    `examples/k8s/${name} is stale (line ${at + 1}: committed ${JSON.stringify(a[at])}, fresh ${JSON.stringify(f[at])}).\n` +
      `Regenerate with: ${REGENERATE}`,
  );
}

function committedSha256(): string {
  const plugin = parseAllDocuments(committed('mesh.yaml'))
    .map((d) => d.toJSON() as { kind: string; spec: { sha256: string } })
    .find((o) => o.kind === 'WasmPlugin');
  if (plugin === undefined) throw new Error(`examples/k8s/mesh.yaml has no WasmPlugin. Regenerate with: ${REGENERATE}`);
  return plugin.spec.sha256;
}

describe('examples/k8s matches a fresh render', () => {
  it('mesh.yaml (apart from the plugin digest, compared below)', async () => {
    // The committed digest is fed back in, so this comparison holds whether or not plugin.wasm is built.
    const fresh = await hfi([
      'k8s',
      'manifests',
      '--token',
      'example-token-change-me',
      '--plugin-sha256',
      committedSha256(),
    ]);
    expectSame('mesh.yaml', committed('mesh.yaml'), fresh);
  });

  const built = existsSync(bundledPluginPath());
  (built ? it : it.skip)(
    `mesh.yaml names the sha256 of the built plugin.wasm${built ? '' : ' (skipped: plugin.wasm not built; run npm run build)'}`,
    () => {
      const sha = createHash('sha256').update(readFileSync(bundledPluginPath())).digest('hex');
      if (committedSha256() !== sha) {
        throw new Error(
          `examples/k8s/mesh.yaml names sha256 ${committedSha256()}, the built plugin.wasm is ${sha}. Regenerate with: ${REGENERATE}`,
        );
      }
    },
  );

  it('grafana-dashboard.json (same JSON; the file is in the repository format)', async () => {
    const fresh = JSON.parse(await hfi(['k8s', 'dashboard']));
    const file = JSON.parse(committed('grafana-dashboard.json'));
    expectSame('grafana-dashboard.json', JSON.stringify(file, null, 2), JSON.stringify(fresh, null, 2));
  });

  it('prometheus-rules.yaml', async () => {
    expectSame('prometheus-rules.yaml', committed('prometheus-rules.yaml'), await hfi(['k8s', 'prometheus-rules']));
  });
});
