// Summaries for paired benchmark designs: runs of a baseline and a candidate measured back to back (in alternating
// order) or at the same time, so that load from elsewhere on a shared machine hits both members of a pair alike. Each pair yields one
// ratio (or difference); the median over the pairs is the estimate and min–max over the pairs shows the spread.

/** Median of a list of numbers (mean of the two middle values for an even count). */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile of an already sorted list. */
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Median, min and max of a list of numbers. */
function spread(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), values };
}

/** Per-pair ratios candidate[key] / baseline[key], summarised. `pairs` holds `{ baseline, candidate }` runs. */
function pairedRatios(pairs, key) {
  return spread(pairs.map(({ baseline, candidate }) => candidate[key] / baseline[key]));
}

/** Per-pair differences candidate[key] − baseline[key], summarised. */
function pairedDifferences(pairs, key) {
  return spread(pairs.map(({ baseline, candidate }) => candidate[key] - baseline[key]));
}

/**
 * Distribution-free confidence interval for the median of `values`: the k-th smallest to the k-th largest, with the
 * largest k whose coverage (from the Binomial(n, ½) count of values below the true median) is still ≥ `level`. With
 * too few values for that level it falls back to min–max and says the coverage it has.
 */
function medianInterval(values, level = 0.95) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { low: Number.NaN, high: Number.NaN, coverage: 0 };
  // below[j] = P(Binomial(n, ½) ≤ j)
  const below = [];
  let term = 0.5 ** n;
  let sum = 0;
  for (let j = 0; j <= n; j++) {
    sum += term;
    below.push(sum);
    term = (term * (n - j)) / (j + 1);
  }
  let k = 1;
  while (k + 1 <= n / 2 && 1 - 2 * below[k] >= level) k++;
  return { low: sorted[k - 1], high: sorted[n - k], coverage: 1 - 2 * below[k - 1] };
}

module.exports = { median, medianInterval, percentile, spread, pairedRatios, pairedDifferences };
