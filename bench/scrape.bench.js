// Scrape + extract of the hfi families from a realistic Istio sidecar stats page (~20,000 lines), against parsing
// the whole page with parse-prometheus-text-format. Target: extract + parse under 5 ms.
// Requires the built SDK: `npx tsc -b packages/sdk`.
const { once } = require('node:events');
const { createServer } = require('node:http');
const { performance } = require('node:perf_hooks');
const parsePrometheusTextFormat = require('parse-prometheus-text-format');
const { DirectSource, parsePodMetrics, prefilterHfiText } = require('../packages/sdk/dist/metrics/index.js');

const TARGET_LINES = 20_000;
const BOUNDS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

// --- a page in Envoy's format (anchors §3): families sorted by name, `# TYPE` only, `{}` for untagged series,
// `le` last, sums with up to 32 significant digits, one family's series split by other families.

function tags(t, extra) {
  const parts = Object.entries(t).map(([k, v]) => `${k}="${v}"`);
  if (extra) parts.push(extra);
  return `{${parts.join(',')}}`;
}
function histogram(name, t, seed) {
  const lines = [];
  let cum = 0;
  BOUNDS.forEach((le, i) => {
    if (i >= 5 && i <= 9) cum += (seed + i) % 7;
    lines.push(`${name}_bucket${tags(t, `le="${le}"`)} ${cum}`);
  });
  lines.push(`${name}_bucket${tags(t, 'le="+Inf"')} ${cum}`);
  lines.push(`${name}_sum${tags(t)} ${cum === 0 ? 0 : (cum * 37.2 + seed / 10).toPrecision(32).replace(/0+$/, '')}`);
  lines.push(`${name}_count${tags(t)} ${cum}`);
  return lines;
}

function buildPage(clusterCount) {
  const services = Array.from({ length: clusterCount }, (_, i) => `svc-${i}.ns-${i % 7}.svc.cluster.local`);
  const clusters = services.map((s, i) => `outbound|${8000 + (i % 5)}||${s}`);
  const families = [];
  const counter = (name, series) => families.push({ name, type: 'counter', series });
  const gauge = (name, series) => families.push({ name, type: 'gauge', series });
  const hist = (name, series) => families.push({ name, type: 'histogram', series });

  for (const c of [
    'assignment_stale',
    'assignment_timeout_received',
    'bind_errors',
    'default_total_match_count',
    'lb_healthy_panic',
    'lb_zone_no_capacity_left',
    'membership_change',
    'original_dst_host_invalid',
    'retry_or_shadow_abandoned',
    'update_attempt',
    'update_empty',
    'update_failure',
    'update_no_rebuild',
    'update_success',
    'upstream_cx_close_notify',
    'upstream_cx_connect_fail',
    'upstream_cx_connect_timeout',
    'upstream_cx_destroy',
    'upstream_cx_destroy_local',
    'upstream_cx_destroy_remote',
    'upstream_cx_http1_total',
    'upstream_cx_http2_total',
    'upstream_cx_none_healthy',
    'upstream_cx_overflow',
    'upstream_cx_protocol_error',
    'upstream_cx_rx_bytes_total',
    'upstream_cx_total',
    'upstream_cx_tx_bytes_total',
    'upstream_flow_control_paused_reading_total',
    'upstream_rq_cancelled',
    'upstream_rq_completed',
    'upstream_rq_maintenance_mode',
    'upstream_rq_pending_failure_eject',
    'upstream_rq_pending_overflow',
    'upstream_rq_pending_total',
    'upstream_rq_per_try_timeout',
    'upstream_rq_retry',
    'upstream_rq_retry_success',
    'upstream_rq_rx_reset',
    'upstream_rq_timeout',
    'upstream_rq_total',
    'upstream_rq_tx_reset',
  ]) {
    counter(
      `envoy_cluster_${c}`,
      clusters.map((cl, i) => [tags({ envoy_cluster_name: cl }), (i * 13) % 97]),
    );
  }
  for (const g of [
    'circuit_breakers_default_cx_open',
    'circuit_breakers_default_rq_open',
    'lb_subsets_active',
    'max_host_weight',
    'membership_degraded',
    'membership_excluded',
    'membership_healthy',
    'membership_total',
    'upstream_cx_active',
    'upstream_rq_active',
    'upstream_rq_pending_active',
    'version',
  ]) {
    gauge(
      `envoy_cluster_${g}`,
      clusters.map((cl, i) => [tags({ envoy_cluster_name: cl }), i % 3]),
    );
  }
  counter(
    'envoy_cluster_upstream_rq',
    clusters.flatMap((cl, i) =>
      ['200', '503'].map((code) => [tags({ envoy_response_code: code, envoy_cluster_name: cl }), i % 11]),
    ),
  );
  counter(
    'envoy_cluster_upstream_rq_xx',
    clusters.flatMap((cl, i) =>
      ['2', '5'].map((cls) => [tags({ envoy_response_code_class: cls, envoy_cluster_name: cl }), i % 5]),
    ),
  );
  for (const h of ['upstream_cx_connect_ms', 'upstream_cx_length_ms', 'upstream_rq_time']) {
    hist(
      `envoy_cluster_${h}`,
      clusters.map((cl, i) => ({ t: { envoy_cluster_name: cl }, seed: i })),
    );
  }
  const hcms = ['inbound_0.0.0.0_8080', 'outbound_0.0.0.0_9080', 'outbound_0.0.0.0_8000', 'admin', 'prometheus_stats'];
  for (const c of [
    'downstream_cx_destroy',
    'downstream_cx_http1_total',
    'downstream_cx_http2_total',
    'downstream_cx_rx_bytes_total',
    'downstream_cx_total',
    'downstream_cx_tx_bytes_total',
    'downstream_rq_completed',
    'downstream_rq_http1_total',
    'downstream_rq_total',
    'no_route',
    'rq_total',
  ]) {
    counter(
      `envoy_http_${c}`,
      hcms.map((p, i) => [tags({ envoy_http_conn_manager_prefix: p }), i * 31]),
    );
  }
  hist(
    'envoy_http_downstream_cx_length_ms',
    hcms.map((p, i) => ({ t: { envoy_http_conn_manager_prefix: p }, seed: i })),
  );
  hist(
    'envoy_http_downstream_rq_time',
    hcms.map((p, i) => ({ t: { envoy_http_conn_manager_prefix: p }, seed: i + 3 })),
  );
  const listeners = ['0.0.0.0_15006', '0.0.0.0_15001', '0.0.0.0_15090', '0.0.0.0_15021', '10.0.0.7_8080'];
  for (const c of [
    'downstream_cx_destroy',
    'downstream_cx_overflow',
    'downstream_cx_total',
    'downstream_pre_cx_timeout',
    'no_filter_chain_match',
  ]) {
    counter(
      `envoy_listener_${c}`,
      listeners.map((l, i) => [tags({ envoy_listener_address: l }), i]),
    );
    for (const w of [0, 1])
      counter(
        `envoy_listener_worker_${w}_${c}`,
        listeners.map((l, i) => [tags({ envoy_listener_address: l }), i]),
      );
  }
  hist(
    'envoy_listener_downstream_cx_length_ms',
    listeners.map((l, i) => ({ t: { envoy_listener_address: l }, seed: i })),
  );
  for (const g of [
    'concurrency',
    'days_until_first_cert_expiring',
    'hot_restart_epoch',
    'hot_restart_generation',
    'live',
    'memory_allocated',
    'memory_heap_size',
    'parent_connections',
    'state',
    'total_connections',
    'uptime',
    'version',
  ]) {
    gauge(`envoy_server_${g}`, [['{}', g === 'live' ? 1 : g === 'uptime' ? 11258 : g === 'concurrency' ? 2 : 0]]);
  }
  for (const c of [
    'debug_assertion_failures',
    'dynamic_unknown_fields',
    'envoy_bug_failures',
    'main_thread_watchdog_mega_miss',
    'main_thread_watchdog_miss',
    'static_unknown_fields',
    'worker_0_watchdog_miss',
    'worker_1_watchdog_miss',
  ]) {
    counter(`envoy_server_${c}`, [['{}', 0]]);
  }
  hist('envoy_server_initialization_time_ms', [{ t: {}, seed: 2 }]);
  for (const c of ['envoy_wasm_envoy_wasm_runtime_v8_active', 'envoy_wasm_envoy_wasm_runtime_v8_created'])
    gauge(c, [['{}', 3]]);
  const istio = (src, dst, code) => ({
    reporter: 'destination',
    source_workload: src,
    source_workload_namespace: 'demo',
    source_principal: `spiffe://cluster.local/ns/demo/sa/${src}`,
    source_app: src,
    source_version: 'v1',
    source_cluster: 'Kubernetes',
    destination_workload: dst,
    destination_workload_namespace: 'demo',
    destination_principal: `spiffe://cluster.local/ns/demo/sa/${dst}`,
    destination_app: dst,
    destination_version: 'v1',
    destination_service: `${dst}.demo.svc.cluster.local`,
    destination_service_name: dst,
    destination_service_namespace: 'demo',
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: code,
    grpc_response_status: '',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  });
  // Istio standard metrics: few families, long label sets; a service with eight callers.
  const pairs = services
    .slice(0, 8)
    .flatMap((s, i) => ['200', '503'].map((code) => istio(`client-${i}`, s.split('.')[0], code)));
  counter(
    'istio_requests_total',
    pairs.map((t, i) => [tags(t), i * 7]),
  );
  for (const h of ['istio_request_bytes', 'istio_request_duration_milliseconds', 'istio_response_bytes'])
    hist(
      h,
      pairs.map((t, i) => ({ t, seed: i })),
    );

  families.sort((a, b) => (a.name < b.name ? -1 : 1));
  const lines = [];
  const deferred = [];
  for (const f of families) {
    lines.push(`# TYPE ${f.name} ${f.type}`);
    const body =
      f.type === 'histogram'
        ? f.series.flatMap((s) => histogram(f.name, s.t, s.seed))
        : f.series.map(([t, v]) => `${f.name}${t} ${v}`);
    // A family split in two, the second run further down without a `# TYPE` line.
    if (f.name === 'envoy_cluster_upstream_rq_xx') {
      lines.push(...body.slice(0, body.length / 2));
      deferred.push(...body.slice(body.length / 2));
    } else lines.push(...body);
  }
  // The hfi families, scattered: counters near the top, the histogram split around other families.
  const hfi = histogram('wasmcustom_hfi_faults_delay_duration_milliseconds', {}, 4);
  const at = (frac) => Math.floor(lines.length * frac);
  lines.splice(at(0.9), 0, ...deferred, ...hfi.slice(12));
  lines.splice(at(0.6), 0, '# TYPE wasmcustom_hfi_faults_delay_duration_milliseconds histogram', ...hfi.slice(0, 12));
  lines.splice(
    at(0.3),
    0,
    '# TYPE wasmcustom_hfi_faults_delays_total counter',
    'wasmcustom_hfi_faults_delays_total{} 25',
  );
  lines.splice(
    at(0.1),
    0,
    '# TYPE wasmcustom_hfi_faults_aborts_total counter',
    'wasmcustom_hfi_faults_aborts_total{} 17',
  );
  return `${lines.join('\n')}\n`;
}

function pageOfAbout(targetLines) {
  let n = 50;
  let page = buildPage(n);
  for (let i = 0; i < 20; i++) {
    const lines = page.split('\n').length - 1;
    if (Math.abs(lines - targetLines) < targetLines * 0.01) break;
    n = Math.max(1, Math.round((n * targetLines) / lines));
    page = buildPage(n);
  }
  return page;
}

function measure(fn, { minRuns, budgetMs }) {
  for (let i = 0; i < 3; i++) fn(); // warm-up
  const times = [];
  const start = performance.now();
  if (global.gc) global.gc();
  while (times.length < minRuns || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    if (times.length >= minRuns && performance.now() - start > budgetMs) break;
  }
  times.sort((a, b) => a - b);
  return {
    runs: times.length,
    median: times[Math.floor(times.length / 2)],
    p95: times[Math.floor(times.length * 0.95)],
  };
}

async function measureAsync(fn, runs) {
  for (let i = 0; i < 3; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { runs, median: times[Math.floor(runs / 2)], p95: times[Math.floor(runs * 0.95)] };
}

async function main() {
  const page = pageOfAbout(TARGET_LINES);
  const lineCount = page.split('\n').length - 1;

  // Both paths must read the same numbers where the library can (it cannot regroup the split histogram).
  const ours = parsePodMetrics(page);
  const whole = parsePrometheusTextFormat(page);
  const wholeAborts = whole.find((f) => f.name === 'wasmcustom_hfi_faults_aborts_total');
  if (ours.aborts !== 17 || ours.delays !== 25 || Number(wholeAborts?.metrics[0]?.value) !== ours.aborts) {
    throw new Error('the two parsers disagree on the page');
  }
  if (ours.delayHistogram?.buckets.length !== 20) throw new Error('the split histogram lost buckets');

  const bytes = Buffer.from(page, 'utf8');
  const extract = measure(() => prefilterHfiText(page), { minRuns: 100, budgetMs: 1000 });
  const oursRun = measure(() => parsePodMetrics(page), { minRuns: 100, budgetMs: 1000 });
  const oursBytes = measure(() => parsePodMetrics(bytes), { minRuns: 100, budgetMs: 1000 });
  const baseline = measure(() => parsePrometheusTextFormat(page), { minRuns: 5, budgetMs: 1 });

  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
    res.end(page);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const source = new DirectSource([`http://127.0.0.1:${server.address().port}`]);
  const scrape = await measureAsync(() => source.snapshot(), 50);
  await source.close();
  server.close();

  const fmt = (x) => x.toFixed(2);
  console.log(`page: ${lineCount} lines, ${(page.length / 1024 / 1024).toFixed(2)} MiB; Node ${process.version}\n`);
  console.log('| what | runs | median ms | p95 ms | vs whole-page parse |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const row = (name, r) =>
    console.log(
      `| ${name} | ${r.runs} | ${fmt(r.median)} | ${fmt(r.p95)} | ${(baseline.median / r.median).toFixed(1)}× faster |`,
    );
  console.log(
    `| parse-prometheus-text-format, whole page (baseline) | ${baseline.runs} | ${fmt(baseline.median)} | ${fmt(baseline.p95)} | 1.0× |`,
  );
  row('pre-filter only (`prefilterHfiText`)', extract);
  row('extract + parse, page as a string (`parsePodMetrics`)', oursRun);
  row('extract + parse, page as received bytes (`parsePodMetrics`)', oursBytes);
  row('scrape over HTTP + extract + parse (`DirectSource.snapshot`)', scrape);
  const ok = oursRun.median < 5;
  console.log(`\ntarget: extract + parse under 5 ms — ${ok ? 'met' : 'NOT met'} (${fmt(oursRun.median)} ms median)`);
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
module.exports = { buildPage, pageOfAbout };
