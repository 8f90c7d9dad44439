// The doctor's readings of stats pages, config dumps and logs. Pages come from the real Envoy-faithful stats store
// where it can produce them, and are written out where they hold stats it does not have (Istio's request metric).
import { createStatsStore, istioInclusionPatterns } from '@hfi/filter';
import {
  HFI_MATCHER_NAMES,
  inclusionPatterns,
  logFacts,
  oldFamilies,
  requestCount,
  type SidecarEvidence,
  statNames,
  wasmFilters,
} from './evidence';
import { buildFacts, matcherVerdict } from './facts';

function storeWith(names: 'new' | 'old', options: Parameters<typeof createStatsStore>[0] = {}) {
  const store = createStatsStore({ serverStats: true, ...options });
  const prefix = names === 'new' ? 'wasmcustom.hfi_faults_' : 'hfi.faults.';
  const aborts = store.defineMetric('counter', `${prefix}aborts_total`);
  store.defineMetric('counter', `${prefix}delays_total`);
  store.defineMetric('histogram', `${prefix}delay_duration_milliseconds`);
  store.incrementMetric(aborts, 3n);
  store.flush();
  return store;
}

function evidenceFrom(store: ReturnType<typeof storeWith>, configDump?: unknown): SidecarEvidence {
  return {
    name: 'http://127.0.0.1:15000',
    statsUrl: 'http://127.0.0.1:15000/stats/prometheus',
    identity: { workload: 'frontend', namespace: 'demo', pod: 'frontend-0', labels: { app: 'frontend' } },
    prometheus: { text: store.renderPrometheus() },
    stats: { text: store.renderText() },
    scrapedAtMs: Date.now(),
    ...(configDump === undefined
      ? {}
      : {
          configDump: {
            text: JSON.stringify(configDump),
          },
        }),
    scrapeAddresses: ['127.0.0.1:15000'],
  };
}

const bootstrap = (statsConfig: unknown) => ({
  configs: [
    { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { stats_config: statsConfig } },
  ],
});

describe('stats page readings', () => {
  it('finds the three current families, the histogram shape and the counters on a real store page', () => {
    const facts = buildFacts(evidenceFrom(storeWith('new')), []);
    expect(facts.newFamilies).toEqual([
      'wasmcustom_hfi_faults_aborts_total',
      'wasmcustom_hfi_faults_delays_total',
      'wasmcustom_hfi_faults_delay_duration_milliseconds',
    ]);
    expect(facts.histogram).toEqual({ bucketLines: 20, hasInf: true, hasSum: true, hasCount: true });
    expect(facts.metrics?.aborts).toBe(3);
    expect(facts.oldFamilies).toEqual([]);
  });

  it('finds the old names, exported under Istio defaults as hfi_faults_* and wasmcustom.hfi.faults.* on /stats', () => {
    const store = storeWith('old');
    expect(oldFamilies(store.renderPrometheus())).toEqual([
      'hfi_faults_aborts_total',
      'hfi_faults_delay_duration_milliseconds',
      'hfi_faults_delays_total',
    ]);
    expect(statNames(store.renderText(), 'wasmcustom.')).toContain('wasmcustom.hfi.faults.aborts_total');
    const facts = buildFacts(evidenceFrom(store), []);
    expect(facts.newFamilies).toEqual([]);
    expect(facts.oldStats).toContain('wasmcustom.hfi.faults.aborts_total');
  });

  it("counts inbound requests from Istio's istio_requests_total (reporter=destination) or Envoy's downstream_rq_total", () => {
    const istio = [
      '# TYPE istio_requests_total counter',
      'istio_requests_total{reporter="destination",response_code="200",source_workload="web"} 7',
      'istio_requests_total{reporter="destination",response_code="503",source_workload="web"} 2',
      'istio_requests_total{reporter="source",response_code="200",destination_workload="db"} 40',
    ].join('\n');
    expect(requestCount(istio)).toEqual({ count: 9, source: 'istio_requests_total{reporter="destination"}' });
    const envoy = [
      '# TYPE envoy_http_downstream_rq_total counter',
      'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="admin"} 12',
      'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="inbound_0.0.0.0_8080"} 0',
    ].join('\n');
    expect(requestCount(envoy)).toEqual({ count: 0, source: 'envoy_http_downstream_rq_total' });
    const stats = 'http.admin.downstream_rq_total: 3\nhttp.inbound_0.0.0.0_8080.downstream_rq_total: 5\n';
    expect(requestCount('', stats)).toEqual({ count: 5, source: 'http.*.downstream_rq_total' });
    expect(requestCount(storeWith('new').renderPrometheus(), storeWith('new').renderText())).toEqual({
      count: 0,
      source: 'istio_requests_total (no series yet)',
    });
    expect(requestCount('', '')).toBeUndefined();
  });
});

describe('config dump readings', () => {
  it('reads the inclusion patterns null-safely', () => {
    expect(inclusionPatterns(undefined)).toBeUndefined();
    expect(inclusionPatterns({ configs: null })).toBeUndefined();
    expect(inclusionPatterns(bootstrap(null))).toBeUndefined();
    expect(inclusionPatterns(bootstrap({ stats_matcher: { inclusion_list: null } }))).toEqual([]);
    expect(inclusionPatterns(bootstrap({ stats_matcher: { reject_all: true } }))).toEqual([]);
    expect(
      inclusionPatterns(bootstrap({ stats_matcher: { inclusion_list: { patterns: [{ prefix: 'wasm' }] } } })),
    ).toEqual([{ prefix: 'wasm' }]);
  });

  it("keeps the plugin metrics with Istio's list (prefix wasm), not with the seed's prefix alone", () => {
    const ev = (patterns: unknown) =>
      evidenceFrom(storeWith('new'), bootstrap({ stats_matcher: { inclusion_list: { patterns } } }));
    expect(matcherVerdict(ev(istioInclusionPatterns()))).toMatchObject({ known: true, keeping: '{"prefix":"wasm"}' });
    // The matcher sees wasmcustom.wasmcustom.hfi_faults_*: the seed's `wasmcustom.hfi_faults` prefix matches none.
    expect(HFI_MATCHER_NAMES[0]).toBe('wasmcustom.wasmcustom.hfi_faults_aborts_total');
    const seedOnly = matcherVerdict(ev([{ prefix: 'wasmcustom.hfi_faults' }]));
    expect(seedOnly).toMatchObject({ known: true, wasmPrefixes: ['wasmcustom.hfi_faults'] });
    expect(seedOnly.known && seedOnly.keeping).toBeUndefined();
    expect(matcherVerdict(ev([{ safe_regex: { regex: 'wasmcustom\\..*' } }]))).toMatchObject({
      keeping: expect.any(String),
    });
    expect(matcherVerdict(evidenceFrom(storeWith('new')))).toEqual({
      known: false,
      reason: 'no /config_dump for this sidecar',
    });
  });

  it('lists the Wasm filters of a dump with their module', () => {
    const dump = {
      configs: [
        { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: {} },
        {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
          config: { name: 'hfi', vm_config: { code: { local: { filename: '/plugins/other.wasm' } } } },
        },
      ],
    };
    expect(wasmFilters(dump)).toEqual([{ name: 'hfi', module: '/plugins/other.wasm' }]);
    expect(wasmFilters({ configs: [null, 3, 'x'] })).toEqual([]);
  });
});

describe('log readings', () => {
  it('reads VM and filter creation, defined metrics, load failures, applied revisions and access-log requests', () => {
    const facts = logFacts([
      '[2024-05-01 10:00:00.000][0][info][wasm] wasm vm created: worker 0, vm_id "", runtime node 11.3',
      '[2024-05-01 10:00:00.001][0][info][wasm] wasm log hfi hfi: hfi: Defined metric: wasmcustom.hfi_faults_aborts_total',
      '[2024-05-01 10:00:00.002][0][info][wasm] wasm filter created: plugin "hfi", root_id "hfi"',
      '[2024-05-01 10:00:01.000][0][info][wasm] wasm log hfi hfi: hfi: applied revision 4: 0 of 2 policies apply to frontend',
      '[2024-05-01T10:00:02.000Z] "GET /api/users?id=1 HTTP/1.1" 503 FI fault_filter_abort - "-" 0 18 0 - "-" "curl/8.5.0" "abc" "frontend:8080" "-" inbound|8080|| - 10.0.0.7:8080 10.0.0.9:41234 - default',
      '2024-05-01T10:00:03.000Z error envoy wasm Failed to load Wasm module due to a missing import: env.foo',
    ]);
    expect(facts).toMatchObject({
      vmCreated: true,
      filterCreated: true,
      definedMetrics: ['wasmcustom.hfi_faults_aborts_total'],
      lastApplied: { revision: 4, applying: 0, total: 2, workload: 'frontend' },
      requests: [{ method: 'GET', path: '/api/users?id=1', status: 503 }],
    });
    expect(facts.loadFailures).toHaveLength(1);
    expect(logFacts(['nothing here'])).toMatchObject({
      vmCreated: false,
      definedMetrics: [],
      requests: [],
      loadFailures: [],
    });
  });
});
