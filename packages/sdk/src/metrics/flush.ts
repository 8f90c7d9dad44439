// Envoy refreshes a histogram's Prometheus figures only at its stats flush (stats_flush_interval, 5 s by default;
// Istio's too), while counters are live. So right after traffic Δdelays_total can be ahead of Δ_count. This waits,
// bounded, until the two agree on every pod.
import { setTimeout as delay } from 'node:timers/promises';
import { diffSnapshots } from './delta';
import type { MetricSource } from './source';
import type { FaultDelta, Snapshot } from './types';

export interface FlushWaitOptions {
  /** Give up after this long. Default 12,000 ms: two default flush intervals and a margin. */
  timeoutMs?: number;
  /** Between snapshots. Default 250 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface FlushWaitResult {
  delta: FaultDelta;
  after: Snapshot;
  /** The histogram still disagreed with its counter on some pod when time ran out (see `delta.notes`). */
  timedOut: boolean;
  attempts: number;
  waitedMs: number;
}

/** Re-snapshots `source` until Δdelays_total equals Δ_count on every pod, or until the timeout. */
export async function waitForHistogramFlush(
  source: MetricSource,
  before: Snapshot,
  options: FlushWaitOptions = {},
): Promise<FlushWaitResult> {
  const timeoutMs = options.timeoutMs ?? 12_000;
  const intervalMs = options.intervalMs ?? 250;
  const started = Date.now();
  for (let attempts = 1; ; attempts++) {
    const after = await source.snapshot();
    const delta = diffSnapshots(before, after);
    const waitedMs = Date.now() - started;
    const lagging = delta.perPod.filter((p) => p.histogramLagging).map((p) => p.pod);
    if (lagging.length === 0) return { delta, after, timedOut: false, attempts, waitedMs };
    if (waitedMs + intervalMs > timeoutMs) {
      delta.notes.push(
        `timed out after ${waitedMs} ms waiting for the delay histogram to catch up with delays_total on ${lagging.join(', ')}: ` +
          'Envoy refreshes histograms only at its stats flush (stats_flush_interval, 5 s by default), so the counters are exact but the histogram figures are not final',
      );
      return { delta, after, timedOut: true, attempts, waitedMs };
    }
    await delay(intervalMs, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
