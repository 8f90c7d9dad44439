/// <reference path="../../types/jest.d.ts" />
// toHaveDelayHistogram on deltas of stats pages rendered by the sidecar's Envoy-faithful store (libcircllhist
// bucket edges and midpoint sums, histograms visible only after a flush).
import { envoyBucketFor, envoyHistogramSum } from '@hfi/sdk';
import { failureMessage, tableRow, usageError } from '../__fixtures__/assertion-failure';
import { FixtureSidecar, windowDelta } from '../__fixtures__/sidecar-stats';
import { hfiMatchers } from './index';

expect.extend(hfiMatchers);

function delayed(ms: number, times: number, flushed = true) {
  const frontend = new FixtureSidecar('frontend-local');
  return windowDelta([frontend], () => {
    frontend.delay(ms, times);
    if (flushed) frontend.flush();
  });
}

describe('toHaveDelayHistogram', () => {
  it("passes on count, Envoy's midpoint sum and cumulative buckets", async () => {
    const delta = delayed(150, 10);
    const bucket = String(envoyBucketFor(150));
    await expect(delta).toHaveDelayHistogram({
      count: 10,
      sumMs: envoyHistogramSum(Array(10).fill(150)),
      buckets: { '100': 0, [bucket]: 10, '+Inf': 10 },
    });
    await expect(delta).toHaveDelayHistogram({ sumMs: expect.closeTo(1550, 0) });
  });

  it('fails with both objects and the table', async () => {
    const message = await failureMessage(() =>
      expect(delayed(150, 10)).toHaveDelayHistogram({ count: 10, buckets: { '100': 10 } }),
    );
    expect(message).toContain('Expected histogram: {"buckets": {"100": 10}, "count": 10}');
    expect(message).toContain('Received histogram: {"buckets": {"100": 0}, "count": 10}');
    expect(tableRow(message, 'frontend-local')).toEqual(['frontend-local', '0', '10', '10', '1550']);
  });

  it('says the flush has not happened yet when the histogram is behind delays_total', async () => {
    const message = await failureMessage(() => expect(delayed(150, 4, false)).toHaveDelayHistogram({ count: 4 }));
    expect(message).toContain('Received histogram: {"count": 0}');
    expect(tableRow(message, 'frontend-local')).toEqual(['frontend-local', '0', '4', '0', '0', 'histogram lagging']);
    expect(message).toContain('the delay histogram is behind delays_total on frontend-local');
    expect(message).toContain('that flush has not happened yet');
    expect(message).not.toContain('no fault was injected');
  });

  it('names the bounds when a bucket does not exist', async () => {
    const message = await failureMessage(() => expect(delayed(150, 1)).toHaveDelayHistogram({ buckets: { '300': 1 } }));
    expect(message).toContain('Received histogram: {"buckets": {"300": undefined}}');
    expect(message).toMatch(/no bucket with le = 300; the bounds are 0\.5, 1, 5, .* 3600000, \+Inf/);
  });

  it('.not passes on a different histogram and fails on the same one', async () => {
    await expect(delayed(150, 3)).not.toHaveDelayHistogram({ count: 2 });
    const message = await failureMessage(() => expect(delayed(150, 3)).not.toHaveDelayHistogram({ count: 3 }));
    expect(message).toContain('Expected histogram: not {"count": 3}');
  });

  it('works as an asymmetric matcher', () => {
    expect({ frontend: delayed(40, 2) }).toEqual({
      frontend: expect.toHaveDelayHistogram({ count: 2, buckets: { '50': 2 } }),
    });
    expect(delayed(40, 2)).not.toEqual(expect.toHaveDelayHistogram({ count: 3 }));
  });

  it('rejects bucket keys that are not bounds and expectations with nothing to check', async () => {
    const badKey = await usageError(() => expect(delayed(150, 1)).toHaveDelayHistogram({ buckets: { le250: 1 } }));
    expect(badKey.message).toContain('buckets key "le250" is not a bucket bound');
    const empty = await usageError(() => expect(delayed(150, 1)).toHaveDelayHistogram({}));
    expect(empty.message).toContain('the expected histogram needs count, sumMs or buckets');
    const unknown = await usageError(() =>
      // @ts-expect-error `sum` is not a key: it is sumMs
      expect(delayed(150, 1)).toHaveDelayHistogram({ sum: 1 }),
    );
    expect(unknown.message).toContain('unknown key sum');
  });
});
