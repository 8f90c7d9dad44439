// The steady-state hypothesis, in Chaos Toolkit's sense: probes measured on real traffic, each with a tolerance,
// checked before any fault, during every fault window and after the rollback. Every verdict carries the value
// actually received, not only "failed".
import type { TrafficSummary } from './traffic';

export type Tolerance = { below: number } | { atLeast: number };

export interface Probe {
  name: string;
  measure: (traffic: TrafficSummary) => number;
  tolerance: Tolerance;
  /** How a measured value or a bound reads, e.g. `99.0%` or `212 ms`. */
  format: (value: number) => string;
}

export interface SteadyStateHypothesis {
  title: string;
  probes: Probe[];
  /** Fewer requests than this cannot support a verdict. */
  minRequests: number;
}

export interface ProbeResult {
  probe: string;
  ok: boolean;
  value: number;
  /** `≥ 99.0%` */
  expected: string;
  /** `97.5%` */
  received: string;
}

export interface HypothesisResult {
  ok: boolean;
  results: ProbeResult[];
  /** Set when the traffic was too thin to judge. */
  insufficient?: string;
}

export const percent = (v: number) => `${(v * 100).toFixed(1)}%`;
export const millis = (v: number) => `${v.toFixed(0)} ms`;

export function successRateAtLeast(rate: number): Probe {
  return {
    name: 'frontend success rate',
    measure: (t) => t.successRate,
    tolerance: { atLeast: rate },
    format: percent,
  };
}

export function p99Below(ms: number): Probe {
  return { name: 'frontend p99 latency', measure: (t) => t.p99Ms, tolerance: { below: ms }, format: millis };
}

export function describeTolerance(probe: Probe): string {
  const t = probe.tolerance;
  return 'below' in t ? `< ${probe.format(t.below)}` : `≥ ${probe.format(t.atLeast)}`;
}

export function checkHypothesis(hypothesis: SteadyStateHypothesis, traffic: TrafficSummary): HypothesisResult {
  const results = hypothesis.probes.map((probe): ProbeResult => {
    const value = probe.measure(traffic);
    const t = probe.tolerance;
    const ok = 'below' in t ? value < t.below : value >= t.atLeast;
    return { probe: probe.name, ok, value, expected: describeTolerance(probe), received: probe.format(value) };
  });
  if (traffic.sent < hypothesis.minRequests) {
    return {
      ok: false,
      results,
      insufficient: `only ${traffic.sent} requests completed, fewer than the ${hypothesis.minRequests} a verdict needs`,
    };
  }
  return { ok: results.every((r) => r.ok), results };
}
