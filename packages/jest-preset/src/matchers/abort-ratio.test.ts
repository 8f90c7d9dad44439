/// <reference path="../../types/jest.d.ts" />
// toHaveAbortRatio: the exact binomial range from the SDK, and a message with n, k, p̂ and the interval.
import { expectedRange, proportionInterval } from '@hfi/sdk';
import { failureMessage, tableRow, usageError } from '../__fixtures__/assertion-failure';
import { FixtureSidecar, windowDelta } from '../__fixtures__/sidecar-stats';
import { hfiMatchers } from './index';

expect.extend(hfiMatchers);

/** k aborts spread over two sidecars, as a 2-replica service would show them. */
function aborted(k: number) {
  const a = new FixtureSidecar('frontend-a');
  const b = new FixtureSidecar('frontend-b');
  return windowDelta([a, b], () => {
    a.abort(Math.ceil(k / 2));
    b.abort(Math.floor(k / 2));
  });
}

const fixed = (x: number) => Number(x.toFixed(4)).toString();

describe('toHaveAbortRatio', () => {
  it('passes for a count inside the exact binomial range and fails just outside it', async () => {
    const range = expectedRange(200, 0.3, 0.99);
    await expect(aborted(range.low)).toHaveAbortRatio(0.3, { requests: 200 });
    await expect(aborted(range.high)).toHaveAbortRatio(0.3, { requests: 200 });
    await failureMessage(() => expect(aborted(range.low - 1)).toHaveAbortRatio(0.3, { requests: 200 }));
    await failureMessage(() => expect(aborted(range.high + 1)).toHaveAbortRatio(0.3, { requests: 200 }));
  });

  it('prints n, k, p̂, the interval, the accepted range and the table', async () => {
    const message = await failureMessage(() =>
      expect(aborted(30)).toHaveAbortRatio(0.6, { requests: 100, confidence: 0.95 }),
    );
    const ci = proportionInterval(30, 100, 0.95);
    const range = expectedRange(100, 0.6, 0.95);
    expect(message).toContain('expect(received).toHaveAbortRatio(p, options)');
    expect(message).toContain('Expected abort ratio: 0.6 (95% confidence)');
    expect(message).toContain(
      `Received: 30 aborts of n = 100 requests, p̂ = 0.3, 95% interval for p: [${fixed(ci.low)}, ${fixed(ci.high)}]`,
    );
    expect(message).toContain(`Accepted for p = 0.6 and n = 100: ${range.low}..${range.high} aborts`);
    expect(tableRow(message, 'frontend-a')).toEqual(['frontend-a', '15', '0', '0', '0']);
    expect(tableRow(message, 'total')).toEqual(['total', '30', '0', '0', '0']);
  });

  it('explains more aborts than requests', async () => {
    const message = await failureMessage(() => expect(aborted(12)).toHaveAbortRatio(0.5, { requests: 10 }));
    expect(message).toContain('12 aborts of n = 10 requests, more aborts than requests');
    expect(message).toContain('other traffic went through the sidecars during the window');
  });

  it('.not fails inside the range, worded with "not"', async () => {
    await expect(aborted(30)).not.toHaveAbortRatio(0.6, { requests: 100 });
    const message = await failureMessage(() => expect(aborted(30)).not.toHaveAbortRatio(0.3, { requests: 100 }));
    expect(message).toContain('Expected abort ratio: not 0.3 (99% confidence)');
  });

  it('works as an asymmetric matcher', () => {
    expect({ frontend: aborted(30) }).toEqual({ frontend: expect.toHaveAbortRatio(0.3, { requests: 100 }) });
    expect(aborted(30)).not.toEqual(expect.toHaveAbortRatio(0.9, { requests: 100 }));
  });

  it('rejects percentages, a missing request count and bad confidences with hints', async () => {
    const percent = await usageError(() => expect(aborted(3)).toHaveAbortRatio(30, { requests: 10 }));
    expect(percent.message).toContain('p must be a probability between 0 and 1 (for 30% write 0.3)');
    const noRequests = await usageError(() => expect(aborted(3)).toHaveAbortRatio(0.3, {}));
    expect(noRequests.message).toContain('options.requests is required');
    const confidence = await usageError(() =>
      expect(aborted(3)).toHaveAbortRatio(0.3, { requests: 10, confidence: 99 }),
    );
    expect(confidence.message).toContain('options.confidence must be between 0 and 1');
  });
});
