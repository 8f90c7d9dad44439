// What the `hfi` command reads and writes; the process's streams in production, buffers in unit tests.
import type { Readable } from 'node:stream';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: Readable;
  env: Record<string, string | undefined>;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Exit codes: 0 success, 1 the command failed, 2 the command line was wrong (usage is printed). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
