// How long each write of a window's policy asks the control plane to keep it. A crashed test must leave no fault
// behind, so every write carries duration_seconds (the server's deadline is last write + duration), and a window
// longer than its lease renews it by writing again.

export const DEFAULT_LEASE_MS = 30_000;
/** Never more than this on top of a lease: how long a fault may outlive a crashed test beyond the lease. */
const MAX_MARGIN_MS = 5_000;

export interface LeaseStep {
  /** `duration_seconds` for this write. */
  durationSeconds: number;
  /** Whether the lease, not the window's end, bounds this write: the window must write again before it runs out. */
  renew: boolean;
}

/**
 * The duration for a write made `remainingMs` before the window ends. When the lease bounds it, a margin covers a
 * renewal that runs late on a busy machine. When the window's end bounds it, none is needed: the write happens
 * after the window began, so the server's deadline (write time + duration) is never before the window's end, and
 * rounding up to whole seconds overshoots by less than one.
 */
export function leaseStep(remainingMs: number, leaseMs: number): LeaseStep {
  if (remainingMs <= leaseMs) return { durationSeconds: Math.max(1, Math.ceil(remainingMs / 1000)), renew: false };
  const marginMs = Math.min(MAX_MARGIN_MS, leaseMs / 2);
  return { durationSeconds: Math.ceil((leaseMs + marginMs) / 1000), renew: true };
}

/** Renew well before the lease ends: three tries fit in one lease. */
export function renewalIntervalMs(leaseMs: number): number {
  return Math.max(250, Math.floor(leaseMs / 3));
}
