import { TickTimer, TickTimers, type TimerApi } from './tick-timer';

/** A fake clock and timer queue: time moves only when a test says so, and due timers then fire in order. */
class FakeTimers implements TimerApi {
  time = 1000;
  private nextHandle = 1;
  readonly pending = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  set(callback: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.pending.set(handle, { at: this.time + ms, callback });
    return handle;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves the clock to `time`, firing every timer due by then (at its own time), as an idle event loop would. */
  advanceTo(time: number): void {
    for (;;) {
      const next = [...this.pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > time) break;
      this.pending.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].callback();
    }
    this.time = time;
  }

  /** Fires the earliest timer without moving the clock: a Node timer armed from the loop's stale cached time. */
  fireEarliestNow(): void {
    const next = [...this.pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
    if (!next) throw new Error('no timer pending');
    this.pending.delete(next[0]);
    next[1].callback();
  }
}

function setup(options: { canTick?: () => boolean; onTick?: (timer: TickTimer) => void } = {}) {
  const fake = new FakeTimers();
  const timers = new TickTimers(fake);
  const ticks: number[] = [];
  const timer: TickTimer = new TickTimer({
    timers,
    canTick: options.canTick ?? (() => true),
    onTick: () => {
      ticks.push(fake.now());
      options.onTick?.(timer);
    },
  });
  return { fake, timers, timer, ticks };
}

describe('TickTimer on a fake clock', () => {
  it('ticks every period, each period counted from the end of the previous on_tick as Envoy re-arms it', () => {
    const { fake, timer, ticks } = setup({
      onTick: () => {
        fake.time += 3; // on_tick takes 3 ms
      },
    });
    timer.setPeriod(10);
    expect(timer.dueAt).toBe(1010);
    fake.advanceTo(1040);
    expect(ticks).toEqual([1010, 1023, 1036]);
    expect(timer.dueAt).toBe(1049);
  });

  it('replaces the running timer when the period changes, and stops at 0', () => {
    const { fake, timer, ticks } = setup();
    timer.setPeriod(100);
    fake.advanceTo(1050);
    timer.setPeriod(20);
    expect(timer.dueAt).toBe(1070);
    fake.advanceTo(1095);
    expect(ticks).toEqual([1070, 1090]);
    timer.setPeriod(0);
    expect(timer.dueAt).toBeUndefined();
    expect(fake.pending.size).toBe(0);
    fake.advanceTo(2000);
    expect(ticks).toHaveLength(2);
  });

  it('arms again with the period on_tick set', () => {
    const { fake, timer, ticks } = setup({ onTick: (t) => t.setPeriod(t.periodMs === 10 ? 25 : 10) });
    timer.setPeriod(10);
    fake.advanceTo(1100);
    expect(ticks).toEqual([1010, 1035, 1045, 1070, 1080]);
  });

  it('waits out the rest of the period when the timer fires early, instead of ticking early', () => {
    const { fake, timer, ticks } = setup();
    timer.setPeriod(10);
    fake.time = 1004;
    fake.fireEarliestNow();
    expect(ticks).toEqual([]);
    expect(timer.dueAt).toBe(1010);
    fake.advanceTo(1010);
    expect(ticks).toEqual([1010]);
  });

  it('runs a due tick on demand before its timer fires, then re-arms from then', () => {
    const { fake, timers, timer, ticks } = setup();
    timer.setPeriod(10);
    fake.time = 1009;
    timers.runDue();
    expect(ticks).toEqual([]);
    fake.time = 1017; // the loop was busy past the due time: the timer has not fired yet
    timers.runDue();
    expect(ticks).toEqual([1017]);
    expect(timer.dueAt).toBe(1027);
    // The timer that was armed for 1010 is gone, so nothing ticks twice.
    fake.advanceTo(1026);
    expect(ticks).toEqual([1017]);
  });

  it('runs the due ticks of every timer on the loop, oldest due first, leaving a busy one due', () => {
    const fake = new FakeTimers();
    const timers = new TickTimers(fake);
    const order: string[] = [];
    let bBusy = true;
    const make = (name: string, canTick: () => boolean) =>
      new TickTimer({ timers, canTick, onTick: () => order.push(`${name}@${fake.now()}`) });
    const a = make('a', () => true);
    const b = make('b', () => !bBusy);
    const c = make('c', () => true);
    c.setPeriod(5);
    a.setPeriod(8);
    b.setPeriod(3);
    fake.time = 1006;
    timers.runDue();
    expect(order).toEqual(['c@1006']);
    expect(b.dueAt).toBe(1003);
    fake.time = 1009;
    bBusy = false;
    timers.runDue();
    expect(order).toEqual(['c@1006', 'b@1009', 'a@1009']);
  });

  it('poll() runs due ticks at one call in four, and a due time moved earlier is seen at once', () => {
    const { fake, timers, timer, ticks } = setup();
    timer.setPeriod(10);
    fake.time = 1012;
    const pollsUntilTick = () => {
      const before = ticks.length;
      for (let i = 1; i <= 8; i++) {
        timers.poll();
        if (ticks.length > before) return i;
      }
      return 0;
    };
    const first = pollsUntilTick();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(4);
    expect(ticks).toEqual([1012]);
    // Re-armed from 1012 for 10 ms; a shorter period replaces it, and the next due time is 1015.
    timer.setPeriod(3);
    fake.time = 1016;
    expect(pollsUntilTick()).toBe(4);
    expect(ticks).toEqual([1012, 1016]);
  });

  it('poll() leaves a tick far beyond the last clock reading to its timer, reading the clock at one call in 64', () => {
    const { fake, timers, timer, ticks } = setup();
    const now = jest.spyOn(fake, 'now');
    timer.setPeriod(1000); // armed at 1000 (a clock reading), due at 2000
    fake.time = 2500; // due, and the loop too busy for the timer to fire
    now.mockClear();
    let calls = 0;
    while (ticks.length === 0 && calls < 200) {
      timers.poll(1);
      calls++;
    }
    expect(calls).toBe(64);
    expect(ticks).toEqual([2500]);
    // The clock was read once to look, once more to re-arm from the end of on_tick: not at every call.
    expect(now.mock.calls.length).toBeLessThanOrEqual(3);
  });

  it('poll(1) looks at once at a tick due within 50 ms of the last clock reading', () => {
    const { fake, timers, timer, ticks } = setup();
    timer.setPeriod(40);
    fake.time = 1039;
    timers.poll(1);
    expect(ticks).toEqual([]);
    fake.time = 1041;
    timers.poll(1);
    expect(ticks).toEqual([1041]);
  });

  it('stop() disarms it for good', () => {
    const { fake, timers, timer, ticks } = setup();
    timer.setPeriod(5);
    timer.stop();
    expect(timer.periodMs).toBe(0);
    fake.advanceTo(1100);
    timers.runDue();
    expect(ticks).toEqual([]);
  });
});
