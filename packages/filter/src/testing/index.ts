// Test support for code that reads the sidecar's stats through Prometheus: a real `prometheus` process.
export {
  type PrometheusSample,
  PrometheusServer,
  type PrometheusServerOptions,
  type PrometheusWaitOptions,
  type RelabelConfig,
  type ScrapeJob,
  type StartedPrometheusServer,
  startPrometheus,
} from './prometheus';
