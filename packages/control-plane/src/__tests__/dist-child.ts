// A script in a process of its own, against the built dist: only a process's exit shows a timer or a socket left
// holding it open.

import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

/** The path of a built module of this package, e.g. `dist('store/etcd-store.js')`, for a script to require. */
export function dist(module: string): string {
  return JSON.stringify(resolve(__dirname, '../../dist', module));
}

export interface DistChild {
  child: ChildProcess;
  /** Waits for the child's next message, then for its exit: the message, the exit code and the ms in between. */
  messageThenExit(): Promise<{ message: unknown; code: number | null; msToExit: number }>;
}

/** Runs `script` (`process.argv[1]` onwards: `args`) in a child with an IPC channel; kill `child` when done. */
export function forkScript(script: string, args: string[] = []): DistChild {
  const child = fork('-e', [script, ...args], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  return {
    child,
    async messageThenExit() {
      const [message] = await once(child, 'message');
      const at = Date.now();
      const [code] = (await exited) as [number | null];
      return { message, code, msToExit: Date.now() - at };
    },
  };
}

/** forkScript for a script that sends one message and exits on its own: its messageThenExit(), the child killed after. */
export async function runScriptToExit(
  script: string,
  args: string[] = [],
): Promise<{ message: unknown; code: number | null; msToExit: number }> {
  const { child, messageThenExit } = forkScript(script, args);
  try {
    return await messageThenExit();
  } finally {
    child.kill();
  }
}
