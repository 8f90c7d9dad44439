import { HfiError, isHfiError } from '@hfi/core';
import { type ControlPlaneFlags, resolveControlPlaneConfig } from './config';
import { runControlPlane } from './run';

type FlagKey = keyof ControlPlaneFlags;

const VALUE_FLAGS: Record<string, FlagKey> = {
  '--listen': 'listen',
  '--store': 'store',
  '--token': 'token',
  '--max-delay-ms': 'maxDelayMs',
  '--log-level': 'logLevel',
  '--watch-timeout-ms': 'watchTimeoutMs',
  '--node-stale-ms': 'nodeStaleMs',
  '--storage': 'storage',
  '--etcd-endpoints': 'etcdEndpoints',
};

export const USAGE = `Usage: hfi-control-plane [options]

  --listen HOST:PORT          address to listen on (env LISTEN_ADDR; default 127.0.0.1:8080)
  --store SPEC                memory | file:PATH | etcd:HOST:PORT[,HOST:PORT] (env STORAGE_BACKEND)
  --storage KIND              BOIFI alias: memory | file | etcd
  --etcd-endpoints LIST       BOIFI alias for etcd endpoints (env ETCD_ENDPOINTS; default localhost:2379)
  --token TOKEN               bearer token required on POST/PUT/DELETE (env HFI_TOKEN)
  --insecure                  allow a non-loopback address without a token
  --max-delay-ms N            largest fixed_delay_ms accepted (default 30000)
  --log-level LEVEL           DEBUG | INFO | WARN | ERROR (env LOG_LEVEL; default INFO)
`;

/** The flags of the standalone `hfi-control-plane` binary (the `hfi` CLI parses the same ones with commander). */
export function parseControlPlaneArgs(argv: readonly string[]): ControlPlaneFlags & { help?: boolean } {
  const flags: ControlPlaneFlags & { help?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      flags.help = true;
      continue;
    }
    if (arg === '--insecure') {
      flags.insecure = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const key = VALUE_FLAGS[name];
    if (!key) throw new HfiError('HFI_ERR_CONFIG', `unknown option: ${arg}`, { field: arg });
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new HfiError('HFI_ERR_CONFIG', `option ${name} needs a value`, { field: name });
    (flags as Record<string, string>)[key] = value;
  }
  return flags;
}

/** Entry point of bin/hfi-control-plane.js: a one-line error and exit code 1 on bad configuration. */
export async function controlPlaneMain(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const { help, ...flags } = parseControlPlaneArgs(argv);
    if (help) {
      process.stdout.write(USAGE);
      return;
    }
    await runControlPlane(resolveControlPlaneConfig({ flags, env }));
  } catch (err) {
    process.stderr.write(`hfi-control-plane: ${isHfiError(err) ? `${err.message} (${err.code})` : String(err)}\n`);
    process.exitCode = 1;
  }
}
