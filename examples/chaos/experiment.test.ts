// The experiment runner's verdicts, in process, on a real local mesh (control plane, sidecars with the real
// plugin.wasm, the shop), plus the pure parts: traffic summaries, tolerances, the report's histogram lines.
import { DirectSource, HfiClient, type HistogramDelta } from '@hfi/sdk';
import { type Experiment, runExperiment } from './experiment';
import { checkHypothesis, p99Below, successRateAtLeast } from './hypothesis';
import { type LocalShopMesh, startLocalShopMesh } from './local-mesh';
import { Progress } from './progress';
import { exitCodeFor, formatHistogram } from './report';
import { percentile, summarize } from './traffic';

jest.setTimeout(120_000);

describe('runExperiment on the local shop mesh', () => {
  let mesh: LocalShopMesh;
  let metrics: DirectSource;
  let hfi: HfiClient;
  const written: string[] = [];
  const progress = new Progress({ write: (t: string) => written.push(t), isTTY: false });

  beforeAll(async () => {
    mesh = await startLocalShopMesh({ namespace: 'shop-verdicts' });
    metrics = new DirectSource(mesh.statsTargets);
    hfi = new HfiClient({ controlPlane: mesh.controlPlaneUrl, metrics, ackTimeoutMs: 20_000, flushTimeoutMs: 20_000 });
  }, 120_000);

  afterAll(async () => {
    await hfi?.close();
    await metrics?.close();
    await mesh?.close();
  });

  const experiment = (over: Partial<Experiment>): Experiment => ({
    title: 'test',
    hypothesis: { title: 'page up', probes: [successRateAtLeast(0.99), p99Below(5000)], minRequests: 5 },
    steadyStateRequests: 10,
    warmupRequests: 0,
    concurrency: 2,
    steps: [],
    ...over,
  });
  const run = (e: Experiment) =>
    runExperiment(e, { hfi, url: `${mesh.frontendUrl}/shop`, progress, signal: new AbortController().signal });

  it('a window whose match hits no traffic makes the experiment inconclusive (exit 2), not a pass', async () => {
    const report = await run(
      experiment({
        steps: [
          {
            id: 'miss',
            title: 'abort a path nobody calls',
            fault: {
              selector: { service: 'catalog', namespace: mesh.namespace },
              match: { path: { prefix: '/nothing-calls-this' } },
              abort: { httpStatus: 503 },
              percentage: 100,
            },
            trafficMs: 500,
          },
        ],
      }),
    );
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason).toMatch(/window 1 \(abort a path nobody calls\) injected no fault, so it proves nothing/);
    expect(report.windows[0]).toMatchObject({ injected: 0, targets: [{ pod: 'catalog-local', instances: 2 }] });
    expect(report.windows[0]?.traffic.sent).toBeGreaterThan(0);
    expect(exitCodeFor(report.verdict)).toBe(2);
    // Rolled back: no policy is left on the control plane.
    expect((await hfi.listPolicies()).policies).toEqual([]);
  });

  it('a hypothesis that does not hold before any fault stops the experiment before it injects anything', async () => {
    const step = {
      id: 'never',
      title: 'never opened',
      fault: { selector: { service: 'catalog' }, abort: { httpStatus: 500 }, percentage: 100 },
      trafficMs: 500,
    };
    const report = await run(
      experiment({
        hypothesis: { title: 'impossible', probes: [successRateAtLeast(1.5)], minRequests: 1 },
        steps: [step],
      }),
    );
    expect(report.verdict).toBe('not-steady');
    expect(report.windows).toEqual([]);
    expect(report.skipped).toEqual([step]);
    expect(report.after).toBeUndefined();
    expect(exitCodeFor(report.verdict)).toBe(1);
  });

  it('a window that cannot open (no sidecar matches) is reported with the SDK error, and the rest is skipped', async () => {
    const fault = { selector: { service: 'payments' }, abort: { httpStatus: 500 }, percentage: 100 };
    const report = await run(
      experiment({
        steps: [
          { id: 'nobody', title: 'fault a service that does not exist', fault, trafficMs: 200 },
          { id: 'later', title: 'later step', fault, trafficMs: 200 },
        ],
      }),
    );
    expect(report.verdict).toBe('inconclusive');
    expect(report.windows[0]?.error).toMatch(/HFI_ERR_NO_TARGETS: no live sidecar matches selector/);
    expect(report.skipped.map((s) => s.id)).toEqual(['later']);
  });
});

describe('traffic summaries and tolerances', () => {
  it('percentile is nearest-rank over sorted latencies', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('summarize counts successes, fallback pages and failures by status', () => {
    const t = summarize([
      { status: 200, ms: 10, source: 'catalog' },
      { status: 200, ms: 20, source: 'fallback' },
      { status: 502, ms: 30, source: 'none' },
      { status: 0, ms: 40, error: 'timeout' },
    ]);
    expect(t).toMatchObject({ sent: 4, ok: 2, degraded: 1, failed: 2, successRate: 0.5, maxMs: 40 });
    expect(t.statuses).toEqual({ '0': 1, '200': 2, '502': 1 });
    expect(t.errors).toEqual({ timeout: 1 });
  });

  it('checkHypothesis reports the received value with the tolerance, and refuses thin traffic', () => {
    const traffic = summarize(Array.from({ length: 4 }, () => ({ status: 200, ms: 700 })));
    const h = { title: 't', probes: [successRateAtLeast(0.99), p99Below(500)], minRequests: 3 };
    expect(checkHypothesis(h, traffic)).toEqual({
      ok: false,
      results: [
        { probe: 'frontend success rate', ok: true, value: 1, expected: '≥ 99.0%', received: '100.0%' },
        { probe: 'frontend p99 latency', ok: false, value: 700, expected: '< 500 ms', received: '700 ms' },
      ],
    });
    const thin = checkHypothesis({ ...h, minRequests: 10 }, summarize([{ status: 200, ms: 1 }]));
    expect(thin.ok).toBe(false);
    expect(thin.insufficient).toBe('only 1 requests completed, fewer than the 10 a verdict needs');
  });
});

describe('the report', () => {
  const histogram = (buckets: [number, number][], sum: number): HistogramDelta => {
    const bs = buckets.map(([le, count]) => ({ le, count }));
    const total = bs.at(-1)?.count ?? 0;
    return { buckets: bs, sum, count: total, quantile: () => Number.NaN };
  };
  const delta = (h: HistogramDelta) => ({
    aborts: 0,
    delays: h.count,
    delayHistogram: h,
    perPod: [],
    missingMetrics: [],
    scrapeErrors: [],
    notes: [],
  });

  it('shows the buckets around the counts, +Inf, and histogram_quantile estimates', () => {
    const h = histogram(
      [
        [50, 0],
        [100, 0],
        [250, 10],
        [500, 10],
        [Number.POSITIVE_INFINITY, 10],
      ],
      1550,
    );
    const lines = formatHistogram(delta(h), 150).map((l) => l.trim().replace(/ +/g, ' '));
    expect(lines.slice(1, 4)).toEqual(['le="100" 0', 'le="250" 10', 'le="+Inf" 10']);
    // Prometheus interpolates inside (100, 250]: rank 5 of 10 → 175, rank 9.9 → 248.5.
    expect(lines[4]).toBe(
      'count 10 · sum 1550 ms · p50 175 ms · p99 249 ms (histogram_quantile over the bucket deltas)',
    );
    expect(lines[5]).toBe('a 150 ms delay lands in le="250"; p50 and p99 are linear estimates inside that bucket');
    const onBound = formatHistogram(delta(h), 100).at(-1)?.trim();
    expect(onBound).toMatch(
      /^a 100 ms delay lands in le="250", not in le="100": Envoy counts a value equal to a bound/,
    );
  });

  it('prints nothing for an empty histogram', () => {
    expect(formatHistogram(delta(histogram([[Number.POSITIVE_INFINITY, 0]], 0)))).toEqual([]);
  });
});
