import type { Logger } from 'pino';
import { policyDeadlineMs } from '../policy/records';
import type { PolicyStore } from '../store/types';

/** Node's setTimeout limit; a later deadline is reached in several hops. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Deletes a policy once every one of its rules is past its deadline. One timer for the earliest deadline, re-armed
 * after every change (including changes another replica made). Deletes are conditional on the revision that was
 * seen expiring, so a policy rewritten meanwhile survives, and replicas racing to delete it do no harm.
 */
export class Expirer {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private runAgain = false;
  private stopped = false;

  constructor(
    private readonly store: PolicyStore,
    private readonly log: Logger,
    private readonly onExpired: (name: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Removes what already expired (e.g. while the process was down), then keeps watching. */
  async start(): Promise<void> {
    this.unsubscribe = this.store.onChange(() => {
      void this.sweep();
    });
    await this.sweep();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
  }

  /** Deletes everything due and re-arms the timer; concurrent calls collapse into one extra pass. */
  sweep(): Promise<void> {
    if (this.running) {
      this.runAgain = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.runAgain = false;
          await this.pass();
        } while (this.runAgain && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    let next = Number.POSITIVE_INFINITY;
    try {
      const snapshot = await this.store.list();
      const nowMs = this.now();
      for (const record of snapshot.records) {
        const deadline = policyDeadlineMs(record);
        if (deadline === null) continue;
        if (deadline > nowMs) {
          next = Math.min(next, deadline);
          continue;
        }
        const name = record.policy.metadata.name;
        if (await this.store.delete(name, { ifRevision: record.revision })) {
          this.log.info(
            { component: 'expiry', policy_name: name, deadline: new Date(deadline).toISOString() },
            'policy expired',
          );
          this.onExpired(name);
        }
      }
    } catch (err) {
      // The store is unreachable; try again shortly rather than forget the deadlines.
      this.log.warn({ component: 'expiry', err }, 'expiry sweep failed');
      next = this.now() + 1000;
    }
    this.arm(next);
  }

  private arm(deadlineMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || !Number.isFinite(deadlineMs)) return;
    const delay = Math.min(Math.max(deadlineMs - this.now(), 0), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sweep();
    }, delay);
    this.timer.unref();
  }
}
