// `hfi sidecar ...` options as plain argv parsing (no CLI framework here; the hfi command forwards its arguments):
//   --listen 127.0.0.1:P --upstream http://127.0.0.1:Q --admin 127.0.0.1:R --control-plane http://127.0.0.1:8080
//   --workload frontend --namespace demo [--pod NAME] [--labels app=frontend[,k=v]] [--flush-interval-ms 5000]
//   [--stats-inclusion-prefix P ...] [--no-default-stats-inclusion] [--plugin PATH] [--workers N]
//   [--log-level info] [--plugin-config JSON] [--fail-closed]

import { HfiError } from '@hfi/core';
import type { LogLevelName } from '../host/abi';
import { isLogLevelName } from '../host/log';
import { type StartedSidecar, type StartSidecarOptions, startSidecar } from './sidecar';

export const SIDECAR_USAGE = `Usage: hfi sidecar --listen HOST:PORT --upstream URL --admin HOST:PORT --control-plane URL
                   --workload NAME --namespace NAME [options]

Runs a local stand-in for the Istio sidecar: an HTTP proxy to the workload that runs plugin.wasm, with Envoy's
admin endpoints (/stats/prometheus, /stats, /ready, /server_info, /config_dump).

Options:
  --listen HOST:PORT              where the proxy listens (port 0: any free port)
  --upstream URL                  the workload, e.g. http://127.0.0.1:8080
  --admin HOST:PORT               where the admin endpoints listen
  --control-plane URL             the hfi control plane, e.g. http://127.0.0.1:8080
  --workload NAME                 Istio WORKLOAD_NAME of this sidecar
  --namespace NAME                its namespace
  --pod NAME                      its pod name (default <workload>-local)
  --labels K=V[,K=V]              pod labels (repeatable)
  --workers N                     Envoy worker threads, one plugin VM each (default 2)
  --flush-interval-ms N           stats flush interval (default 5000)
  --stats-inclusion-prefix P      extra stats matcher prefix (repeatable)
  --no-default-stats-inclusion    drop Istio's required inclusion list
  --plugin PATH                   plugin .wasm (default: the bundled plugin.wasm)
  --plugin-config JSON            extra plugin configuration keys
  --log-level LEVEL               trace, debug, info (default), warn, error, critical
  --fail-closed                   answer 503 if the plugin traps (default: fail open)
  -h, --help                      show this help
`;

export type SidecarCliResult = { help: true } | { help: false; options: StartSidecarOptions };

const VALUE_FLAGS = new Set([
  'listen',
  'upstream',
  'admin',
  'control-plane',
  'workload',
  'namespace',
  'pod',
  'labels',
  'workers',
  'flush-interval-ms',
  'stats-inclusion-prefix',
  'plugin',
  'plugin-config',
  'log-level',
]);
const BOOLEAN_FLAGS = new Set(['no-default-stats-inclusion', 'fail-closed', 'help']);

function configError(flag: string, message: string, received?: unknown): HfiError {
  return new HfiError('HFI_ERR_CONFIG', message, { field: `--${flag}`, details: { received } });
}

function positiveInteger(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw configError(flag, `--${flag} must be an integer >= ${min}`, value);
  return n;
}

export function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of values.flatMap((v) => v.split(','))) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw configError('labels', '--labels takes key=value pairs separated by commas', item);
    labels[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return labels;
}

/** Parses `hfi sidecar` arguments (without the `sidecar` word). Errors are HfiError HFI_ERR_CONFIG with the flag. */
export function parseSidecarArgs(argv: readonly string[]): SidecarCliResult {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      flags.add('help');
      continue;
    }
    if (!arg.startsWith('--')) throw configError(arg, `unexpected argument "${arg}"`, arg);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq >= 0) throw configError(name, `--${name} takes no value`, arg);
      flags.add(name);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw configError(name, `unknown option --${name}`, arg);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw configError(name, `--${name} needs a value`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  if (flags.has('help')) return { help: true };

  const one = (name: string): string | undefined => {
    const list = values.get(name);
    if (list && list.length > 1) throw configError(name, `--${name} was given more than once`, list);
    return list?.[0];
  };
  const required = (name: string): string => {
    const value = one(name);
    if (value === undefined || value === '') throw configError(name, `--${name} is required`);
    return value;
  };

  const options: StartSidecarOptions = {
    listen: required('listen'),
    upstream: required('upstream'),
    admin: required('admin'),
    controlPlane: required('control-plane'),
    workload: required('workload'),
    namespace: required('namespace'),
  };
  const pod = one('pod');
  if (pod !== undefined) options.pod = pod;
  if (values.has('labels')) options.labels = parseLabels(values.get('labels') ?? []);
  const workers = one('workers');
  if (workers !== undefined) options.workers = positiveInteger('workers', workers, 1);
  const flush = one('flush-interval-ms');
  if (flush !== undefined) options.flushIntervalMs = positiveInteger('flush-interval-ms', flush, 1);
  if (values.has('stats-inclusion-prefix')) options.statsInclusionPrefixes = values.get('stats-inclusion-prefix');
  if (flags.has('no-default-stats-inclusion')) options.defaultStatsInclusion = false;
  const plugin = one('plugin');
  if (plugin !== undefined) options.plugin = plugin;
  const pluginConfig = one('plugin-config');
  if (pluginConfig !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(pluginConfig);
    } catch {
      throw configError('plugin-config', '--plugin-config must be a JSON object', pluginConfig);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw configError('plugin-config', '--plugin-config must be a JSON object', pluginConfig);
    }
    options.pluginConfig = parsed as Record<string, unknown>;
  }
  const level = one('log-level');
  if (level !== undefined) {
    if (!isLogLevelName(level)) throw configError('log-level', `unknown log level "${level}"`, level);
    options.logLevel = level as LogLevelName;
  }
  if (flags.has('fail-closed')) options.failOpen = false;
  return { help: false, options };
}

export interface SidecarCliIo {
  stdout?: (text: string) => void;
  /** Plugin and sidecar log lines. Default: process.stderr. */
  logSink?: (line: string) => void;
}

/**
 * Parses the arguments, starts the sidecar and prints where it listens. Returns undefined after printing the help.
 * The caller keeps the process alive and calls close() on SIGINT/SIGTERM.
 */
export async function runSidecarCli(
  argv: readonly string[],
  io: SidecarCliIo = {},
): Promise<StartedSidecar | undefined> {
  const stdout = io.stdout ?? ((text: string) => process.stdout.write(text));
  const parsed = parseSidecarArgs(argv);
  if (parsed.help) {
    stdout(SIDECAR_USAGE);
    return undefined;
  }
  const sidecar = await startSidecar({ ...parsed.options, logSink: io.logSink });
  stdout(`hfi sidecar listening on ${sidecar.url} (admin ${sidecar.adminUrl})\n`);
  return sidecar;
}
