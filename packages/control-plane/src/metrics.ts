import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PolicyStore } from './store/types';
import type { WatchOutcome } from './watch/watch-hub';

export interface ControlPlaneMetrics {
  registry: Registry;
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void;
  watchAnswered(outcome: WatchOutcome): void;
  fanOut(answered: number, seconds: number): void;
  policyExpired(): void;
}

export interface MetricSources {
  store: PolicyStore;
  pendingWatches: () => number;
  configStreams: () => number;
  /** Counts of fresh and stale nodes. */
  nodes: () => Promise<{ fresh: number; stale: number }>;
}

/** The control plane's own metrics at `/metrics`, in a registry per instance (tests run several in one process). */
export function createMetrics(sources: MetricSources): ControlPlaneMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requestDuration = new Histogram({
    name: 'hfi_control_plane_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (held watches are counted in hfi_control_plane_watch_answers_total instead)',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const watchAnswers = new Counter({
    name: 'hfi_control_plane_watch_answers_total',
    help: 'Held watches answered, by why: change, timeout or shutdown',
    labelNames: ['reason'] as const,
    registers,
  });
  const fanOut = new Histogram({
    name: 'hfi_control_plane_watch_fanout_duration_seconds',
    help: 'Time to hand one change to every held watch (writing the answers, not their delivery)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const expired = new Counter({
    name: 'hfi_control_plane_policies_expired_total',
    help: 'Policies this process deleted because every rule reached its deadline',
    registers,
  });
  new Gauge({
    name: 'hfi_control_plane_policies',
    help: 'Policies in the store',
    registers,
    async collect() {
      this.set((await sources.store.list()).records.length);
    },
  });
  new Gauge({
    name: 'hfi_control_plane_revision',
    help: 'Current store revision',
    registers,
    collect() {
      this.set(sources.store.currentRevision());
    },
  });
  new Gauge({
    name: 'hfi_control_plane_pending_watches',
    help: 'Watches held on this process waiting for a change',
    registers,
    collect() {
      this.set(sources.pendingWatches());
    },
  });
  new Gauge({
    name: 'hfi_control_plane_config_streams',
    help: 'Open GET /v1/config/stream connections',
    registers,
    collect() {
      this.set(sources.configStreams());
    },
  });
  new Gauge({
    name: 'hfi_control_plane_nodes',
    help: 'Sidecar instances known from their watch requests, by state (fresh or stale)',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const counts = await sources.nodes();
      this.set({ state: 'fresh' }, counts.fresh);
      this.set({ state: 'stale' }, counts.stale);
    },
  });
  return {
    registry,
    observeRequest(method, route, statusCode, seconds) {
      requestDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
    },
    watchAnswered(outcome) {
      watchAnswers.inc({ reason: outcome });
    },
    fanOut(_answered, seconds) {
      fanOut.observe(seconds);
    },
    policyExpired() {
      expired.inc();
    },
  };
}
