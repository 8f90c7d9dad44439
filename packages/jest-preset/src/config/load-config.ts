// Finds and reads the preset's configuration file in the Jest root dir, applies the HFI_* environment overrides,
// and validates the result.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HfiError } from '@hfi/core';
import type { HfiPresetConfig } from './types';
import { type ConfigIssue, configError, validateConfig } from './validate';

export const CONFIG_FILE_NAMES = ['hfi.config.json', 'hfi.config.js', 'hfi.config.cjs', 'hfi.config.mjs'] as const;

/** The environment variables a user may set to override the file. */
export const CONFIG_ENV = {
  config: 'HFI_CONFIG',
  mode: 'HFI_MODE',
  controlPlane: 'HFI_CONTROL_PLANE_ADDR',
  token: 'HFI_TOKEN',
  flushIntervalMs: 'HFI_FLUSH_INTERVAL_MS',
  ackTimeoutMs: 'HFI_ACK_TIMEOUT_MS',
  startupTimeoutMs: 'HFI_STARTUP_TIMEOUT_MS',
  logLevel: 'HFI_LOG_LEVEL',
  metricsSource: 'HFI_METRICS_SOURCE',
  prometheusUrl: 'HFI_PROMETHEUS_URL',
} as const;

type Env = Readonly<Record<string, string | undefined>>;
type Json = Record<string, unknown>;

/** The config file to read: HFI_CONFIG (relative to rootDir) or the one `hfi.config.*` in rootDir. */
export function findConfigFile(rootDir: string, env: Env = process.env): string {
  const explicit = env[CONFIG_ENV.config];
  if (explicit !== undefined && explicit.trim() !== '') {
    const file = path.resolve(rootDir, explicit.trim());
    if (!existsSync(file)) {
      throw new HfiError('HFI_ERR_PRESET_CONFIG', `${CONFIG_ENV.config} names ${file}, which does not exist`, {
        field: CONFIG_ENV.config,
        details: { source: file },
      });
    }
    return file;
  }
  const found = CONFIG_FILE_NAMES.map((name) => path.join(rootDir, name)).filter((file) => existsSync(file));
  if (found.length > 1) {
    throw new HfiError(
      'HFI_ERR_PRESET_CONFIG',
      `${rootDir} has several hfi config files (${found.map((f) => path.basename(f)).join(', ')}); keep one`,
      { field: 'file', details: { source: rootDir, files: found } },
    );
  }
  const file = found[0];
  if (file === undefined) {
    throw new HfiError(
      'HFI_ERR_PRESET_CONFIG',
      `no hfi.config.json in ${rootDir}: create one, e.g. { "services": [{ "name": "frontend", "namespace": "demo", "upstream": "http://127.0.0.1:3000" }] }, or point ${CONFIG_ENV.config} at it`,
      { field: 'file', details: { source: rootDir, looked_for: [...CONFIG_FILE_NAMES] } },
    );
  }
  return file;
}

/** The raw object a config file holds (a module may export it, a function returning it, or a promise of it). */
export async function readConfigFile(file: string): Promise<unknown> {
  const name = path.basename(file);
  if (file.endsWith('.json')) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new HfiError('HFI_ERR_PRESET_CONFIG', `cannot read ${file}: ${(cause as Error).message}`, {
        field: 'file',
        cause,
        details: { source: file },
      });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new HfiError('HFI_ERR_PRESET_CONFIG', `${name} is not valid JSON: ${(cause as Error).message}`, {
        field: 'file',
        cause,
        details: { source: file },
      });
    }
  }
  let exported: unknown;
  try {
    exported = file.endsWith('.mjs') ? await import(pathToFileURL(file).href) : requireFresh(file);
  } catch (cause) {
    throw new HfiError('HFI_ERR_PRESET_CONFIG', `${name} failed to load: ${(cause as Error).message}`, {
      field: 'file',
      cause,
      details: { source: file },
    });
  }
  if (typeof exported === 'object' && exported !== null && 'default' in exported) {
    exported = (exported as { default: unknown }).default;
  }
  return typeof exported === 'function' ? await (exported as () => unknown)() : exported;
}

/** Re-reads a CommonJS config file each time (watch mode re-runs global setup in the same process). */
function requireFresh(file: string): unknown {
  const req = createRequire(file);
  const resolved = req.resolve(file);
  delete req.cache[resolved];
  return req(resolved);
}

function envNumber(env: Env, name: string, issues: ConfigIssue[]): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0) {
    issues.push({
      field: name,
      message: `must be a positive integer number of milliseconds, got ${JSON.stringify(text)}`,
    });
    return undefined;
  }
  return Number(text);
}

function envString(env: Env, name: string): string | undefined {
  const text = env[name];
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/** The config object with the HFI_* overrides applied on top (before validation). */
export function applyEnvOverrides(raw: unknown, env: Env = process.env): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const out: Json = { ...(raw as Json) };
  const issues: ConfigIssue[] = [];
  const mode = envString(env, CONFIG_ENV.mode);
  if (mode !== undefined) out.mode = mode;
  // In local mode the preset starts its own control plane and publishes its address under this very name.
  const controlPlane = envString(env, CONFIG_ENV.controlPlane);
  if (controlPlane !== undefined && (out.mode ?? 'local') === 'kubernetes') out.controlPlane = controlPlane;
  const token = envString(env, CONFIG_ENV.token);
  if (token !== undefined) out.token = token;
  for (const key of ['flushIntervalMs', 'ackTimeoutMs', 'startupTimeoutMs'] as const) {
    const value = envNumber(env, CONFIG_ENV[key], issues);
    if (value !== undefined) out[key] = value;
  }
  const logLevel = envString(env, CONFIG_ENV.logLevel);
  if (logLevel !== undefined) out.logLevel = logLevel.toLowerCase();
  const source = envString(env, CONFIG_ENV.metricsSource);
  const prometheusUrl = envString(env, CONFIG_ENV.prometheusUrl);
  if ((source !== undefined || prometheusUrl !== undefined) && (out.mode ?? 'local') === 'kubernetes') {
    const metrics = typeof out.metrics === 'object' && out.metrics !== null ? (out.metrics as Json) : {};
    out.metrics = {
      ...metrics,
      ...(source === undefined ? {} : { source }),
      ...(prometheusUrl === undefined ? {} : { prometheusUrl }),
    };
  }
  if (issues.length > 0) throw configError('environment', issues);
  return out;
}

/** Reads, overrides and validates the configuration of the Jest project in `rootDir`. */
export async function loadConfig(rootDir: string, env: Env = process.env): Promise<HfiPresetConfig> {
  const file = findConfigFile(rootDir, env);
  const raw = await readConfigFile(file);
  return validateConfig(applyEnvOverrides(raw, env), file);
}
