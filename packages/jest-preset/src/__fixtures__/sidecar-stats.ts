// Stats pages for matcher tests, rendered by the local sidecar's Envoy-faithful stats store (the same store and
// Prometheus renderer the sidecar serves on /stats/prometheus), with the metrics defined under the names the
// plugin uses. Snapshots are parsed and diffed by the SDK, so the tests see FaultDeltas exactly as windows do.
import { createStatsStore, type EnvoyStatsStore } from '@hfi/filter';
import { diffSnapshots, type FaultDelta, type PodSample, parsePodMetrics, type Snapshot } from '@hfi/sdk';

/** Which metric names the "plugin" defines: today's, the reference's old ones, or none (plugin not loaded). */
export type PluginNames = 'current' | 'old' | 'none';

const NAMES = {
  current: {
    aborts: 'wasmcustom.hfi_faults_aborts_total',
    delays: 'wasmcustom.hfi_faults_delays_total',
    histogram: 'wasmcustom.hfi_faults_delay_duration_milliseconds',
  },
  old: {
    aborts: 'hfi.faults.aborts_total',
    delays: 'hfi.faults.delays_total',
    histogram: 'hfi.faults.delay_duration_milliseconds',
  },
} as const;

export class FixtureSidecar {
  private store!: EnvoyStatsStore;
  private ids: { aborts: number; delays: number; histogram: number } | undefined;
  private startedAtMs = 0;

  constructor(
    readonly pod: string,
    private readonly names: PluginNames = 'current',
    private readonly clock: { now: number } = { now: 1_000_000 },
  ) {
    this.start();
  }

  private start(): void {
    this.startedAtMs = this.clock.now;
    this.store = createStatsStore({ clock: () => this.clock.now });
    if (this.names === 'none') {
      this.ids = undefined;
      return;
    }
    const n = NAMES[this.names];
    this.ids = {
      aborts: this.store.defineMetric('counter', n.aborts),
      delays: this.store.defineMetric('counter', n.delays),
      histogram: this.store.defineMetric('histogram', n.histogram),
    };
  }

  /** A restarted proxy: a new store, counters from 0, uptime from 0. */
  restart(): this {
    this.start();
    return this;
  }

  abort(times = 1): this {
    if (this.ids && times > 0) this.store.incrementMetric(this.ids.aborts, BigInt(times));
    return this;
  }

  /** Records delays as the plugin does (counter + histogram); visible in the histogram after flush(). */
  delay(ms: number, times = 1): this {
    if (!this.ids || times === 0) return this;
    this.store.incrementMetric(this.ids.delays, BigInt(times));
    for (let i = 0; i < times; i++) this.store.recordMetric(this.ids.histogram, BigInt(ms));
    return this;
  }

  /** Envoy's stats flush: histograms show what was recorded. */
  flush(): this {
    this.store.flush();
    return this;
  }

  page(): string {
    return this.store.renderPrometheus();
  }

  sample(): PodSample {
    return { pod: this.pod, scrapedAtMs: this.clock.now, metrics: parsePodMetrics(this.page()) };
  }

  get uptimeMs(): number {
    return this.clock.now - this.startedAtMs;
  }
}

export function snapshotOf(...samples: PodSample[]): Snapshot {
  return { takenAtMs: Math.max(0, ...samples.map((s) => s.scrapedAtMs)), pods: samples };
}

export function failedSample(pod: string, error: string): PodSample {
  return { pod, scrapedAtMs: 0, metrics: { aborts: undefined, delays: undefined, delayHistogram: undefined }, error };
}

/**
 * The delta of a window over these sidecars: a baseline snapshot, then `during` (the traffic), then the final
 * snapshot, with the clock moved on so uptimes grow.
 */
export function windowDelta(
  sidecars: readonly FixtureSidecar[],
  during: () => void,
  clock?: { now: number },
): FaultDelta {
  const before = snapshotOf(...sidecars.map((s) => s.sample()));
  if (clock) clock.now += 5_000;
  during();
  const after = snapshotOf(...sidecars.map((s) => s.sample()));
  return diffSnapshots(before, after);
}
