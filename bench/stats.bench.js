// /stats/prometheus rendering of the local sidecar's stats store: the three hfi metrics plus ~2,000 built-in
// cluster stats (Istio tag extraction, 19 default buckets), against a baseline measured in the same run — joining
// the very lines the renderer emits, i.e. the cost of producing the bytes with no model behind them.
// Requires the built filter package: `npx tsc -b packages/filter`. Runs in a few seconds.
const { performance } = require('node:perf_hooks');
const { createStatsStore } = require('../packages/filter/dist/stats/store.js');

const CLUSTERS = 100;
const COUNTERS = [
  'upstream_cx_total',
  'upstream_cx_destroy',
  'upstream_cx_connect_fail',
  'upstream_cx_rx_bytes_total',
  'upstream_cx_tx_bytes_total',
  'upstream_rq_total',
  'upstream_rq_completed',
  'upstream_rq_retry',
  'upstream_rq_timeout',
  'upstream_rq_pending_total',
  'upstream_rq_cancelled',
  'upstream_rq_200',
  'upstream_rq_503',
  'update_success',
];
const GAUGES = ['upstream_cx_active', 'upstream_rq_active', 'membership_healthy', 'membership_total'];
const HISTOGRAMS = ['upstream_rq_time', 'upstream_cx_length_ms'];

function buildStore() {
  const store = createStatsStore({ inclusionPrefixes: ['cluster.outbound'] });
  const aborts = store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
  const delays = store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total');
  const duration = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
  store.incrementMetric(aborts, 12n);
  store.incrementMetric(delays, 30n);
  for (let i = 0; i < 30; i++) store.recordMetric(duration, BigInt(100 + i * 17));
  let defined = 3;
  for (let c = 0; c < CLUSTERS; c++) {
    const cluster = `cluster.outbound|${8000 + (c % 5)}||svc-${c}.ns-${c % 7}.svc.cluster.local`;
    for (const name of COUNTERS) {
      const id = store.defineStat('counter', `${cluster}.${name}`);
      if (c % 3 !== 0) store.incrementMetric(id, BigInt(1 + ((c * 13) % 97)));
      defined++;
    }
    for (const name of GAUGES) {
      store.recordMetric(store.defineStat('gauge', `${cluster}.${name}`), BigInt(c % 3));
      defined++;
    }
    for (const name of HISTOGRAMS) {
      const id = store.defineStat('histogram', `${cluster}.${name}`);
      for (let i = 0; i < 20; i++) store.recordMetric(id, BigInt(1 + ((c * 31 + i * 47) % 3000)));
      defined++;
    }
  }
  store.flush();
  return { store, defined };
}

function measure(fn, minMs = 1500) {
  for (let i = 0; i < 20; i++) fn(); // warm-up
  if (global.gc) global.gc();
  let iterations = 0;
  let sink = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    sink += fn().length;
    iterations++;
    elapsed = performance.now() - start;
  }
  return { meanMs: elapsed / iterations, iterations, sink };
}

const { store, defined } = buildStore();
const body = store.renderPrometheus();
const lines = body.split('\n');
const cases = [
  ['baseline: join of the same lines', () => lines.join('\n')],
  ['renderPrometheus()', () => store.renderPrometheus()],
  ['renderPrometheus({ usedOnly })', () => store.renderPrometheus({ usedOnly: true })],
  ['renderPrometheus({ filter: /hfi/ })', () => store.renderPrometheus({ filter: /hfi/ })],
  ['renderText()', () => store.renderText()],
  [
    'flush() (202 histograms)',
    () => {
      store.flush();
      return '';
    },
  ],
];

console.log(
  `stats: ${defined} defined, /stats/prometheus ${lines.length} lines, ${(body.length / 1024).toFixed(0)} KiB`,
);
const results = cases.map(([name, fn]) => ({ name, ...measure(fn) }));
const base = results[0].meanMs;
console.table(
  results.map((r) => ({
    case: r.name,
    'mean ms': r.meanMs.toFixed(3),
    'ops/s': Math.round(1000 / r.meanMs),
    'x baseline': (r.meanMs / base).toFixed(1),
  })),
);
