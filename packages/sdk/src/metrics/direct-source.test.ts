import { isHfiError } from '@hfi/core';
import { type AdminServer, createStatsStore, type EnvoyStatsStore, startAdminServer } from '@hfi/filter';
import { envoyStatsPage } from './__tests__/envoy-pages';
import { closedPortUrl, type PageServer, startPageServer, textPage } from './__tests__/page-server';
import { diffSnapshots } from './delta';
import { DirectSource } from './direct-source';

const servers: PageServer[] = [];
const sources: DirectSource[] = [];
async function server(...args: Parameters<typeof startPageServer>): Promise<PageServer> {
  const s = await startPageServer(...args);
  servers.push(s);
  return s;
}
function source(...args: ConstructorParameters<typeof DirectSource>): DirectSource {
  const s = new DirectSource(...args);
  sources.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function caught(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('DirectSource against HTTP servers serving Envoy-format pages', () => {
  test('scrapes /stats/prometheus on every target and keys samples by pod', async () => {
    let aborts = 3;
    const a = await server(textPage(() => envoyStatsPage({ hfi: { aborts }, uptime: 10 })));
    const b = await server(textPage(envoyStatsPage({ hfi: { aborts: 1, delays: 2 }, scatter: true })));
    const src = source([{ url: a.url, pod: 'frontend-1', labels: { app: 'frontend' } }, `${b.url}/`]);
    const before = await src.snapshot();
    expect(before.pods.map((p) => p.pod)).toEqual(['frontend-1', `${b.url}/`]);
    expect(before.pods[0]).toMatchObject({ labels: { app: 'frontend' }, metrics: { aborts: 3, uptimeSeconds: 10 } });
    expect(before.pods[1]?.metrics).toMatchObject({ aborts: 1, delays: 2 });
    expect(before.pods.every((p) => p.error === undefined && p.scrapedAtMs >= before.takenAtMs)).toBe(true);
    expect(a.requests).toEqual(['/stats/prometheus']);
    expect(b.requests).toEqual(['/stats/prometheus']);

    aborts = 11;
    const d = diffSnapshots(before, await src.snapshot());
    expect(d.aborts).toBe(8);
    expect(d.perPod.map((p) => [p.pod, p.aborts])).toEqual([
      ['frontend-1', 8],
      [`${b.url}/`, 0],
    ]);
  });

  test('keeps a full stats URL (as Istio serves :15090/stats/prometheus) as it is', async () => {
    const a = await server(textPage(envoyStatsPage()));
    await source([`${a.url}/stats/prometheus?usedonly`]).snapshot();
    expect(a.requests).toEqual(['/stats/prometheus?usedonly']);
  });

  test('records a refused connection, an HTTP error and a timeout per pod without throwing', async () => {
    const ok = await server(textPage(envoyStatsPage({ hfi: { aborts: 4 } })));
    const unavailable = await server((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('no healthy upstream');
    });
    const hung = await server(() => undefined);
    const refused = await closedPortUrl();
    const snap = await source(
      [
        { url: ok.url, pod: 'ok' },
        { url: unavailable.url, pod: 'unavailable' },
        { url: hung.url, pod: 'hung' },
        { url: refused, pod: 'refused' },
      ],
      { timeoutMs: 300 },
    ).snapshot();
    const byPod = new Map(snap.pods.map((p) => [p.pod, p]));
    expect(byPod.get('ok')?.metrics.aborts).toBe(4);
    expect(byPod.get('unavailable')?.error).toMatch(/HTTP 503 .*no healthy upstream/);
    expect(byPod.get('hung')?.error).toBe('timed out after 300 ms');
    expect(byPod.get('refused')?.error).toMatch(/ECONNREFUSED/);
    for (const pod of ['unavailable', 'hung', 'refused']) {
      expect(byPod.get(pod)?.metrics).toEqual({ aborts: undefined, delays: undefined, delayHistogram: undefined });
    }
  });

  test('throws HFI_ERR_METRICS_SCRAPE, listing every failure, when no target answers', async () => {
    const refused = await closedPortUrl();
    const err = await caught(
      source([
        { url: refused, pod: 'p1' },
        { url: refused, pod: 'p2' },
      ]).snapshot(),
    );
    expect(isHfiError(err, 'HFI_ERR_METRICS_SCRAPE')).toBe(true);
    expect((err as Error).message).toMatch(/p1: .*ECONNREFUSED.*p2: .*ECONNREFUSED/);
    expect((err as { details: { errors: Record<string, string> } }).details.errors).toHaveProperty('p2');
  });

  test('records a page whose hfi lines cannot be parsed as that pod’s error', async () => {
    const bad = await server(textPage('wasmcustom_hfi_faults_aborts_total{x=1} 1\n'));
    const good = await server(textPage(envoyStatsPage()));
    const snap = await source([bad.url, good.url]).snapshot();
    expect(snap.pods[0]?.error).toMatch(/could not be parsed/);
    expect(snap.pods[1]?.error).toBeUndefined();
  });

  test('never has more scrapes in flight than its concurrency', async () => {
    // Each answer is held until three requests overlap, or for 200 ms at most: an unbounded source releases them
    // at once, a bounded one never gets there.
    const holdingServer = () => {
      const held: (() => void)[] = [];
      return server((req, res) => {
        const answer = () => textPage(envoyStatsPage())(req, res, 0);
        held.push(answer);
        if (held.length >= 3) for (const release of held.splice(0)) release();
        else
          setTimeout(() => {
            const i = held.indexOf(answer);
            if (i >= 0) held.splice(i, 1)[0]?.();
          }, 200);
      });
    };
    const targets = (url: string) => Array.from({ length: 6 }, (_, i) => ({ url, pod: `p${i}` }));
    const bounded = await holdingServer();
    const snap = await source(targets(bounded.url), { concurrency: 2 }).snapshot();
    expect(snap.pods).toHaveLength(6);
    expect(snap.pods.every((p) => p.error === undefined)).toBe(true);
    expect(bounded.maxInFlight).toBeLessThanOrEqual(2);
    const unbounded = await holdingServer();
    await source(targets(unbounded.url), { concurrency: 6 }).snapshot();
    expect(unbounded.maxInFlight).toBeGreaterThanOrEqual(3);
  });

  test('rejects an empty target list, a non-URL and two targets with one key', async () => {
    for (const make of [
      () => new DirectSource([]),
      () => new DirectSource(['not a url']),
      () => new DirectSource(['ftp://127.0.0.1/']),
      () => new DirectSource(['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', pod: 'http://127.0.0.1:1' }]),
    ]) {
      expect(isHfiError(await caught(make), 'HFI_ERR_CONFIG')).toBe(true);
    }
  });

  test('describe() names the stats URLs', () => {
    expect(source(['http://127.0.0.1:15000']).describe()).toBe('direct: http://127.0.0.1:15000/stats/prometheus');
  });
});

describe("DirectSource against the local sidecar's admin server (Envoy-faithful stats store)", () => {
  const admins: AdminServer[] = [];
  afterEach(async () => {
    await Promise.all(admins.splice(0).map((a) => a.close()));
  });

  function hfiStore(): { store: EnvoyStatsStore; aborts: number; delays: number; hist: number } {
    const store = createStatsStore();
    return {
      store,
      aborts: store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total'),
      delays: store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total'),
      hist: store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds'),
    };
  }
  async function admin(store: EnvoyStatsStore): Promise<AdminServer> {
    const a = await startAdminServer({ stats: store });
    admins.push(a);
    return a;
  }

  test('reads zeros first, then the faults, with Envoy’s bucket edges once flushed', async () => {
    const s = hfiStore();
    const a = await admin(s.store);
    const src = source([{ url: a.url, pod: 'frontend-1' }]);
    const before = await src.snapshot();
    expect(before.pods[0]?.metrics).toMatchObject({ aborts: 0, delays: 0 });
    expect(before.pods[0]?.metrics.delayHistogram?.buckets).toHaveLength(20);

    for (let i = 0; i < 10; i++) {
      s.store.incrementMetric(s.delays, 1n);
      s.store.recordMetric(s.hist, 120n);
    }
    for (let i = 0; i < 3; i++) s.store.incrementMetric(s.aborts, 1n);

    // Counters are live; the histogram waits for the stats flush.
    const early = diffSnapshots(before, await src.snapshot());
    expect(early).toMatchObject({ aborts: 3, delays: 10 });
    expect(early.delayHistogram.count).toBe(0);
    expect(early.perPod[0]?.histogramLagging).toBe(true);

    s.store.flush();
    const d = diffSnapshots(before, await src.snapshot());
    expect(d.perPod[0]?.histogramLagging).toBe(false);
    expect(d.delayHistogram.count).toBe(10);
    expect(d.delayHistogram.sum).toBe(1250);
    expect(d.delayHistogram.buckets.find((b) => b.le === 100)?.count).toBe(0);
    expect(d.delayHistogram.buckets.find((b) => b.le === 250)?.count).toBe(10);
    expect(d.delayHistogram.quantile(0.5)).toBe(175);
  });

  test('a restarted sidecar under the same key is a reset confirmed by envoy_server_uptime', async () => {
    const first = hfiStore();
    first.store.setServerGauge('envoy_server_uptime', 900);
    for (let i = 0; i < 5; i++) first.store.incrementMetric(first.aborts, 1n);
    const before = await source([{ url: (await admin(first.store)).url, pod: 'frontend-1' }]).snapshot();

    const second = hfiStore();
    second.store.setServerGauge('envoy_server_uptime', 2);
    for (let i = 0; i < 2; i++) second.store.incrementMetric(second.aborts, 1n);
    const after = await source([{ url: (await admin(second.store)).url, pod: 'frontend-1' }]).snapshot();

    const d = diffSnapshots(before, after);
    expect(d.aborts).toBe(2);
    expect(d.perPod[0]?.reset).toBe(true);
    expect(d.perPod[0]?.notes.join('\n')).toMatch(/envoy_server_uptime fell from 900 to 2/);
  });

  test('a stats matcher without wasm drops the families: the pod is listed as missing them', async () => {
    const store = createStatsStore({ defaultInclusion: false, inclusionPrefixes: ['server'] });
    store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
    const src = source([{ url: (await admin(store)).url, pod: 'p' }]);
    const d = diffSnapshots(await src.snapshot(), await src.snapshot());
    expect(d.missingMetrics).toEqual(['p']);
  });
});
