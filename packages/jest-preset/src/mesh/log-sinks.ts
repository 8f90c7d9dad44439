// Where the local processes' log lines go: every line into a file per process in the run's log directory, and the
// lines at or above the configured level also to stderr (where Jest shows global setup's output).

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { PresetLogLevel } from '../config/types';

const RANK: Record<string, number> = {
  trace: 0,
  debug: 1,
  info: 2,
  warn: 3,
  warning: 3,
  error: 4,
  critical: 5,
  fatal: 5,
};
const THRESHOLD: Record<PresetLogLevel, number> = {
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  silent: Number.POSITIVE_INFINITY,
};

/** The level of an Envoy-format line (`[time][worker][level][logger] …`) or a pino JSON line (`"level":"warn"`). */
export function lineLevel(line: string): number {
  const envoy = /^\[[^\]]*\]\[[^\]]*\]\[(\w+)\]/.exec(line);
  const pino = envoy ? undefined : /"level":"(\w+)"/.exec(line);
  const name = (envoy ?? pino)?.[1];
  return name === undefined ? RANK.info : (RANK[name] ?? RANK.info);
}

export class LogSink {
  readonly file: string;
  private readonly stream: WriteStream;
  private readonly threshold: number;

  constructor(
    dir: string,
    readonly name: string,
    level: PresetLogLevel,
    private readonly stderr: (text: string) => void = (text) => process.stderr.write(text),
  ) {
    this.file = path.join(dir, `${name}.log`);
    this.stream = createWriteStream(this.file, { flags: 'a' });
    this.threshold = THRESHOLD[level];
  }

  /** One line (without its newline). */
  readonly line = (line: string): void => {
    this.stream.write(`${line}\n`);
    if (lineLevel(line) >= this.threshold) this.stderr(`[hfi ${this.name}] ${line}\n`);
  };

  /** pino's destination interface: chunks of whole JSON lines. */
  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) if (line !== '') this.line(line);
    return true;
  }

  async close(): Promise<void> {
    if (this.stream.closed) return;
    this.stream.end();
    await once(this.stream, 'close');
  }
}
