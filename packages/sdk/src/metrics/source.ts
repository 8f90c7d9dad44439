import type { Snapshot } from './types';

/** Where snapshots come from: sidecar admin endpoints, the Kubernetes API's pod proxy, or a Prometheus server. */
export interface MetricSource {
  /** Scrapes every target once. Fails only when no target could be read; per-target failures are in `error`. */
  snapshot(): Promise<Snapshot>;
  /** One line for messages, e.g. `direct: http://127.0.0.1:15000, …`. */
  describe(): string;
  close?(): Promise<void>;
}
