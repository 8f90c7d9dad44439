// Does the EnvoyFilter's inclusion list keep the plugin metrics? Checked on the project's Envoy-faithful stats store
// (full names `wasmcustom.<defined name>`, the bootstrap matcher, the Prometheus formatter) with nothing but the
// rendered patterns, and against the metric names compiled into the real plugin.wasm.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createStatsStore } from '@hfi/filter';
import { envoyFilterDocument, STATS_PREFIX_FROM_SEED } from './istio';
import { resolveManifestOptions } from './options';
import { bundledPluginPath } from './plugin-wasm';

/** The names the plugin passes to proxy_define_metric (the seed's table, with the `wasmcustom.` in the name). */
const DEFINED = {
  counter: ['wasmcustom.hfi_faults_aborts_total', 'wasmcustom.hfi_faults_delays_total'],
  histogram: ['wasmcustom.hfi_faults_delay_duration_milliseconds'],
} as const;
const FAMILIES = [
  '# TYPE wasmcustom_hfi_faults_aborts_total counter',
  '# TYPE wasmcustom_hfi_faults_delays_total counter',
  '# TYPE wasmcustom_hfi_faults_delay_duration_milliseconds histogram',
];

function renderedPatterns(): string[] {
  const doc = envoyFilterDocument(resolveManifestOptions());
  type Patch = { stats_config: { stats_matcher: { inclusion_list: { patterns: { prefix: string }[] } } } };
  const spec = (doc.object.toJSON() as { spec: { configPatches: { patch: { value: Patch } }[] } }).spec;
  return spec.configPatches[0].patch.value.stats_config.stats_matcher.inclusion_list.patterns.map((p) => p.prefix);
}

/** A stats page where the inclusion list holds only `prefixes` (Istio's own defaults left out). */
function pageWithOnly(prefixes: readonly string[]): string {
  const store = createStatsStore({ defaultInclusion: false, inclusionPrefixes: prefixes, serverStats: false });
  for (const name of DEFINED.counter) store.defineMetric('counter', name);
  for (const name of DEFINED.histogram) store.defineMetric('histogram', name);
  return store.renderPrometheus();
}

describe('the EnvoyFilter inclusion list', () => {
  it('alone keeps all three plugin metrics on /stats/prometheus', () => {
    const page = pageWithOnly(renderedPatterns());
    for (const family of FAMILIES) expect(page).toContain(family);
    expect(page).toContain('wasmcustom_hfi_faults_aborts_total{} 0');
  });

  it("the seed's prefix alone keeps none of them (Envoy matches the full name, wasmcustom.wasmcustom.hfi_faults_*)", () => {
    const page = pageWithOnly([STATS_PREFIX_FROM_SEED]);
    for (const family of FAMILIES) expect(page).not.toContain(family);
  });

  const built = existsSync(bundledPluginPath());
  (built ? it : it.skip)(
    `those are the names compiled into plugin.wasm${built ? '' : ' (skipped: plugin.wasm not built; run npm run build)'}`,
    () => {
      // AssemblyScript keeps string literals as UTF-16LE in the data section.
      const wasm = readFileSync(bundledPluginPath());
      for (const name of [...DEFINED.counter, ...DEFINED.histogram]) {
        expect(`${name} ${wasm.includes(Buffer.from(name, 'utf16le'))}`).toBe(`${name} true`);
      }
    },
  );
});

describe('the statsHistogramBuckets annotation in examples/k8s/README.md', () => {
  it("names a prefix that sets the bounds of the plugin's delay histogram", () => {
    const readme = readFileSync(path.resolve(__dirname, '../../../../../examples/k8s/README.md'), 'utf8');
    const quoted = /"sidecar\.istio\.io\/statsHistogramBuckets":"(\{.*?\})"/.exec(readme);
    expect(quoted).not.toBeNull();
    const buckets = JSON.parse((quoted as RegExpExecArray)[1].replaceAll('\\"', '"')) as Record<string, number[]>;
    const [bounds] = Object.values(buckets);
    const store = createStatsStore({ histogramBuckets: buckets, serverStats: false });
    store.defineMetric('histogram', DEFINED.histogram[0]);
    const les = [...store.renderPrometheus().matchAll(/_bucket\{le="([^"]+)"\}/g)].map((m) => m[1]);
    expect(les).toEqual([...bounds.map(String), '+Inf']);
  });
});
