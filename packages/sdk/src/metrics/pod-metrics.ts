import { extractHfiFamilies, findRelatedMetricNames, HFI_METRICS, SERVER_GAUGES, type StatsPage } from './extract';
import { sumHistograms } from './histogram-value';
import type { PromFamily } from './prom-text';
import type { HistogramValue, PodMetrics } from './types';

function counterValue(family: PromFamily | undefined): number | undefined {
  if (family === undefined || family.type === 'histogram' || family.samples.length === 0) return undefined;
  // Several series (labels added by tag extraction) add up to the proxy's total.
  return family.samples.reduce((n, s) => n + s.value, 0);
}

function histogramValue(family: PromFamily | undefined): HistogramValue | undefined {
  if (family === undefined || family.type !== 'histogram' || family.series.length === 0) return undefined;
  return family.series.length === 1 ? (family.series[0] as HistogramValue) : sumHistograms(family.series);
}

/** The hfi metrics of one sidecar's `/stats/prometheus` page. Absent families stay `undefined`. */
export function parsePodMetrics(text: StatsPage): PodMetrics {
  const families = new Map(extractHfiFamilies(text).map((f) => [f.name, f]));
  const hist = histogramValue(families.get(HFI_METRICS.delayDuration));
  const metrics: PodMetrics = {
    aborts: counterValue(families.get(HFI_METRICS.aborts)),
    delays: counterValue(families.get(HFI_METRICS.delays)),
    delayHistogram:
      hist === undefined
        ? undefined
        : { buckets: hist.buckets.map((b) => ({ ...b })), sum: hist.sum, count: hist.count },
  };
  const uptime = counterValue(families.get(SERVER_GAUGES.uptime));
  if (uptime !== undefined) metrics.uptimeSeconds = uptime;
  const epoch = counterValue(families.get(SERVER_GAUGES.hotRestartEpoch));
  if (epoch !== undefined) metrics.hotRestartEpoch = epoch;
  if (metrics.aborts === undefined || metrics.delays === undefined || metrics.delayHistogram === undefined) {
    metrics.related = findRelatedMetricNames(text);
  }
  return metrics;
}
