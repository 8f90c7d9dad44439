export { type ExpectedRange, expectedRange, proportionInterval } from './binomial';
export { diffSnapshots } from './delta';
export { DirectSource, type DirectSourceOptions, type DirectTarget } from './direct-source';
export {
  type CircllhistRevision,
  ENVOY_DEFAULT_BUCKETS,
  envoyBinEdges,
  envoyBucketFor,
  envoyHistogramFor,
  envoyHistogramSum,
} from './envoy-histogram';
export {
  extractHfiFamilies,
  findRelatedMetricNames,
  HFI_FAMILY_PREFIX,
  HFI_METRICS,
  prefilterHfiText,
  SERVER_GAUGES,
  type StatsPage,
} from './extract';
export { type FlushWaitOptions, type FlushWaitResult, waitForHistogramFlush } from './flush';
export { subtractHistograms, sumHistograms, toHistogramDelta } from './histogram-value';
export { type KubernetesClientModule, loadKubernetesClient } from './kubernetes-client';
export { KubernetesSource, type KubernetesSourceOptions } from './kubernetes-source';
export { parsePodMetrics } from './pod-metrics';
export {
  type PromFamily,
  type PromHistogramSeries,
  type PromSample,
  parsePrometheusText,
  parsePromNumber,
} from './prom-text';
export {
  PrometheusSource,
  type PrometheusSourceOptions,
  parsePrometheusDuration,
  type ScrapeWait,
} from './prometheus-source';
export { histogramQuantile } from './quantile';
export type { MetricSource } from './source';
export type {
  FaultDelta,
  HistogramDelta,
  HistogramValue,
  PodDelta,
  PodMetrics,
  PodSample,
  Snapshot,
} from './types';
