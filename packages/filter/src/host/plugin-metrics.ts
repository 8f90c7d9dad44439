// proxy_define_metric and friends, delegated to the shared stats store with Envoy's rules per metric type: ids are
// per VM (an id another VM defined is NOT_FOUND here), a counter only grows (delta > 0), a gauge moves either way,
// recording into a counter adds to it, histograms take records and have no readable value.

import { isHfiError } from '@hfi/core';
import type { MetricType, StatsStore } from '../stats/types';
import { Status } from './abi';

const METRIC_TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram'];

export class PluginMetrics {
  private readonly types = new Map<number, MetricType>();

  constructor(
    private readonly stats: StatsStore,
    private readonly reportFailure: (message: string) => void,
  ) {}

  define(type: number, name: string): { status: number; id?: number } {
    const metricType = METRIC_TYPES[type];
    if (metricType === undefined) return { status: Status.BadArgument };
    let id: number | undefined;
    const status = this.call(() => {
      id = this.stats.defineMetric(metricType, name);
    });
    if (id === undefined) return { status };
    this.types.set(id, metricType);
    return { status: Status.Ok, id };
  }

  increment(id: number, delta: bigint): number {
    const type = this.types.get(id);
    if (type === undefined) return Status.NotFound;
    if (type === 'histogram' || (type === 'counter' && delta <= 0n)) return Status.BadArgument;
    return this.call(() => this.stats.incrementMetric(id, delta));
  }

  record(id: number, value: bigint): number {
    const type = this.types.get(id);
    if (type === undefined) return Status.NotFound;
    if (type !== 'counter') return this.call(() => this.stats.recordMetric(id, value));
    // Envoy adds a value recorded into a counter.
    return value > 0n ? this.call(() => this.stats.incrementMetric(id, value)) : Status.Ok;
  }

  get(id: number): { status: number; value?: bigint } {
    const type = this.types.get(id);
    if (type === undefined) return { status: Status.NotFound };
    if (type === 'histogram') return { status: Status.BadArgument };
    let value: bigint | undefined;
    const status = this.call(() => {
      value = this.stats.getMetric(id);
    });
    return value === undefined ? { status } : { status: Status.Ok, value };
  }

  private call(operation: () => void): number {
    try {
      operation();
      return Status.Ok;
    } catch (error) {
      if (isHfiError(error, 'HFI_ERR_METRIC_NOT_FOUND')) return Status.NotFound;
      if (isHfiError(error, 'HFI_ERR_METRIC_BAD_ARGUMENT')) return Status.BadArgument;
      this.reportFailure(`stats store failed: ${(error as Error).message}`);
      return Status.InternalFailure;
    }
  }
}
