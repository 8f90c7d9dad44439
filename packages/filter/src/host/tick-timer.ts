// The tick timer of one root context, as Envoy has it: proxy_set_tick_period_milliseconds replaces the running timer
// with one armed for the new period; after each on_tick the timer is armed again for the period, counted from the
// end of the callback. Two things differ on Node, where all the VMs of a process (every worker of every local
// sidecar) share one event loop, and the timer keeps an absolute due time to make up for them:
// - Node checks timers once per loop iteration, after all the I/O callbacks of the previous one; under load (the
//   other streams the loop proxies) a due tick waits for all of them. The VMs therefore run the due ticks of the
//   loop themselves as they are driven through callbacks (`TickTimers.poll`: at every new stream and upstream
//   dispatch, at one VM callback in four), as an Envoy worker, which has a thread of its own, would have run its
//   timer while the other workers' traffic was handled.
// - Node arms a timer from the loop's cached time, so it can fire before the period has passed; the timer then waits
//   out the rest instead of ticking early.

// The global `performance` is an accessor, and each read of it costs about as much as the clock itself.
import { performance } from 'node:perf_hooks';

export interface TimerApi {
  /** Monotonic milliseconds. */
  now(): number;
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const nodeTimers: TimerApi = {
  now: () => performance.now(),
  set: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    // A tick timer alone does not keep the process alive, as the VM's owner decides when it ends.
    timer.unref();
    return timer;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const POLL_EVERY = 4;
/**
 * A due time at least this far beyond the last clock reading is left to the Node timer, and poll() reads the clock
 * only at one call in FAR_POLL_EVERY: a plugin that keeps a long timer armed (a watch's answer deadline) would
 * otherwise pay a clock read on every callback of every request for a tick that is seconds away.
 */
const FAR_MS = 50;
const FAR_POLL_EVERY = 64;

/** The tick timers that share one event loop. */
export class TickTimers {
  /** This thread's event loop: the VMs' default. */
  static readonly loop = new TickTimers();

  /** Armed timers only. */
  private readonly armed = new Set<TickTimer>();
  /** The earliest due time of the armed timers; NaN once a timer changed, until runDue looks again. */
  private earliest = Number.POSITIVE_INFINITY;
  private polls = 0;
  /** The clock at its last reading here (runDue, or a timer armed), and the polls since then while due is far. */
  private lastNow = Number.NEGATIVE_INFINITY;
  private farPolls = 0;

  constructor(readonly api: TimerApi = nodeTimers) {}

  /** Runs every due tick now, oldest due first; a timer whose VM is busy in a callback stays due. */
  runDue(): void {
    if (this.armed.size === 0) return;
    const now = this.api.now();
    this.lastNow = now;
    this.farPolls = 0;
    // The usual answer, nothing due, must cost a compare.
    if (Number.isNaN(this.earliest)) this.earliest = this.findEarliest();
    if (now < this.earliest) return;
    const due: TickTimer[] = [];
    for (const timer of this.armed) if (timer.isDue(now)) due.push(timer);
    if (due.length > 1) due.sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0));
    for (const timer of due) timer.runIfDue(now);
  }

  /**
   * runDue for the hot paths (every VM callback, every new request), where reading the clock each time is a
   * measurable share of a request: at one call in `every` while the earliest due time is within FAR_MS of the last
   * reading, at one call in FAR_POLL_EVERY beyond that. Under load the calls come far more often than ticks matter;
   * without load the Node timer fires on time by itself.
   */
  poll(every: number = POLL_EVERY): void {
    if (this.armed.size === 0) return;
    if (Number.isNaN(this.earliest)) this.earliest = this.findEarliest();
    if (this.earliest - this.lastNow >= FAR_MS) {
      if (++this.farPolls < FAR_POLL_EVERY) return;
    } else if (++this.polls % every !== 0) return;
    this.runDue();
  }

  /** @internal `now` is the clock reading an armed timer took its due time from. */
  track(timer: TickTimer, armed: boolean, now?: number): void {
    if (armed) this.armed.add(timer);
    else this.armed.delete(timer);
    if (now !== undefined) this.lastNow = now;
    this.earliest = Number.NaN;
  }

  private findEarliest(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const timer of this.armed) earliest = Math.min(earliest, timer.dueAt ?? Number.POSITIVE_INFINITY);
    return earliest;
  }
}

export interface TickTimerOptions {
  /** Calls on_tick. */
  onTick(): void;
  /** Whether on_tick may run now (false while the VM is inside another callback). */
  canTick(): boolean;
  /** The timers on the same event loop; default `TickTimers.loop`. */
  timers?: TickTimers;
}

export class TickTimer {
  private period = 0;
  private due?: number;
  private handle?: unknown;
  private readonly timers: TickTimers;

  constructor(private readonly options: TickTimerOptions) {
    this.timers = options.timers ?? TickTimers.loop;
  }

  /** The period in ms (0: stopped). */
  get periodMs(): number {
    return this.period;
  }

  /** When the next tick is due (the API's monotonic ms), or undefined while stopped. */
  get dueAt(): number | undefined {
    return this.due;
  }

  /** proxy_set_tick_period_milliseconds: replaces the running timer; 0 stops it. */
  setPeriod(ms: number): void {
    this.period = ms;
    this.disarm();
    if (ms > 0) this.arm();
  }

  stop(): void {
    this.period = 0;
    this.disarm();
  }

  isDue(now: number): boolean {
    return this.due !== undefined && now >= this.due;
  }

  /** Runs on_tick if the tick is due and the VM can take it; true when it ran. */
  runIfDue(now: number = this.timers.api.now()): boolean {
    if (!this.isDue(now) || !this.options.canTick()) return false;
    this.disarm();
    this.options.onTick();
    // Armed again from the end of on_tick, for the period in force then (on_tick may have changed it).
    this.disarm();
    if (this.period > 0) this.arm();
    return true;
  }

  private arm(): void {
    const now = this.timers.api.now();
    this.due = now + this.period;
    this.schedule(this.period);
    this.timers.track(this, true, now);
  }

  private schedule(ms: number): void {
    this.handle = this.timers.api.set(() => this.fired(), ms);
  }

  private fired(): void {
    this.handle = undefined;
    if (this.due === undefined) return;
    const now = this.timers.api.now();
    if (now < this.due) {
      this.schedule(Math.max(1, Math.ceil(this.due - now)));
      return;
    }
    // The event loop never fires a timer inside a callback, but should the VM be busy, it takes the tick at its next
    // callback or at the next try.
    if (!this.runIfDue(now)) this.schedule(1);
  }

  private disarm(): void {
    if (this.handle !== undefined) this.timers.api.clear(this.handle);
    this.handle = undefined;
    this.due = undefined;
    this.timers.track(this, false);
  }
}
