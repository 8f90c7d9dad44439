// Envoy-faithful stats store and admin endpoints (local sidecar)

// Proxy-wasm host (PluginVm, PluginPool, HttpStream) and the local sidecar
export * from './host';
export * from './sidecar';
export * from './stats/admin-server';
export * from './stats/circllhist';
export { formatG, formatShortest } from './stats/format-number';
export { prometheusMetricName, sanitizeName, WASM_CUSTOM_NAMESPACE } from './stats/stat-entry';
export * from './stats/stats-matcher';
export * from './stats/store';
export * from './stats/tag-extractor';
export * from './stats/types';
// Test support: a real Prometheus scraping sidecars (the SDK and the packages' tests use it)
export * from './testing/index';
