import { InFlight } from './in-flight';

describe('InFlight', () => {
  it('resolves drained() only when the last exchange leaves', async () => {
    const inFlight = new InFlight();
    inFlight.enter();
    inFlight.enter();
    let drained = false;
    const done = inFlight.drained().then(() => {
      drained = true;
    });
    inFlight.leave();
    await Promise.resolve();
    expect(drained).toBe(false);
    expect(inFlight.size).toBe(1);
    inFlight.leave();
    await done;
    expect(drained).toBe(true);
    expect(inFlight.size).toBe(0);
  });

  it('is drained at once when nothing is in flight, and an extra leave does not go below zero', async () => {
    const inFlight = new InFlight();
    inFlight.leave();
    expect(inFlight.size).toBe(0);
    await expect(inFlight.drained()).resolves.toBeUndefined();
    inFlight.enter();
    expect(inFlight.size).toBe(1);
  });
});
