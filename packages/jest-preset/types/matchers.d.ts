// The hfi matchers' signatures, shared by the typings for @types/jest (jest.d.ts), @jest/globals (jest-globals.d.ts)
// and Vitest (vitest.d.ts). Every matcher is async: always `await expect(…)`.

/** What an asymmetric matcher such as `expect.any(Number)` or `expect.closeTo(1250, 0)` is. */
export interface HfiAsymmetricMatcherLike {
  asymmetricMatch(other: unknown): boolean;
}

/** A number, or an asymmetric matcher compared with it (`expect.any(Number)`, `expect.closeTo(…)`). */
export type HfiNumberExpectation = number | HfiAsymmetricMatcherLike;

export interface HfiInjectedFaultsExpectation {
  aborts?: HfiNumberExpectation;
  delays?: HfiNumberExpectation;
}

export interface HfiDelayHistogramExpectation {
  /** Δ_count: delays recorded in the histogram. */
  count?: HfiNumberExpectation;
  /** Δ_sum in milliseconds. Envoy sums bin midpoints: ten 120 ms delays show as 1250. */
  sumMs?: HfiNumberExpectation;
  /** Cumulative Δ_bucket counts by their `le`, as the stats page shows them: `{ '250': 10, '+Inf': 10 }`. */
  buckets?: Record<string, HfiNumberExpectation>;
}

export interface HfiAbortRatioOptions {
  /** Between 0 and 1 (exclusive). Default 0.99. */
  confidence?: number;
  /** How many requests the window matched (the binomial n). Required. */
  requests?: number;
}

/** Anything that lists the sidecars: an HfiClient, a ControlPlaneClient. */
export interface HfiNodesReader {
  nodes(): Promise<{ revision: number; nodes: readonly object[] }>;
}

export interface HfiAppliedOnAllTargetsOptions {
  /** The control plane to ask. Default: the preset's `hfi` client. */
  controlPlane?: HfiNodesReader;
}

/**
 * The hfi matchers. The subject is a fault window (`hfi.openFaultWindow(…)`; its `metrics()` is read) or a
 * FaultDelta (`await win.metrics()`, `await win.close()`). A failure prints what each pod's sidecar reported and the
 * likely cause.
 */
export interface HfiMatchers<R> {
  /**
   * The window injected exactly this many aborts, over every pod.
   * @example
   * const win = await hfi.openFaultWindow({
   *   selector: service('frontend').selector, abort: { httpStatus: 503 }, percentage: 100, duration: '30s',
   * });
   * for (let i = 0; i < 3; i++) await fetch(service('frontend').url);
   * await expect(win).toHaveInjectedAborts(3);
   */
  toHaveInjectedAborts(expected: HfiNumberExpectation): R;

  /**
   * The window injected exactly this many delays, over every pod.
   * @example
   * await expect(win).toHaveInjectedDelays(10);
   * await expect(win).toHaveInjectedDelays(expect.any(Number));
   */
  toHaveInjectedDelays(expected: HfiNumberExpectation): R;

  /**
   * The aborts and/or the delays equal these counts (a key left out is not checked).
   * @example
   * await expect(win).toHaveInjectedFaults({ aborts: 3, delays: 0 });
   */
  toHaveInjectedFaults(expected: HfiInjectedFaultsExpectation): R;

  /**
   * The delay histogram (summed over pods) has this count, sum and/or cumulative bucket counts.
   * @example
   * // ten 150 ms delays: counted from Envoy's le="250" bucket up
   * await expect(win).toHaveDelayHistogram({ count: 10, buckets: { '100': 0, '250': 10 } });
   */
  toHaveDelayHistogram(expected: HfiDelayHistogramExpectation): R;

  /**
   * The aborts are what aborting with probability `p` (0..1) gives for `requests` matching requests, at the given
   * confidence (exact binomial range). The message prints n, k, p̂ and the interval.
   * @example
   * const win = await hfi.openFaultWindow({ selector, abort: { httpStatus: 503 }, percentage: 30, duration: '1m' });
   * for (let i = 0; i < 200; i++) await fetch(service('frontend').url);
   * await expect(win).toHaveAbortRatio(0.3, { requests: 200, confidence: 0.99 });
   */
  toHaveAbortRatio(p: number, options: HfiAbortRatioOptions): R;

  /**
   * No abort, no delay and an empty delay histogram on every pod; absent hfi metrics fail it (absent is not zero).
   * @example
   * await expect(win).toHaveNoInjectedFaults();
   */
  toHaveNoInjectedFaults(): R;

  /**
   * Every live sidecar the window's selector matches has applied the window's revision. The subject must be the
   * window itself.
   * @example
   * await expect(win).toBeAppliedOnAllTargets();
   * await expect(win).toBeAppliedOnAllTargets({ controlPlane: client });
   */
  toBeAppliedOnAllTargets(options?: HfiAppliedOnAllTargetsOptions): R;
}

/**
 * The asymmetric forms (`expect.toHaveInjectedAborts(3)` inside `toEqual`), which check a FaultDelta. `M` is the
 * runner's type for an asymmetric matcher.
 */
export interface HfiAsymmetricMatchers<M> {
  /** @example expect({ frontend: delta }).toEqual({ frontend: expect.toHaveInjectedAborts(3) }) */
  toHaveInjectedAborts(expected: HfiNumberExpectation): M;
  /** @example expect(deltas).toEqual([expect.toHaveInjectedDelays(5)]) */
  toHaveInjectedDelays(expected: HfiNumberExpectation): M;
  /** @example expect(delta).toEqual(expect.toHaveInjectedFaults({ aborts: 3 })) */
  toHaveInjectedFaults(expected: HfiInjectedFaultsExpectation): M;
  /** @example expect(delta).toEqual(expect.toHaveDelayHistogram({ count: 10 })) */
  toHaveDelayHistogram(expected: HfiDelayHistogramExpectation): M;
  /** @example expect(delta).toEqual(expect.toHaveAbortRatio(0.3, { requests: 200 })) */
  toHaveAbortRatio(p: number, options: HfiAbortRatioOptions): M;
  /** @example expect({ catalog: delta }).toEqual({ catalog: expect.toHaveNoInjectedFaults() }) */
  toHaveNoInjectedFaults(): M;
}
