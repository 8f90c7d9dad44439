/// <reference types="@hfi/jest-preset/types/jest" />
// The shop under faults, through the hfi Jest preset: a real control plane, a local sidecar in front of each
// service running the real plugin.wasm, and the frontend calling the catalog through the catalog's sidecar.
// Faults go on the catalog; what the tests look at is the frontend, as a user would.
import { hfi, service } from '@hfi/jest-preset';
import { DirectSource, envoyHistogramSum } from '@hfi/sdk';
import type { ShopPage } from './index';

jest.setTimeout(60_000);

interface Visit {
  status: number;
  source: string | null;
  elapsedMs: number;
  page: ShopPage;
}

async function visit(headers: Record<string, string> = {}): Promise<Visit> {
  const started = performance.now();
  const res = await fetch(`${service('frontend').url}/shop`, { headers });
  const page = (await res.json()) as ShopPage;
  return { status: res.status, source: res.headers.get('x-shop-source'), elapsedMs: performance.now() - started, page };
}

/** `n` visits, `concurrency` at a time. */
async function visits(n: number, headers: Record<string, string> = {}, concurrency = 4): Promise<Visit[]> {
  const out: Visit[] = [];
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      out.push(await visit(headers));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

const PRODUCTS = { method: 'GET', path: { prefix: '/products' } };
/** The reason the frontend gives when the catalog's answer was an injected 503. */
const ABORTED = 'catalog answered 503';

it('without faults, every page comes from the catalog', async () => {
  const pages = await visits(10);
  expect(pages.map((v) => [v.status, v.source])).toEqual(Array(10).fill([200, 'catalog']));
  expect(pages[0]?.page.products).toHaveLength(4);
});

it('abort on the catalog: the frontend falls back, once per injected abort', async () => {
  await using win = await hfi.openFaultWindow({
    selector: service('catalog').selector,
    match: PRODUCTS,
    abort: { httpStatus: 503 },
    percentage: 100,
    duration: '1m',
  });
  await expect(win).toBeAppliedOnAllTargets();

  const pages = await visits(20);
  expect(pages.map((v) => [v.status, v.source, v.page.degraded])).toEqual(Array(20).fill([200, 'fallback', ABORTED]));
  await expect(win).toHaveInjectedAborts(20);
  await expect(win).toHaveInjectedFaults({ aborts: 20, delays: 0 });
});

it('150 ms delay on the catalog: every page waits for it, and the histogram counts it under le="250"', async () => {
  const n = 12;
  await using win = await hfi.openFaultWindow({
    selector: service('catalog').selector,
    match: PRODUCTS,
    delay: { fixedDelayMs: 150 },
    percentage: 100,
    duration: '1m',
  });
  const pages = await visits(n, {}, 2);
  // Slower, but within the frontend's deadline: still the catalog's answer.
  expect(pages.map((v) => [v.status, v.source])).toEqual(Array(n).fill([200, 'catalog']));
  // A lower bound only: no page can be served before the catalog's delay ran out.
  for (const v of pages) expect(v.elapsedMs).toBeGreaterThanOrEqual(149);

  await expect(win).toHaveInjectedDelays(n);
  // 150 ms is above the 100 bound and below 250: cumulative buckets hold it from le="250" on. Envoy's _sum adds the
  // midpoints of its two-digit bins (155 for 150), not the values.
  await expect(win).toHaveDelayHistogram({
    count: n,
    sumMs: envoyHistogramSum(Array(n).fill(150)),
    buckets: { '100': 0, '250': n, '+Inf': n },
  });
});

it('30% abort on the catalog: the abort ratio lies in its binomial interval, and the page stays up', async () => {
  const n = 200;
  await using win = await hfi.openFaultWindow({
    selector: service('catalog').selector,
    match: PRODUCTS,
    abort: { httpStatus: 503 },
    percentage: 30,
    duration: '1m',
  });
  const pages = await visits(n, {}, 6);
  expect(pages.filter((v) => v.status !== 200)).toEqual([]);
  // Each page makes exactly one catalog call, so n is the number of requests the window matched.
  await expect(win).toHaveAbortRatio(0.3, { requests: n, confidence: 0.999 });
  const { aborts } = await win.metrics();
  expect(pages.filter((v) => v.page.degraded === ABORTED)).toHaveLength(aborts);
});

it('a fault matching a header hits only the requests that carry it (the frontend forwards x-user)', async () => {
  await using win = await hfi.openFaultWindow({
    selector: service('catalog').selector,
    match: { ...PRODUCTS, headers: [{ name: 'x-user', exact: 'chaos-tester' }] },
    abort: { httpStatus: 503 },
    percentage: 100,
    duration: '1m',
  });
  const tagged = await visits(10, { 'x-user': 'chaos-tester' });
  const untagged = await visits(10);
  const someoneElse = await visits(5, { 'x-user': 'alice' });
  expect(tagged.map((v) => v.page.degraded)).toEqual(Array(10).fill(ABORTED));
  expect([...untagged, ...someoneElse].filter((v) => v.page.degraded === ABORTED)).toEqual([]);
  await expect(win).toHaveInjectedAborts(10);
});

it("a fault on the catalog leaves the frontend's own sidecar untouched", async () => {
  const frontend = service('frontend');
  // Metrics from the frontend's sidecar only: the window's delta then speaks of that pod alone.
  const frontendOnly = new DirectSource([{ url: frontend.adminUrl as string, pod: frontend.pod as string }]);
  try {
    await using win = await hfi.openFaultWindow({
      selector: service('catalog').selector,
      match: PRODUCTS,
      abort: { httpStatus: 503 },
      percentage: 100,
      duration: '1m',
      metrics: frontendOnly,
    });
    const pages = await visits(10);
    expect(pages.map((v) => v.page.degraded)).toEqual(Array(10).fill(ABORTED));
    await expect(win).toHaveNoInjectedFaults();
  } finally {
    await frontendOnly.close();
  }
});

it('a wrong expectation explains itself: expected and received per pod', async () => {
  await using win = await hfi.openFaultWindow({
    selector: service('catalog').selector,
    match: PRODUCTS,
    abort: { httpStatus: 503 },
    percentage: 100,
    duration: '1m',
  });
  await visits(3);
  const failure = expect(win).toHaveInjectedAborts(4);
  await expect(failure).rejects.toThrow(/Expected aborts: 4\s+Received aborts: 3/);
  await expect(failure).rejects.toThrow(/catalog-local +3 +0/);
});
