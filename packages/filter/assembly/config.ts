// Plugin configuration (Istio WasmPlugin.pluginConfig, as JSON). Anything missing, mistyped or unparsable falls
// back to a default; the problems are collected for one warning each.

import { LogLevelValues } from '@solo-io/proxy-runtime/assembly/index';
import { getBool, getNumber, getString, JValue, parseJsonString } from './json';

export const DEFAULT_ADDRESS = 'hfi-control-plane.boifi.svc.cluster.local:8080';
export const DEFAULT_POLL_INTERVAL_MS: u32 = 5000;
export const MIN_POLL_INTERVAL_MS: u32 = 100;
export const MAX_POLL_INTERVAL_MS: u32 = 3600000;

export class PluginConfig {
  address: string = DEFAULT_ADDRESS;
  cluster: string = '';
  watch: bool = true;
  pollIntervalMs: u32 = DEFAULT_POLL_INTERVAL_MS;
  token: string = '';
  logLevel: LogLevelValues = LogLevelValues.info;
  problems: Array<string> = [];
}

/** Istio's outbound cluster name for host:port (port 80 when absent). */
export function istioCluster(address: string): string {
  let host = address;
  let port = '80';
  const colon = address.lastIndexOf(':');
  // host:port, but not a bare IPv6 address
  if (colon > 0 && address.indexOf(':') == colon) {
    host = address.substring(0, colon);
    port = address.substring(colon + 1);
  } else if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close > 0 && close + 1 < address.length && address.charCodeAt(close + 1) == 0x3a) {
      host = address.substring(0, close + 1);
      port = address.substring(close + 2);
    }
  }
  return 'outbound|' + port + '||' + host;
}

function parseLevel(name: string, config: PluginConfig): LogLevelValues {
  const n = name.toLowerCase();
  if (n == 'trace') return LogLevelValues.trace;
  if (n == 'debug') return LogLevelValues.debug;
  if (n == 'info') return LogLevelValues.info;
  if (n == 'warn' || n == 'warning') return LogLevelValues.warn;
  if (n == 'error') return LogLevelValues.error;
  if (n == 'critical') return LogLevelValues.critical;
  config.problems.push('log_level ' + JSON_text(name) + ' is not one of trace|debug|info|warn|error; using info');
  return LogLevelValues.info;
}

function JSON_text(s: string): string {
  return '"' + (s.length > 60 ? s.substring(0, 60) + '...' : s) + '"';
}

function stripScheme(address: string): string {
  if (address.startsWith('http://')) address = address.substring(7);
  else if (address.startsWith('https://')) address = address.substring(8);
  while (address.endsWith('/')) address = address.substring(0, address.length - 1);
  return address;
}

export function parseConfig(text: string): PluginConfig {
  const config = new PluginConfig();
  const trimmed = text.trim();
  if (trimmed.length > 0) {
    const json: JValue | null = parseJsonString(trimmed);
    if (json === null || !json.isObject()) {
      config.problems.push('plugin configuration is not a JSON object; using defaults');
    } else {
      const address = getString(json, 'control_plane_address');
      if (address !== null && stripScheme(address.trim()).length > 0) config.address = stripScheme(address.trim());
      else if (json.get('control_plane_address') !== null)
        config.problems.push('control_plane_address must be a non-empty string');
      const cluster = getString(json, 'control_plane_cluster');
      if (cluster !== null && cluster.trim().length > 0) config.cluster = cluster.trim();
      else if (json.get('control_plane_cluster') !== null)
        config.problems.push('control_plane_cluster must be a non-empty string');
      config.watch = getBool(json, 'watch', true);
      let interval = getNumber(json, 'poll_interval_ms', <f64>DEFAULT_POLL_INTERVAL_MS);
      if (interval < <f64>MIN_POLL_INTERVAL_MS) {
        config.problems.push(
          'poll_interval_ms below ' + MIN_POLL_INTERVAL_MS.toString() + '; using ' + MIN_POLL_INTERVAL_MS.toString(),
        );
        interval = <f64>MIN_POLL_INTERVAL_MS;
      }
      if (interval > <f64>MAX_POLL_INTERVAL_MS) interval = <f64>MAX_POLL_INTERVAL_MS;
      config.pollIntervalMs = <u32>interval;
      const token = getString(json, 'token');
      if (token !== null) config.token = token;
      const level = getString(json, 'log_level');
      if (level !== null) config.logLevel = parseLevel(level, config);
    }
  }
  if (config.cluster.length == 0) config.cluster = istioCluster(config.address);
  return config;
}
