// Per-pod deltas between two snapshots, with Prometheus's reset semantics (anchors §5): a counter that went down
// means the proxy restarted, so the new value is the increase (a lower bound) and the pod is flagged; a pod only in
// the second snapshot has a baseline of 0; a pod only in the first has vanished and its counts are lost.
import { HFI_METRICS, SERVER_GAUGES } from './extract';
import {
  cloneHistogram,
  EMPTY_HISTOGRAM,
  histogramProblems,
  sameBounds,
  subtractHistograms,
  sumHistograms,
  toHistogramDelta,
} from './histogram-value';
import type { FaultDelta, HistogramValue, PodDelta, PodMetrics, PodSample, Snapshot } from './types';

const ABSENT: PodMetrics = { aborts: undefined, delays: undefined, delayHistogram: undefined };

function missingFamilies(m: PodMetrics): string[] {
  const missing: string[] = [];
  if (m.aborts === undefined) missing.push(HFI_METRICS.aborts);
  if (m.delays === undefined) missing.push(HFI_METRICS.delays);
  if (m.delayHistogram === undefined) missing.push(HFI_METRICS.delayDuration);
  return missing;
}

function counterDelta(before: number | undefined, after: number | undefined, reset: boolean): number {
  if (after === undefined) return 0;
  if (before === undefined || reset) return after;
  return after - before;
}

interface PodDiff {
  delta: PodDelta;
  missing: boolean;
  scrapeError: boolean;
}

function diffPod(pod: string, before: PodSample | undefined, after: PodSample | undefined): PodDiff {
  const notes: string[] = [];
  const result = (fields: Partial<PodDelta>, missing = false, scrapeError = false): PodDiff => ({
    delta: {
      pod,
      aborts: 0,
      delays: 0,
      delayHistogram: toHistogramDelta(EMPTY_HISTOGRAM),
      reset: false,
      appeared: false,
      vanished: false,
      histogramLagging: false,
      notes,
      ...fields,
    },
    missing,
    scrapeError,
  });

  if (after === undefined) {
    notes.push('vanished after the baseline: its faults since then are lost');
    return result({ vanished: true }, false, before?.error !== undefined);
  }
  if (after.error !== undefined) {
    notes.push(`scrape failed: ${after.error}`);
    return result({ appeared: before === undefined }, false, true);
  }

  let baseline: PodMetrics = ABSENT;
  let scrapeError = false;
  if (before === undefined) {
    notes.push('appeared after the baseline: counted from 0');
  } else if (before.error !== undefined) {
    scrapeError = true;
    notes.push(`baseline scrape failed (${before.error}): counted from 0, so these are totals since the proxy started`);
  } else {
    baseline = before.metrics;
  }
  const a = after.metrics;

  const missing = missingFamilies(a);
  if (missing.length > 0) {
    const related = a.related?.length
      ? `; related metrics on the page: ${a.related.join(', ')}`
      : '; no hfi or wasm metrics on the page';
    notes.push(
      `absent from the stats page: ${missing.join(', ')} (plugin not loaded, old metric names, or a stats matcher dropping them)${related}`,
    );
  }
  if (baseline !== ABSENT && before !== undefined) {
    const gone = missingFamilies(baseline).filter((n) => !missing.includes(n));
    if (gone.length > 0) notes.push(`appeared after the baseline: ${gone.join(', ')} (counted from 0)`);
  }

  // Restart detection: any counter going down, confirmed (or not) by envoy_server_uptime.
  const drops: string[] = [];
  const dropped = (name: string, b: number | undefined, x: number | undefined): void => {
    if (b !== undefined && x !== undefined && x < b) drops.push(`${name} fell from ${b} to ${x}`);
  };
  dropped(HFI_METRICS.aborts, baseline.aborts, a.aborts);
  dropped(HFI_METRICS.delays, baseline.delays, a.delays);
  dropped(`${HFI_METRICS.delayDuration}_count`, baseline.delayHistogram?.count, a.delayHistogram?.count);
  const uptimeBefore = baseline.uptimeSeconds;
  const uptimeAfter = a.uptimeSeconds;
  const uptimeFell = uptimeBefore !== undefined && uptimeAfter !== undefined && uptimeAfter < uptimeBefore;
  const reset = uptimeFell || drops.length > 0;
  if (reset) {
    const reasons = [...drops];
    if (uptimeFell) reasons.unshift(`${SERVER_GAUGES.uptime} fell from ${uptimeBefore} to ${uptimeAfter}`);
    notes.push(
      `restarted between the snapshots (${reasons.join('; ')}): the new values are taken as the increase, faults before the restart are lost`,
    );
    if (!uptimeFell) {
      notes.push(
        uptimeBefore === undefined || uptimeAfter === undefined
          ? `restart not confirmed: ${SERVER_GAUGES.uptime} is absent`
          : `restart not confirmed: ${SERVER_GAUGES.uptime} did not decrease (${uptimeBefore} → ${uptimeAfter}); are two proxies reported under one key?`,
      );
    }
  }
  if (
    baseline.hotRestartEpoch !== undefined &&
    a.hotRestartEpoch !== undefined &&
    a.hotRestartEpoch !== baseline.hotRestartEpoch
  ) {
    notes.push(
      `${SERVER_GAUGES.hotRestartEpoch} changed from ${baseline.hotRestartEpoch} to ${a.hotRestartEpoch} (hot restart)`,
    );
  }

  const aborts = counterDelta(baseline.aborts, a.aborts, reset);
  const delays = counterDelta(baseline.delays, a.delays, reset);

  let histogram: HistogramValue = EMPTY_HISTOGRAM;
  const ah = a.delayHistogram;
  const bh = baseline.delayHistogram;
  if (ah !== undefined) {
    if (bh === undefined || reset) {
      histogram = cloneHistogram(ah);
    } else {
      const sub = subtractHistograms(ah, bh);
      if (sub.boundsChanged) {
        notes.push(
          'histogram bucket bounds changed between the snapshots (new bucket settings): took the new histogram whole',
        );
        histogram = sub.value;
      } else if (sub.decreased) {
        notes.push('histogram went down between the snapshots without a counter reset: took the new histogram whole');
        histogram = cloneHistogram(ah);
      } else {
        histogram = sub.value;
      }
    }
    for (const problem of histogramProblems(histogram)) notes.push(`histogram delta inconsistent: ${problem}`);
  }

  const histogramLagging = ah !== undefined && a.delays !== undefined && delays !== histogram.count;
  if (histogramLagging) {
    notes.push(
      delays > histogram.count
        ? `histogram behind its counter: Δdelays_total = ${delays} but Δ_count = ${histogram.count} (Envoy refreshes histograms at each stats flush, every 5 s by default)`
        : `histogram ahead of its counter: Δdelays_total = ${delays} but Δ_count = ${histogram.count} (the baseline's histogram had not been flushed yet)`,
    );
  }

  return result(
    {
      aborts,
      delays,
      delayHistogram: toHistogramDelta(histogram),
      reset,
      appeared: before === undefined,
      histogramLagging,
    },
    missing.length > 0,
    scrapeError,
  );
}

/**
 * The faults between two snapshots: per pod (keyed by `PodSample.pod`) and summed. The summed histogram is the
 * bucket-wise sum over pods, as `sum by (le)` would give, so `delayHistogram.quantile(q)` is what
 * `histogram_quantile(q, sum by (le) (increase(…_bucket[window])))` would return without extrapolation.
 */
export function diffSnapshots(before: Snapshot, after: Snapshot): FaultDelta {
  const beforeByPod = new Map(before.pods.map((p) => [p.pod, p]));
  const afterByPod = new Map(after.pods.map((p) => [p.pod, p]));
  const keys = [...afterByPod.keys(), ...[...beforeByPod.keys()].filter((k) => !afterByPod.has(k))];

  const perPod: PodDelta[] = [];
  const missingMetrics: string[] = [];
  const scrapeErrors: string[] = [];
  const notes: string[] = [];
  for (const pod of keys) {
    const diff = diffPod(pod, beforeByPod.get(pod), afterByPod.get(pod));
    perPod.push(diff.delta);
    if (diff.missing) missingMetrics.push(pod);
    if (diff.scrapeError) scrapeErrors.push(pod);
  }

  const histograms = perPod.map((p) => p.delayHistogram).filter((h) => h.buckets.length > 0);
  const first = histograms[0];
  if (first !== undefined && histograms.some((h) => !sameBounds(h, first))) {
    notes.push('pods use different histogram buckets: the summed buckets are a union, as sum by (le) gives');
  }
  if (scrapeErrors.length > 0)
    notes.push(`scrape failed for ${scrapeErrors.join(', ')}: their deltas are not reliable`);
  if (missingMetrics.length > 0) notes.push(`hfi metrics absent on ${missingMetrics.join(', ')}`);

  return {
    aborts: perPod.reduce((n, p) => n + p.aborts, 0),
    delays: perPod.reduce((n, p) => n + p.delays, 0),
    delayHistogram: toHistogramDelta(sumHistograms(histograms)),
    perPod,
    missingMetrics,
    scrapeErrors,
    notes,
  };
}
