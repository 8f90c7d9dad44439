// Type test for Vitest: checked by `tsc -p types/__tests__/vitest` (see src/typings.test.ts).

import { hfi, hfiMatchers, service } from '@hfi/jest-preset';
import type { FaultDelta } from '@hfi/sdk';
import { expect } from 'vitest';

expect.extend(hfiMatchers);

export async function usage(delta: FaultDelta): Promise<void> {
  const win = await hfi.openFaultWindow({
    selector: service('frontend').selector,
    abort: { httpStatus: 503 },
    percentage: 100,
    duration: '30s',
  });
  await expect(win).toHaveInjectedAborts(3);
  await expect(win).toHaveInjectedAborts(expect.any(Number));
  await expect(win).not.toHaveInjectedDelays(0);
  await expect(win).toHaveInjectedFaults({ aborts: 3, delays: expect.any(Number) });
  await expect(win).toHaveDelayHistogram({ count: 2, sumMs: expect.closeTo(310, 0), buckets: { '250': 2, '+Inf': 2 } });
  await expect(win).toHaveAbortRatio(0.3, { requests: 200, confidence: 0.99 });
  await expect(win).toHaveNoInjectedFaults();
  await expect(win).toBeAppliedOnAllTargets({ controlPlane: hfi });
  await expect(win.metrics()).resolves.toHaveInjectedAborts(3);
  await expect(delta).toHaveInjectedAborts(3);
  expect({ frontend: delta }).toEqual({ frontend: expect.toHaveInjectedAborts(3) });
  expect([delta]).toEqual([expect.toHaveDelayHistogram({ count: 2 })]);

  // @ts-expect-error a count is a number, not a string
  await expect(win).toHaveInjectedAborts('3');
  // @ts-expect-error toHaveAbortRatio needs its options (requests)
  await expect(win).toHaveAbortRatio(0.3);
  // @ts-expect-error no such key: it is `aborts`
  await expect(win).toHaveInjectedFaults({ abort: 3 });
  // @ts-expect-error toHaveNoInjectedFaults takes no argument
  await expect(win).toHaveNoInjectedFaults(1);
}
