import { HfiError } from '@hfi/core';
import pino, { type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

let lastMs = -1;
let lastField = '';

/** The `timestamp` field, formatted once per millisecond (a fan-out logs thousands of lines in the same one). */
function isoTimestamp(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastField = `,"timestamp":"${new Date(now).toISOString()}"`;
  }
  return lastField;
}

/** BOIFI's DEBUG/INFO/WARN/ERROR in any case, plus pino's other levels. */
export function parseLogLevel(text: string): LogLevel {
  const level = text.trim().toLowerCase();
  const normalised = level === 'warning' ? 'warn' : level;
  if (!(LEVELS as readonly string[]).includes(normalised)) {
    throw new HfiError('HFI_ERR_CONFIG', `invalid log level "${text}" (supported: DEBUG, INFO, WARN, ERROR)`, {
      field: 'logLevel',
    });
  }
  return normalised as LogLevel;
}

/**
 * JSON lines with the reference's keys: `timestamp` (ISO 8601), `level` (name), `message`. Standard output is
 * written asynchronously: lines logged while a write is in flight go out together, so a fan-out to 10,000 watches
 * (one access-log line each) costs a few writes, not 10,000; pino flushes what is left when the process exits.
 */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    messageKey: 'message',
    base: { pid: process.pid },
    timestamp: isoTimestamp,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
