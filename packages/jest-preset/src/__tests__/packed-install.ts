// Helpers for the packed-install test: packing the workspaces as `npm publish` would, reading what a tarball holds,
// and running npm/npx in a project outside the repository.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';

/** The published packages, in dependency order. */
export const WORKSPACES = ['@hfi/core', '@hfi/control-plane', '@hfi/filter', '@hfi/sdk', '@hfi/jest-preset'] as const;
export type Workspace = (typeof WORKSPACES)[number];

export interface RunResult {
  code: number | null;
  /** stdout and stderr interleaved, as a terminal shows them. */
  output: string;
  stdout: string;
}

/**
 * The environment for a child npm/npx: this process's, without what an outer `npm test` or Jest put there for
 * itself. npm reads `npm_config_*` as configuration, so an inherited `npm_config_local_prefix` (the repository) or
 * workspace selection would point the child at the repository instead of its own cwd; `HFI_*` and `JEST_*` are
 * the outer run's. Registry, cache and CA settings stay.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', CI: '1' };
  const outer =
    /^(HFI_|JEST_|npm_package_|npm_lifecycle_|npm_command$|npm_config_(local_prefix|workspaces?|include_workspace_root|call)$)/;
  for (const name of Object.keys(env)) if (outer.test(name)) delete env[name];
  return env;
}

/** Runs a command to its end and returns its exit code with stdout and stderr interleaved, colours stripped. */
export async function run(command: string, args: string[], cwd: string): Promise<RunResult> {
  const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output: stripVTControlCharacters(output), stdout };
}

/** Runs a command and throws with its output when it exits non-zero. */
export async function runOrThrow(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} exited with ${result.code}:\n${result.output}`);
  }
  return result.stdout;
}

interface PackEntry {
  name: string;
  filename: string;
}

/** `npm pack` of every workspace into `destination`; returns each package's tarball path. */
export async function packWorkspaces(repo: string, destination: string): Promise<Record<Workspace, string>> {
  const args = ['pack', '--json', '--pack-destination', destination, ...WORKSPACES.flatMap((w) => ['-w', w])];
  const result = await run('npm', args, repo);
  if (result.code !== 0) throw new Error(`npm pack exited with ${result.code}:\n${result.output}`);
  const entries = JSON.parse(result.stdout) as PackEntry[];
  const tarballs: Partial<Record<Workspace, string>> = {};
  for (const entry of entries) tarballs[entry.name as Workspace] = path.join(destination, entry.filename);
  const missing = WORKSPACES.filter((w) => !tarballs[w]);
  if (missing.length > 0) throw new Error(`npm pack produced no tarball for ${missing.join(', ')}:\n${result.output}`);
  return tarballs as Record<Workspace, string>;
}

/** The paths inside a tarball, as `tar` lists them (`package/…`). */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const listing = await runOrThrow('tar', ['-tzf', tarball], path.dirname(tarball));
  return listing.split('\n').filter((line) => line.length > 0);
}

/** The package.json inside a tarball. */
export async function tarballManifest(tarball: string): Promise<PackedManifest> {
  return JSON.parse(await runOrThrow('tar', ['-xzOf', tarball, 'package/package.json'], path.dirname(tarball)));
}

export interface PackedManifest {
  name: string;
  version: string;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/** The files a manifest promises (main, types, bins) that the tarball does not hold. */
export function missingEntryPoints(manifest: PackedManifest, files: string[]): string[] {
  const promised = [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})].filter(
    (file): file is string => file !== undefined,
  );
  const held = new Set(files);
  return promised.filter((file) => !held.has(`package/${path.posix.normalize(file)}`));
}
