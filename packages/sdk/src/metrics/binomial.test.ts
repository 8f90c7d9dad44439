import { isHfiError } from '@hfi/core';
import { expectedRange, proportionInterval } from './binomial';

/** Exact Binomial(n, p) pmf by direct products (fine for n ≤ 200), independent of the implementation's method. */
function pmf(n: number, p: number): number[] {
  const out: number[] = [];
  for (let k = 0; k <= n; k++) {
    let c = 1;
    for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
    out.push(c * p ** k * (1 - p) ** (n - k));
  }
  return out;
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** A small seeded PRNG (mulberry32) so the simulation is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('expectedRange (exact equal-tailed binomial acceptance region)', () => {
  test.each([
    [100, 0.3, 0.99],
    [100, 0.3, 0.95],
    [50, 0.05, 0.99],
    [200, 0.5, 0.9],
    [30, 0.9, 0.99],
  ])('n=%d p=%d at %d: low and high are the tightest counts with each tail ≤ α/2', (n, p, conf) => {
    const r = expectedRange(n, p, conf);
    const f = pmf(n, p);
    const alpha = 1 - conf;
    expect(sum(f.slice(0, r.low))).toBeLessThanOrEqual(alpha / 2 + 1e-12);
    expect(sum(f.slice(0, r.low + 1))).toBeGreaterThan(alpha / 2);
    expect(sum(f.slice(r.high + 1))).toBeLessThanOrEqual(alpha / 2 + 1e-12);
    expect(sum(f.slice(r.high))).toBeGreaterThan(alpha / 2);
    expect(r.coverage).toBeCloseTo(sum(f.slice(r.low, r.high + 1)), 9);
    expect(r.coverage).toBeGreaterThanOrEqual(conf);
    expect(r.mean).toBeCloseTo(n * p, 12);
    expect(r.sd).toBeCloseTo(Math.sqrt(n * p * (1 - p)), 12);
    expect(r.method).toBe('exact-binomial');
  });

  test('n=100, p=30%, 99%: the range worked out from the pmf is 19..42', () => {
    expect(expectedRange(100, 0.3)).toMatchObject({ low: 19, high: 42 });
  });

  test('degenerate cases: p = 0, p = 1, n = 0', () => {
    expect(expectedRange(40, 0)).toMatchObject({ low: 0, high: 0 });
    expect(expectedRange(40, 1)).toMatchObject({ low: 40, high: 40 });
    expect(expectedRange(0, 0.5)).toMatchObject({ low: 0, high: 0 });
  });

  test('large n stays finite and centred', () => {
    const r = expectedRange(1_000_000, 0.3);
    expect(r.low).toBeLessThan(300_000);
    expect(r.high).toBeGreaterThan(300_000);
    // ≈ mean ± 2.576 sd for large n.
    expect((r.high - r.low) / 2).toBeCloseTo(2.576 * r.sd, -1);
  });

  test('in a seeded simulation the range holds the count at least as often as promised (minus noise)', () => {
    const rand = mulberry32(20240601);
    const trials = 3000;
    for (const [n, p] of [
      [50, 0.3],
      [200, 0.05],
      [400, 0.5],
      [30, 0.9],
    ] as const) {
      const r = expectedRange(n, p, 0.99);
      let inside = 0;
      for (let t = 0; t < trials; t++) {
        let k = 0;
        for (let i = 0; i < n; i++) if (rand() < p) k++;
        if (k >= r.low && k <= r.high) inside++;
      }
      expect(inside / trials).toBeGreaterThanOrEqual(0.99 - 0.01);
    }
  });

  test('rejects bad arguments with HfiError', () => {
    for (const call of [() => expectedRange(-1, 0.5), () => expectedRange(10, 1.5), () => expectedRange(10, 0.5, 1)]) {
      expect(call).toThrow(expect.objectContaining({ code: 'HFI_ERR_BAD_REQUEST' }));
    }
  });
});

describe('proportionInterval (Clopper–Pearson)', () => {
  test('is the dual of expectedRange: p is inside exactly for the counts in the range', () => {
    const n = 100;
    const p = 0.3;
    const r = expectedRange(n, p, 0.99);
    for (const k of [r.low, r.high, Math.round(n * p)]) {
      const ci = proportionInterval(k, n, 0.99);
      expect(ci.low).toBeLessThanOrEqual(p);
      expect(ci.high).toBeGreaterThanOrEqual(p);
    }
    for (const k of [r.low - 1, r.high + 1]) {
      const ci = proportionInterval(k, n, 0.99);
      expect(p < ci.low || p > ci.high).toBe(true);
    }
  });

  test('k = 0 and k = n reach the ends; the estimate is k/n', () => {
    expect(proportionInterval(0, 20)).toMatchObject({ low: 0, estimate: 0 });
    expect(proportionInterval(20, 20)).toMatchObject({ high: 1, estimate: 1 });
    // Clopper–Pearson upper limit for 0 of n at 99% is 1 − 0.005^(1/n).
    expect(proportionInterval(0, 20).high).toBeCloseTo(1 - 0.005 ** (1 / 20), 9);
  });

  test('rejects k outside 0..n', () => {
    let caught: unknown;
    try {
      proportionInterval(11, 10);
    } catch (err) {
      caught = err;
    }
    expect(isHfiError(caught, 'HFI_ERR_BAD_REQUEST')).toBe(true);
  });
});
