import { type AdminServer, createStatsStore, startAdminServer } from '@hfi/filter';
import { envoyStatsPage, zeroHistogram } from './__tests__/envoy-pages';
import { type PageServer, startPageServer, textPage } from './__tests__/page-server';
import { DirectSource } from './direct-source';
import { envoyHistogramFor } from './envoy-histogram';
import { waitForHistogramFlush } from './flush';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
async function served(pageFor: (request: number) => string): Promise<PageServer> {
  let n = 0;
  const s = await startPageServer(textPage(() => pageFor(n++)));
  cleanup.push(() => s.close());
  return s;
}
function direct(url: string): DirectSource {
  const src = new DirectSource([{ url, pod: 'p' }]);
  cleanup.push(() => src.close());
  return src;
}
const values = (n: number): number[] => Array.from({ length: n }, () => 450);

describe('waitForHistogramFlush', () => {
  test('re-snapshots until Δdelays_total equals Δ_count', async () => {
    // Request 0 is the baseline. Requests 1 and 2 show the counter ahead of the histogram; request 3 is flushed.
    const s = await served((i) =>
      envoyStatsPage({ hfi: i === 0 ? {} : { delays: 10, histogram: envoyHistogramFor(values(i >= 3 ? 10 : 4)) } }),
    );
    const src = direct(s.url);
    const before = await src.snapshot();
    const r = await waitForHistogramFlush(src, before, { intervalMs: 5, timeoutMs: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(r.attempts).toBe(3);
    expect(r.delta.delays).toBe(10);
    expect(r.delta.delayHistogram.count).toBe(10);
    expect(r.delta.perPod[0]?.histogramLagging).toBe(false);
    expect(r.delta.notes).toEqual([]);
    expect(r.after.pods[0]?.metrics.delays).toBe(10);
  });

  test('returns at once when nothing lags', async () => {
    const s = await served(() => envoyStatsPage({ hfi: { delays: 0, histogram: zeroHistogram() } }));
    const src = direct(s.url);
    const r = await waitForHistogramFlush(src, await src.snapshot(), { intervalMs: 5 });
    expect(r).toMatchObject({ timedOut: false, attempts: 1 });
  });

  test('gives up after the timeout and says why in the notes', async () => {
    const s = await served((i) => envoyStatsPage({ hfi: i === 0 ? {} : { delays: 5, histogram: zeroHistogram() } }));
    const src = direct(s.url);
    const r = await waitForHistogramFlush(src, await src.snapshot(), { intervalMs: 10, timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.delta.delays).toBe(5);
    expect(r.delta.perPod[0]?.histogramLagging).toBe(true);
    expect(r.delta.notes.join('\n')).toMatch(
      /timed out after \d+ ms waiting for the delay histogram .* on p: Envoy refreshes/,
    );
  });

  test("waits for the local sidecar's periodic stats flush", async () => {
    const store = createStatsStore();
    const delays = store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total');
    const hist = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
    store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
    const admin: AdminServer = await startAdminServer({ stats: store });
    cleanup.push(() => admin.close());
    const src = direct(admin.url);
    const before = await src.snapshot();
    for (let i = 0; i < 7; i++) {
      store.incrementMetric(delays, 1n);
      store.recordMetric(hist, 450n);
    }
    store.startFlushing(200);
    cleanup.push(async () => store.stopFlushing());
    const r = await waitForHistogramFlush(src, before, { intervalMs: 20, timeoutMs: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(r.delta.delayHistogram.count).toBe(7);
    expect(r.delta.delayHistogram.buckets.find((b) => b.le === 500)?.count).toBe(7);
  });
});
