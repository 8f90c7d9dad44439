import { HfiError } from '@hfi/core';
import { parseListenAddress } from './listen-address';
import { type LogLevel, parseLogLevel } from './logger';
import { parseStoreSpec } from './store/create-store';

/** Command-line flags as commander hands them over (camelCased); every one optional. */
export interface ControlPlaneFlags {
  listen?: string;
  /** `memory`, `file:PATH` or `etcd:ENDPOINTS`. */
  store?: string;
  token?: string;
  insecure?: boolean;
  maxDelayMs?: number | string;
  logLevel?: string;
  watchTimeoutMs?: number | string;
  nodeStaleMs?: number | string;
  /** BOIFI's `--storage memory|etcd` (and `file`). */
  storage?: string;
  /** BOIFI's `--etcd-endpoints a:2379,b:2379`. */
  etcdEndpoints?: string;
}

export interface ControlPlaneConfig {
  listen: string;
  /** Canonical spec: `memory`, `file:PATH` or `etcd:host:port,...`. */
  store: string;
  token?: string;
  insecure: boolean;
  maxDelayMs: number;
  watchTimeoutMs: number;
  nodeStaleMs: number;
  logLevel: LogLevel;
}

export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEFAULT_ETCD_ENDPOINTS = 'localhost:2379';
/** Where `--storage file` (no path) keeps policies, relative to the working directory. */
export const DEFAULT_FILE_STORE_PATH = 'hfi-policies.json';

type Env = Record<string, string | undefined>;

/**
 * Flags win over environment variables, which win over defaults. Environment names are BOIFI's (`LISTEN_ADDR`,
 * `STORAGE_BACKEND`, `ETCD_ENDPOINTS`, `LOG_LEVEL`) plus `HFI_TOKEN`, `HFI_INSECURE`, `HFI_MAX_DELAY_MS`,
 * `HFI_WATCH_TIMEOUT_MS`, `HFI_NODE_STALE_MS`, `HFI_STORE_PATH`.
 */
export function resolveControlPlaneConfig(input: { flags?: ControlPlaneFlags; env?: Env } = {}): ControlPlaneConfig {
  const flags = input.flags ?? {};
  const env = input.env ?? process.env;
  const pick = (flag: string | undefined, envName: string): string | undefined => {
    if (flag !== undefined && flag !== '') return flag;
    const fromEnv = env[envName];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
  };

  const listen = pick(flags.listen, 'LISTEN_ADDR') ?? DEFAULT_LISTEN;
  parseListenAddress(listen);

  const endpoints = pick(flags.etcdEndpoints, 'ETCD_ENDPOINTS') ?? DEFAULT_ETCD_ENDPOINTS;
  const filePath = pick(undefined, 'HFI_STORE_PATH') ?? DEFAULT_FILE_STORE_PATH;
  const storeText = flags.store || flags.storage || pick(undefined, 'STORAGE_BACKEND') || 'memory';
  const store = canonicalStore(storeText, endpoints, filePath);

  const config: ControlPlaneConfig = {
    listen,
    store,
    insecure: flags.insecure === true || truthy(env.HFI_INSECURE),
    maxDelayMs: integer('maxDelayMs', flags.maxDelayMs ?? env.HFI_MAX_DELAY_MS, 30_000),
    watchTimeoutMs: integer('watchTimeoutMs', flags.watchTimeoutMs ?? env.HFI_WATCH_TIMEOUT_MS, 25_000),
    nodeStaleMs: integer('nodeStaleMs', flags.nodeStaleMs ?? env.HFI_NODE_STALE_MS, 60_000),
    logLevel: parseLogLevel(pick(flags.logLevel, 'LOG_LEVEL') ?? 'info'),
  };
  const token = pick(flags.token, 'HFI_TOKEN');
  if (token) config.token = token;
  return config;
}

/** `etcd` and `file` alone take their endpoints / path from the other settings. */
function canonicalStore(text: string, endpoints: string, filePath: string): string {
  const trimmed = text.trim();
  const bare = trimmed.toLowerCase();
  const spec = bare === 'etcd' ? `etcd:${endpoints}` : bare === 'file' ? `file:${filePath}` : trimmed;
  const parsed = parseStoreSpec(spec);
  switch (parsed.kind) {
    case 'memory':
      return 'memory';
    case 'file':
      return `file:${parsed.path}`;
    case 'etcd':
      return `etcd:${parsed.endpoints.join(',')}`;
  }
}

function integer(field: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if ((typeof value === 'string' && !/^\d+$/.test(value.trim())) || !Number.isSafeInteger(n) || n <= 0) {
    throw new HfiError('HFI_ERR_CONFIG', `${field} must be a positive integer (got "${value}")`, { field });
  }
  return n;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}
