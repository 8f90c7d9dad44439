import { type HfiError, isHfiError } from '@hfi/core';
import {
  type AdminServer,
  createStatsStore,
  type EnvoyStatsStore,
  PrometheusServer,
  type StartedPrometheusServer,
  startAdminServer,
} from '@hfi/filter';
import { diffSnapshots } from './delta';
import { parsePodMetrics } from './pod-metrics';
import { PrometheusSource, parsePrometheusDuration } from './prometheus-source';
import type { PodMetrics, Snapshot } from './types';

// A real Prometheus (the `prometheus` binary) scraping real HTTP targets every second: Envoy-faithful admin servers
// (@hfi/filter) whose stats stores hold the hfi families, as the sidecars' :15090 would.

interface Sidecar {
  store: EnvoyStatsStore;
  admin: AdminServer;
  ids: { aborts: number; delays: number; duration: number };
}

async function sidecar(): Promise<Sidecar> {
  const store = createStatsStore();
  const ids = {
    aborts: store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total'),
    delays: store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total'),
    duration: store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds'),
  };
  return { store, admin: await startAdminServer({ stats: store }), ids };
}

function fault(s: Sidecar, aborts: number, delaysMs: number[]): void {
  if (aborts > 0) s.store.incrementMetric(s.ids.aborts, BigInt(aborts));
  for (const ms of delaysMs) {
    s.store.incrementMetric(s.ids.delays, 1n);
    s.store.recordMetric(s.ids.duration, BigInt(ms));
  }
  // Envoy refreshes histograms at its stats flush; flushing here makes the page final before Prometheus reads it.
  s.store.flush();
}

/** What the target itself serves right now, read the way DirectSource reads it. */
function direct(s: Sidecar): PodMetrics {
  const m = parsePodMetrics(s.store.renderPrometheus());
  delete m.related;
  delete m.uptimeSeconds;
  return m;
}

function metricsOf(snapshot: Snapshot, key: string): PodMetrics {
  const sample = snapshot.pods.find((p) => p.pod === key);
  if (sample === undefined) throw new Error(`no ${key} in ${snapshot.pods.map((p) => p.pod).join(', ')}`);
  const m = { ...sample.metrics };
  // Uptime moves between the scrape and now; it is checked on its own.
  delete m.uptimeSeconds;
  return m;
}

async function caught(p: Promise<unknown>): Promise<HfiError> {
  try {
    await p;
  } catch (err) {
    if (isHfiError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('PrometheusSource against a real Prometheus scraping local sidecars', () => {
  let a: Sidecar;
  let b: Sidecar;
  let other: Sidecar;
  let bare: Sidecar;
  let prometheus: StartedPrometheusServer;
  let src: PrometheusSource;
  let noPlugin: AdminServer;
  let downPort: number;

  beforeAll(async () => {
    [a, b, other, bare] = await Promise.all([sidecar(), sidecar(), sidecar(), sidecar()]);
    // A sidecar whose plugin is not loaded: only an old-named metric, none of the hfi families.
    const plain = createStatsStore();
    plain.incrementMetric(plain.defineMetric('counter', 'hfi.faults.aborts_total'), 1n);
    noPlugin = await startAdminServer({ stats: plain });
    // Port 1 is privileged and unused: a released ephemeral port could be taken by a concurrent test.
    downPort = 1;
    fault(a, 5, [120, 450, 3000]);
    fault(b, 2, []);
    fault(other, 50, [40]);
    const target = (s: Sidecar) => `127.0.0.1:${s.admin.port}`;
    prometheus = await new PrometheusServer({
      scrapeInterval: '1s',
      jobs: [
        {
          jobName: 'envoy-stats',
          targets: [target(a)],
          labels: { namespace: 'demo', app: 'frontend', pod: 'frontend-a' },
        },
        {
          jobName: 'envoy-stats',
          targets: [target(b)],
          labels: { namespace: 'demo', app: 'frontend', pod: 'frontend-b' },
        },
        {
          jobName: 'envoy-stats',
          targets: [target(other)],
          labels: { namespace: 'demo', app: 'backend', pod: 'backend-a' },
        },
        {
          jobName: 'envoy-stats',
          targets: [`127.0.0.1:${downPort}`],
          labels: { namespace: 'demo', app: 'mixed', pod: 'down-a' },
        },
        {
          jobName: 'envoy-stats',
          targets: [target({ admin: noPlugin } as Sidecar)],
          labels: { namespace: 'demo', app: 'mixed', pod: 'noplugin-a' },
        },
        // No pod label: grouped by instance.
        { jobName: 'bare', targets: [target(bare)], scrapeInterval: '2s' },
      ],
    }).start();
    src = new PrometheusSource({ url: prometheus.url, selector: '{namespace="demo",app="frontend"}' });
    // The first scrapes land within a scrape interval after Prometheus is ready, target by target; a target not yet
    // tried is unknown to Prometheus, so wait until every one has been.
    const deadline = Date.now() + 60_000;
    const all = new PrometheusSource({ url: prometheus.url });
    while (Object.keys((await all.waitForScrape(Date.now(), { timeoutMs: 60_000 })).lastScrapeMs).length < 6) {
      if (Date.now() > deadline) throw new Error(`Prometheus did not scrape every target: ${prometheus.log}`);
    }
  }, 90_000);

  afterAll(async () => {
    await prometheus?.close();
    await Promise.all([a, b, other, bare].map((s) => s?.admin.close()));
    await noPlugin?.close();
  }, 30_000);

  test('reads the scrape interval from /api/v1/status/config (global and per job)', async () => {
    expect(await src.scrapeIntervalMs()).toBe(1000);
    expect(await src.scrapeIntervalMs(['bare'])).toBe(2000);
    expect(await new PrometheusSource({ url: prometheus.url, scrapeIntervalMs: 7000 }).scrapeIntervalMs()).toBe(7000);
  });

  test('a snapshot holds exactly what each selected target serves, grouped by the pod label', async () => {
    const snap = await src.snapshot();
    expect(snap.pods.map((p) => p.pod)).toEqual(['demo/frontend-a', 'demo/frontend-b']);
    expect(metricsOf(snap, 'demo/frontend-a')).toEqual(direct(a));
    expect(metricsOf(snap, 'demo/frontend-b')).toEqual(direct(b));
    expect(metricsOf(snap, 'demo/frontend-a')).toMatchObject({ aborts: 5, delays: 3 });
    expect(metricsOf(snap, 'demo/frontend-a').delayHistogram?.buckets).toHaveLength(20);
    const sample = snap.pods[0];
    expect(sample?.labels).toMatchObject({ namespace: 'demo', app: 'frontend', pod: 'frontend-a', job: 'envoy-stats' });
    expect(sample?.labels?.le).toBeUndefined();
    expect(sample?.metrics.uptimeSeconds).toEqual(expect.any(Number));
    expect(sample?.scrapedAtMs).toBeLessThanOrEqual(snap.takenAtMs);
  });

  test('a delta between two snapshots is exact: raw values at two instants, no extrapolation', async () => {
    const before = await src.snapshot();
    fault(a, 7, [80, 80, 900]);
    fault(b, 4, [2500]);
    fault(other, 1000, []);
    const after = await src.snapshot();
    const d = diffSnapshots(before, after);
    expect(d.aborts).toBe(11);
    expect(d.delays).toBe(4);
    expect(d.delayHistogram.count).toBe(4);
    expect(d.perPod.map((p) => [p.pod, p.aborts, p.delays, p.reset])).toEqual([
      ['demo/frontend-a', 7, 3, false],
      ['demo/frontend-b', 4, 1, false],
    ]);
    expect(metricsOf(after, 'demo/frontend-a')).toEqual(direct(a));
    expect(metricsOf(after, 'demo/frontend-b')).toEqual(direct(b));
    // Envoy's bucket edges: 80 ms counts from le="100" on, 900 from le="1000", 2500 from le="5000".
    const le = (x: number) => d.delayHistogram.buckets.find((bk) => bk.le === x)?.count;
    expect([le(50), le(100), le(500), le(1000), le(2500), le(5000)]).toEqual([0, 2, 2, 3, 3, 4]);
  });

  test('waitForScrape resolves with every target scraped after the given time; snapshotAt pins the evaluation', async () => {
    const afterMs = Date.now();
    const wait = await src.waitForScrape(afterMs);
    expect(Object.keys(wait.lastScrapeMs).sort()).toEqual(['demo/frontend-a', 'demo/frontend-b']);
    for (const ts of Object.values(wait.lastScrapeMs)) {
      expect(ts).toBeGreaterThan(afterMs);
      expect(ts).toBeLessThanOrEqual(wait.evaluationTimeMs);
    }
    const pinned = await src.snapshotAt(wait.evaluationTimeMs);
    const abortsThen = metricsOf(pinned, 'demo/frontend-a').aborts as number;

    fault(a, 3, []);
    await src.waitForScrape(Date.now());
    // Evaluated at the earlier instant, Prometheus still answers with the samples it had then.
    expect(metricsOf(await src.snapshotAt(wait.evaluationTimeMs), 'demo/frontend-a').aborts).toBe(abortsThen);
    expect(metricsOf(await src.snapshot(), 'demo/frontend-a').aborts).toBe(abortsThen + 3);
  });

  test('series without the pod label are grouped by instance', async () => {
    fault(bare, 9, []);
    const bySrc = new PrometheusSource({ url: `${prometheus.url}/`, selector: '{job="bare"}' });
    const snap = await bySrc.snapshot();
    expect(snap.pods.map((p) => p.pod)).toEqual([`127.0.0.1:${bare.admin.port}`]);
    expect(metricsOf(snap, `127.0.0.1:${bare.admin.port}`)).toEqual(direct(bare));
  });

  test('a target Prometheus cannot scrape is a per-pod error; one without the plugin has absent families', async () => {
    const mixed = new PrometheusSource({ url: prometheus.url, selector: '{app="mixed"}' });
    const snap = await mixed.snapshot();
    expect(snap.pods.map((p) => p.pod)).toEqual(['demo/down-a', 'demo/noplugin-a']);
    const [down, plain] = snap.pods;
    expect(down?.error).toBe(`Prometheus's latest scrape of 127.0.0.1:${downPort} (job envoy-stats) failed (up == 0)`);
    expect(plain?.error).toBeUndefined();
    expect(plain?.metrics).toMatchObject({ aborts: undefined, delays: undefined, delayHistogram: undefined });
    expect(plain?.metrics.related).toEqual(['hfi_faults_aborts_total']);

    const onlyDown = new PrometheusSource({ url: prometheus.url, selector: '{pod="down-a"}' });
    const err = await caught(onlyDown.snapshot());
    expect(err.code).toBe('HFI_ERR_METRICS_SCRAPE');
    expect(err.message).toContain("demo/down-a: Prometheus's latest scrape");
  });

  test('waiting for a scrape that cannot come times out with a clear HfiError naming the pods', async () => {
    const err = await caught(src.waitForScrape(Date.now() + 3_600_000, { timeoutMs: 1500 }));
    expect(err.code).toBe('HFI_ERR_TIMEOUT');
    expect(err.message).toMatch(
      /within 1500 ms \(scrape interval 1000 ms\): not scraped since: demo\/frontend-a \(last scrape/,
    );
    expect(err.message).toContain('demo/frontend-b');
  });

  test('a selector that matches nothing, or that Prometheus rejects, fails with a clear HfiError', async () => {
    const none = new PrometheusSource({ url: prometheus.url, selector: '{namespace="nowhere"}', waitForScrape: false });
    const empty = await caught(none.snapshot());
    expect(empty.code).toBe('HFI_ERR_METRICS_SCRAPE');
    expect(empty.message).toContain('namespace="nowhere"');

    const bad = new PrometheusSource({ url: prometheus.url, selector: '{app=~"("}', waitForScrape: false });
    const rejected = await caught(bad.snapshot());
    expect(rejected.code).toBe('HFI_ERR_PROMETHEUS_QUERY');
    expect(rejected.details).toMatchObject({ status: 400, errorType: 'bad_data' });
  });
});

describe('PrometheusSource without a server', () => {
  test('an unreachable URL is HFI_ERR_PROMETHEUS_QUERY; bad options are config errors', async () => {
    const unreachable = new PrometheusSource({ url: 'http://127.0.0.1:1', waitForScrape: false });
    const err = await caught(unreachable.snapshot());
    expect(err.code).toBe('HFI_ERR_PROMETHEUS_QUERY');
    expect(err.message).toContain('unreachable');
    expect(await unreachable.scrapeIntervalMs()).toBe(15_000);
    expect(() => new PrometheusSource({ url: 'x', selector: '{}' })).toThrow(expect.objectContaining({ field: 'url' }));
    expect(() => new PrometheusSource({ url: 'http://p:9090', selector: 'app="x"' })).toThrow(
      expect.objectContaining({ field: 'selector' }),
    );
    expect(() => new PrometheusSource({ url: 'http://p:9090', podLabel: 'pod-name' })).toThrow(
      expect.objectContaining({ field: 'podLabel' }),
    );
  });

  test('parses Prometheus durations', () => {
    expect(parsePrometheusDuration('15s')).toBe(15_000);
    expect(parsePrometheusDuration('1m30s')).toBe(90_000);
    expect(parsePrometheusDuration('500ms')).toBe(500);
    expect(parsePrometheusDuration('1h')).toBe(3_600_000);
    expect(parsePrometheusDuration('15')).toBeUndefined();
    expect(parsePrometheusDuration('')).toBeUndefined();
  });
});
