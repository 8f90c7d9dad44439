// Percentages are statistics: with n matching requests and a configured probability p, the number of faults is
// Binomial(n, p). These helpers give the range a correct implementation lands in, and the interval for an
// observed ratio, both from the exact binomial distribution (no normal approximation).
import { HfiError } from '@hfi/core';

export interface ExpectedRange {
  /** Smallest count the equal-tailed exact test accepts. */
  low: number;
  /** Largest count the equal-tailed exact test accepts. */
  high: number;
  mean: number;
  sd: number;
  /** Probability that a Binomial(n, p) count lands in [low, high] (≥ the confidence asked for). */
  coverage: number;
  method: 'exact-binomial';
}

function checkArgs(n: number, p: number, confidence: number): void {
  const bad = (field: string, message: string): HfiError => new HfiError('HFI_ERR_BAD_REQUEST', message, { field });
  if (!Number.isInteger(n) || n < 0) throw bad('n', `n must be a non-negative integer, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw bad('p', `p must be within 0..1, got ${p}`);
  if (!(confidence > 0 && confidence < 1))
    throw bad('confidence', `confidence must be within (0, 1), got ${confidence}`);
}

/**
 * Binomial probabilities P(K = k) for k in [from, to], computed in log space by the recurrence
 * P(k+1)/P(k) = (n−k)/(k+1) · p/(1−p) so that large n neither underflows nor needs a gamma function.
 * Values far outside the window are below 1e-300 relative and ignored.
 */
function binomialPmfWindow(n: number, p: number): { from: number; pmf: Float64Array } {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  const from = Math.max(0, Math.floor(mean - 40 * sd - 10));
  const to = Math.min(n, Math.ceil(mean + 40 * sd + 10));
  const logRatio = Math.log(p) - Math.log1p(-p);
  const logs = new Float64Array(to - from + 1);
  let log = n * Math.log1p(-p);
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k <= to; k++) {
    if (k >= from) {
      logs[k - from] = log;
      if (log > max) max = log;
    }
    log += Math.log((n - k) / (k + 1)) + logRatio;
  }
  let total = 0;
  for (let i = 0; i < logs.length; i++) {
    logs[i] = Math.exp((logs[i] as number) - max);
    total += logs[i] as number;
  }
  for (let i = 0; i < logs.length; i++) logs[i] = (logs[i] as number) / total;
  return { from, pmf: logs };
}

/**
 * The range of counts k that Binomial(n, p) produces with the given confidence: the acceptance region of the
 * equal-tailed exact binomial test, low = the smallest k with P(K ≤ k) > α/2 and high = the largest k with
 * P(K ≥ k) > α/2 (α = 1 − confidence). It is the dual of the Clopper–Pearson interval: k is in this range exactly
 * when p is in the Clopper–Pearson interval for k of n. Coverage is at least `confidence`.
 */
export function expectedRange(n: number, p: number, confidence = 0.99): ExpectedRange {
  checkArgs(n, p, confidence);
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  if (p === 0 || p === 1 || n === 0) return { low: mean, high: mean, mean, sd, coverage: 1, method: 'exact-binomial' };
  const alpha = 1 - confidence;
  const { from, pmf } = binomialPmfWindow(n, p);
  let low = from;
  let cdf = 0;
  for (let i = 0; i < pmf.length; i++) {
    cdf += pmf[i] as number;
    if (cdf > alpha / 2) {
      low = from + i;
      break;
    }
  }
  let high = from + pmf.length - 1;
  let sf = 0;
  for (let i = pmf.length - 1; i >= 0; i--) {
    sf += pmf[i] as number;
    if (sf > alpha / 2) {
      high = from + i;
      break;
    }
  }
  let coverage = 0;
  for (let k = low; k <= high; k++) coverage += pmf[k - from] as number;
  return { low, high, mean, sd, coverage: Math.min(1, coverage), method: 'exact-binomial' };
}

/** P(K ≤ k) for K ~ Binomial(n, p). */
function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const { from, pmf } = binomialPmfWindow(n, p);
  let cdf = 0;
  for (let i = 0; i < pmf.length && from + i <= k; i++) cdf += pmf[i] as number;
  return Math.min(1, cdf);
}

/** Solves f(p) = target for a monotone f on [0, 1] by bisection. */
function bisect(f: (p: number) => number, target: number, increasing: boolean): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    const above = f(mid) > target;
    if (above === increasing) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The Clopper–Pearson (exact) interval for a proportion after observing k successes in n trials, for failure
 * messages that print p̂ and its interval.
 */
export function proportionInterval(
  k: number,
  n: number,
  confidence = 0.99,
): { low: number; high: number; estimate: number } {
  checkArgs(n, 0.5, confidence);
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new HfiError('HFI_ERR_BAD_REQUEST', `k must be an integer within 0..n, got ${k}`, { field: 'k' });
  }
  if (n === 0) return { low: 0, high: 1, estimate: Number.NaN };
  const alpha = 1 - confidence;
  // low: P(K ≥ k; p) = α/2, high: P(K ≤ k; p) = α/2.
  const low = k === 0 ? 0 : bisect((p) => 1 - binomialCdf(k - 1, n, p), alpha / 2, true);
  const high = k === n ? 1 : bisect((p) => binomialCdf(k, n, p), alpha / 2, false);
  return { low, high, estimate: k / n };
}
