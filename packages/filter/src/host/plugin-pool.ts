// Envoy runs one VM (and root context) per worker thread and hands each new stream to a worker. A pool does the
// same: `workers` VMs of one compiled module, sharing the stats store, shared data and queues, and an HTTP client;
// streams go to the workers round-robin.

import { HfiError } from '@hfi/core';
import { Agent } from 'undici';
import type { HttpStream, StreamInfo } from './http-stream';
import type { LogRecord } from './log';
import { loadPluginModule, PluginVm, type PluginVmOptions } from './plugin-vm';
import { SharedState } from './shared-state';
import type { TickTimers } from './tick-timer';

export interface PluginPoolOptions extends Omit<PluginVmOptions, 'worker' | 'sharedState' | 'dispatcher'> {
  /** Number of workers (Envoy's --concurrency). Default 2. */
  workers?: number;
}

export class PluginPool implements AsyncDisposable {
  private next = 0;
  private closing?: Promise<void>;

  static async start(options: PluginPoolOptions): Promise<PluginPool> {
    const workers = options.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new HfiError('HFI_ERR_CONFIG', 'workers must be a positive integer', {
        field: 'workers',
        details: { received: workers },
      });
    }
    const module = await loadPluginModule(options.wasm);
    const sharedState = new SharedState();
    const dispatcher = new Agent({ keepAliveTimeout: 4000 });
    const vms: PluginVm[] = [];
    try {
      for (let worker = 0; worker < workers; worker++) {
        vms.push(await PluginVm.start({ ...options, wasm: module, worker, sharedState, dispatcher }));
      }
    } catch (error) {
      await Promise.allSettled(vms.map((vm) => vm.close()));
      await dispatcher.close();
      throw error;
    }
    return new PluginPool(vms, dispatcher);
  }

  /** The workers' event loops (usually one): the tick timers they share. */
  private readonly loops: readonly TickTimers[];

  private constructor(
    /** One VM per worker, in worker order. */
    readonly vms: readonly PluginVm[],
    private readonly dispatcher: Agent,
  ) {
    this.loops = [...new Set(vms.map((vm) => vm.loopTimers))];
  }

  /** The next worker's new stream (round-robin). */
  newStream(info?: StreamInfo): HttpStream {
    const vm = this.vms[this.next];
    this.next = (this.next + 1) % this.vms.length;
    return vm.newStream(info);
  }

  /** Every worker's log records, oldest first. */
  get logs(): LogRecord[] {
    return this.vms.flatMap((vm) => vm.logs).sort((a, b) => a.time.getTime() - b.time.getTime());
  }

  /** Whether any worker's VM has trapped. */
  get trapped(): boolean {
    return this.vms.some((vm) => vm.trapped);
  }

  /**
   * Runs the ticks that are due on the workers' event loop (see `PluginVm.runDueTicks`). Called from outside the
   * VMs' callbacks: one look per event loop covers every worker on it (a worker inside a callback keeps its tick).
   * Made for the hot paths, several times per request: a tick due within 50 ms of the last clock reading is looked
   * at every time, a later one at one call in 64 (`TickTimers.poll`).
   */
  runDueTicks(): void {
    for (const timers of this.loops) timers.poll(1);
  }

  /** Ticks every worker's root context now. */
  tick(): void {
    for (const vm of this.vms) vm.tick();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.vms.map((vm) => vm.close()));
      await this.dispatcher.close();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
