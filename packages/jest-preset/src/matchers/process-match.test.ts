/// <reference path="../../types/jest.d.ts" />
// The shared path of every matcher: wrong subjects and arguments throw hints (HFI_ERR_MATCHER_USAGE) instead of
// failing, extra arguments are rejected, and asymmetric use needs a FaultDelta.
import { usageError } from '../__fixtures__/assertion-failure';
import { FixtureSidecar, windowDelta } from '../__fixtures__/sidecar-stats';
import { hfiMatchers } from './index';

expect.extend(hfiMatchers);

const delta = () => {
  const s = new FixtureSidecar('frontend-local');
  return windowDelta([s], () => {
    s.abort(1);
  });
};

type Call = [name: string, run: (subject: unknown) => unknown];
// Every matcher, called correctly but on the given subject.
const calls: Call[] = [
  ['toHaveInjectedAborts', (s) => expect(s).toHaveInjectedAborts(1)],
  ['toHaveInjectedDelays', (s) => expect(s).toHaveInjectedDelays(1)],
  ['toHaveInjectedFaults', (s) => expect(s).toHaveInjectedFaults({ aborts: 1 })],
  ['toHaveDelayHistogram', (s) => expect(s).toHaveDelayHistogram({ count: 1 })],
  ['toHaveAbortRatio', (s) => expect(s).toHaveAbortRatio(0.5, { requests: 2 })],
  ['toHaveNoInjectedFaults', (s) => expect(s).toHaveNoInjectedFaults()],
];

describe.each(calls)('%s', (name, run) => {
  it('throws a hint for a subject that is neither a window nor a FaultDelta', async () => {
    const err = await usageError(() => run({ aborts: 1 }));
    expect(err.message).toContain(`expect(received).${name}(`);
    expect(err.message).toContain(
      'received value must be a fault window (from hfi.openFaultWindow) or a FaultDelta (from win.metrics(), win.close() or diffSnapshots)',
    );
    expect(err.message).toContain('Received has type:  Object');
    expect(err.details.matcher).toBe(name);
  });

  it('throws a hint for a Promise (a missing await)', async () => {
    const pending = Promise.resolve(delta());
    const err = await usageError(() => run(pending));
    expect(err.message).toContain('received a Promise. Await it first');
    expect(err.message).toContain(`.resolves.${name}(`);
  });
});

it('rejects extra arguments', async () => {
  const err = await usageError(() =>
    // @ts-expect-error one argument only
    expect(delta()).toHaveInjectedAborts(1, 2),
  );
  expect(err.message).toContain('toHaveInjectedAborts takes at most 1 argument (expected), got 2: 1, 2');
  const none = await usageError(() =>
    // @ts-expect-error no argument
    expect(delta()).toHaveNoInjectedFaults(0),
  );
  expect(none.message).toContain('toHaveNoInjectedFaults takes no arguments, got 1: 0');
});

it('rejects counts that are not non-negative integers, and a missing count', async () => {
  for (const bad of ['3', -1, 1.5, Number.NaN, undefined]) {
    const err = await usageError(() =>
      // @ts-expect-error deliberately wrong
      expect(delta()).toHaveInjectedAborts(bad),
    );
    expect(err.message).toContain(
      'the expected number of aborts must be a non-negative integer or an asymmetric matcher',
    );
  }
});

it('rejects toHaveInjectedFaults without aborts or delays, or with unknown keys', async () => {
  const empty = await usageError(() => expect(delta()).toHaveInjectedFaults({}));
  expect(empty.message).toContain('need aborts, delays or both');
  const unknown = await usageError(() =>
    // @ts-expect-error `abort` is not a key
    expect(delta()).toHaveInjectedFaults({ abort: 1 }),
  );
  expect(unknown.message).toContain('unknown key abort (allowed: aborts, delays)');
});

it('toBeAppliedOnAllTargets wants the window itself, not a FaultDelta or anything else', async () => {
  const err = await usageError(() => expect(delta()).toBeAppliedOnAllTargets());
  expect(err.message).toContain('toBeAppliedOnAllTargets needs the fault window itself, not a FaultDelta');
  const other = await usageError(() => expect('hfi-window-1').toBeAppliedOnAllTargets());
  expect(other.message).toContain('received value must be a fault window (from hfi.openFaultWindow).');
  expect(other.message).toContain('Received has type:  string');
});

it('usage errors are thrown the same way under .not', async () => {
  const err = await usageError(() => expect(7).not.toHaveInjectedAborts(1));
  expect(err.message).toContain('expect(received).not.toHaveInjectedAborts(expected)');
});
