// Log records of a VM (the plugin's proxy_log/fd_write output and the host's own lines) and their rendering in
// Envoy's default log format, `[time][thread][level][logger] message`.

import { LOG_LEVELS, type LogLevelName } from './abi';

export interface LogRecord {
  level: LogLevelName;
  message: string;
  /** `plugin`: written by the plugin (proxy_log, WASI fd_write, AssemblyScript trace/abort); `host`: by the host. */
  source: 'plugin' | 'host';
  time: Date;
  /** The worker whose VM wrote it. */
  worker: number;
  /** Envoy's plugin log prefix: ` <plugin name> <root id> <vm id>`, each part only when non-empty. */
  prefix: string;
}

export type Logger = (record: LogRecord) => void;

export function isLogLevelName(value: string): value is LogLevelName {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Envoy's PluginBase::makeLogPrefix. */
export function pluginLogPrefix(pluginName: string, rootId: string, vmId: string): string {
  return [pluginName, rootId, vmId].map((part) => (part === '' ? '' : ` ${part}`)).join('');
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function envoyTimestamp(time: Date): string {
  return (
    `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} ` +
    `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`
  );
}

/** One line as Envoy prints it; plugin messages carry Envoy's `wasm log<prefix>: ` stem. */
export function formatLogRecord(record: LogRecord): string {
  const body = record.source === 'plugin' ? `wasm log${record.prefix}: ${record.message}` : record.message;
  return `[${envoyTimestamp(record.time)}][${record.worker}][${record.level}][wasm] ${body}`;
}
