// The experiment `npm run demo` runs against the shop: while the catalog fails, is slow, or hangs past the
// frontend's deadline, the shop page must stay available and fast — the frontend's fallback is what should make
// that true.
import type { Experiment, FaultStep } from './experiment';
import { p99Below, successRateAtLeast } from './hypothesis';

export type Profile = 'full' | 'short';

export interface ShopExperimentOptions {
  namespace: string;
  /** `short` runs each window for 2 s instead of 3 to 4 s, with fewer steady-state requests (for tests). */
  profile?: Profile;
  /** The frontend's catalog deadline, for the step titles. Default 300. */
  catalogTimeoutMs?: number;
}

export function shopExperiment(options: ShopExperimentOptions): Experiment {
  const short = options.profile === 'short';
  const ms = (full: number) => (short ? 2000 : full);
  const catalog = { service: 'catalog', namespace: options.namespace };
  const products = { method: 'GET', path: { prefix: '/products' } };
  const deadline = options.catalogTimeoutMs ?? 300;
  const steps: FaultStep[] = [
    {
      id: 'catalog-abort',
      title: 'catalog aborts 50% of GET /products with 503',
      fault: { selector: catalog, match: products, abort: { httpStatus: 503 }, percentage: 50 },
      trafficMs: ms(4000),
    },
    {
      id: 'catalog-delay',
      title: 'catalog delays every GET /products by 150 ms',
      fault: { selector: catalog, match: products, delay: { fixedDelayMs: 150 }, percentage: 100 },
      trafficMs: ms(4000),
    },
    {
      id: 'catalog-hang',
      title: `catalog hangs GET /products for 3 s, past the frontend's ${deadline} ms deadline`,
      fault: { selector: catalog, match: products, delay: { fixedDelayMs: 3000 }, percentage: 100 },
      trafficMs: ms(3000),
    },
  ];
  return {
    title: 'the shop page survives a misbehaving catalog',
    hypothesis: {
      title: 'GET /shop on the frontend stays available and fast',
      // p99 under 2 s: a frontend that waited for the hanging catalog (3 s) would break it, while a loaded CI
      // machine (two noisy cores) still has room; the deadline plus the fallback keep the shop far below.
      probes: [successRateAtLeast(0.99), p99Below(2000)],
      minRequests: 10,
    },
    steadyStateRequests: short ? 60 : 200,
    warmupRequests: 40,
    concurrency: 4,
    steps,
  };
}
