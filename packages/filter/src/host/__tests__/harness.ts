// Shared pieces of the host's tests: the compiled test plugin, a real stats store, VMs closed after each test, and
// waiting on log lines (an event, never a sleep).

import { createStatsStore, type EnvoyStatsStore } from '../../stats/store';
import type { LogRecord } from '../log';
import { PluginVm, type PluginVmOptions } from '../plugin-vm';
import { compileTestPlugin } from './test-plugin';

export class LogWatcher {
  readonly records: LogRecord[] = [];
  private waiting: { match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];

  readonly logger = (record: LogRecord): void => {
    this.records.push(record);
    this.waiting = this.waiting.filter((w) => {
      if (!w.match(record)) return true;
      w.resolve(record);
      return false;
    });
  };

  /** Resolves with the first record (already logged or future) whose message contains `text`. */
  waitFor(text: string): Promise<LogRecord> {
    const match = (r: LogRecord) => r.message.includes(text);
    const seen = this.records.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiting.push({ match, resolve }));
  }

  messages(): string[] {
    return this.records.map((r) => r.message);
  }
}

export interface Harness {
  wasm(): Buffer;
  start(options?: Partial<PluginVmOptions>): Promise<{ vm: PluginVm; stats: EnvoyStatsStore; watcher: LogWatcher }>;
}

/** Registers beforeAll/afterEach hooks; call at the top of a describe block or file. */
export function useTestPlugin(): Harness {
  let wasm: Buffer | undefined;
  const open: PluginVm[] = [];
  beforeAll(async () => {
    wasm = await compileTestPlugin();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((vm) => vm.close()));
  });
  return {
    wasm: () => {
      if (!wasm) throw new Error('test plugin not compiled yet');
      return wasm;
    },
    start: async (options = {}) => {
      if (!wasm) throw new Error('test plugin not compiled yet');
      const stats = createStatsStore();
      const watcher = new LogWatcher();
      const vm = await PluginVm.start({
        wasm,
        stats,
        logger: watcher.logger,
        manualTicks: true,
        logLevel: 'trace',
        ...options,
      });
      open.push(vm);
      return { vm, stats, watcher };
    },
  };
}

export function header(headers: readonly (readonly [string, string])[], name: string): string | undefined {
  return headers.find(([k]) => k === name)?.[1];
}

export const GET: [string, string][] = [
  [':method', 'GET'],
  [':path', '/api/items?x=1'],
  [':authority', 'frontend.demo'],
  [':scheme', 'http'],
];

export function action(name: string, extra: [string, string][] = []): [string, string][] {
  return [...GET, ['x-test-action', name], ...extra];
}
