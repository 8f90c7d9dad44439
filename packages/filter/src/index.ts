// Envoy-faithful stats store and admin endpoints (local sidecar)
export * from './stats/admin-server';
export * from './stats/circllhist';
export { formatG, formatShortest } from './stats/format-number';
export { prometheusMetricName, sanitizeName, WASM_CUSTOM_NAMESPACE } from './stats/stat-entry';
export * from './stats/stats-matcher';
export * from './stats/store';
export * from './stats/tag-extractor';
export * from './stats/types';
