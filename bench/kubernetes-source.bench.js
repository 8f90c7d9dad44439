// KubernetesSource over 200 pods: list through the API server, then each pod's :15090/stats/prometheus through the
// pod proxy, against the FAKE API server (testing/fake-kube-api-server; no real one can run here). Concurrency 16
// (the default) against concurrency 1, the baseline. Each configuration runs in its own process so its peak RSS is
// its own. Requires the built SDK and filter: `npx tsc -b packages/sdk`. Takes about 10 s.
const { spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');

const PODS = 200;
const SNAPSHOTS = 5;
const CLUSTERS = 10;
const CONFIGS = [16, 1];

// A sidecar's page with Envoy's formatting (the filter's stats store): the hfi families, the server gauges and a
// few outbound clusters' counters, gauges and 20-bucket histograms.
function buildPage(createStatsStore, seed) {
  const store = createStatsStore({ inclusionPrefixes: ['cluster.outbound'] });
  store.incrementMetric(store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total'), BigInt(1 + seed));
  store.incrementMetric(store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total'), 3n);
  const duration = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
  for (const ms of [120n, 450n, 3000n]) store.recordMetric(duration, ms);
  for (let c = 0; c < CLUSTERS; c++) {
    const cluster = `cluster.outbound|${8000 + (c % 5)}||svc-${c}.ns-${c % 3}.svc.cluster.local`;
    for (const name of ['upstream_cx_total', 'upstream_rq_total', 'upstream_rq_completed', 'upstream_rq_retry']) {
      store.incrementMetric(store.defineStat('counter', `${cluster}.${name}`), BigInt(1 + ((seed + c) % 50)));
    }
    for (const name of ['upstream_cx_active', 'upstream_rq_active']) {
      store.recordMetric(store.defineStat('gauge', `${cluster}.${name}`), BigInt(c % 3));
    }
    for (const name of ['upstream_rq_time', 'upstream_cx_length_ms']) {
      const id = store.defineStat('histogram', `${cluster}.${name}`);
      for (let i = 0; i < 10; i++) store.recordMetric(id, BigInt(1 + ((c * 31 + i * 47) % 3000)));
    }
  }
  store.flush();
  return Buffer.from(store.renderPrometheus());
}

async function child(concurrency) {
  const { KubernetesSource } = require('../packages/sdk/dist/metrics/index.js');
  const { startFakeKubeApiServer } = require('../packages/sdk/dist/testing/index.js');
  const { createStatsStore } = require('../packages/filter/dist/stats/store.js');
  const pages = Array.from({ length: PODS }, (_, i) => buildPage(createStatsStore, i));
  const fake = await startFakeKubeApiServer({
    pods: pages.map((page, i) => ({
      name: `frontend-7d9f8c-${String(i).padStart(5, '0')}`,
      namespace: 'demo',
      labels: { app: 'frontend' },
      backend: () => ({ body: page }),
    })),
  });
  const source = new KubernetesSource({
    namespace: 'demo',
    labelSelector: 'app=frontend',
    kubeconfig: fake.kubeconfig(),
    concurrency,
  });
  const check = (snap) => {
    const bad = snap.pods.filter((p) => p.error !== undefined || p.metrics.aborts === undefined);
    if (snap.pods.length !== PODS || bad.length > 0) throw new Error(`bad snapshot: ${bad[0]?.error}`);
  };
  check(await source.snapshot()); // warm-up: loads @kubernetes/client-node, JIT
  if (global.gc) global.gc();
  const idleRss = process.memoryUsage().rss;
  const times = [];
  for (let i = 0; i < SNAPSHOTS; i++) {
    const t0 = performance.now();
    check(await source.snapshot());
    times.push(performance.now() - t0);
  }
  await fake.close();
  times.sort((a, b) => a - b);
  return {
    concurrency,
    medianMs: times[Math.floor(times.length / 2)],
    minMs: times[0],
    maxMs: times[times.length - 1],
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    idleRssMb: idleRss / 1024 / 1024,
    maxInFlight: fake.maxProxyInFlight,
    pageBytes: pages[0].length,
    pageLines: pages[0].toString().split('\n').length - 1,
  };
}

function main() {
  const started = performance.now();
  const results = CONFIGS.map((c) => {
    const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', String(c)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`child (concurrency ${c}) failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  });
  const base = results.find((r) => r.concurrency === 1);
  const f = (x) => x.toFixed(1);
  console.log(
    `${PODS} pods, ${SNAPSHOTS} snapshots each after a warm-up; page ${results[0].pageLines} lines ` +
      `(${(results[0].pageBytes / 1024).toFixed(0)} KiB) per pod; fake API server in the same process\n`,
  );
  console.log(
    '| concurrency | ms/snapshot (median) | min–max ms | vs c=1 | peak RSS MB | RSS before snapshots MB | vs c=1 | max proxy requests in flight |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.concurrency}${r.concurrency === 1 ? ' (baseline)' : ''} | ${f(r.medianMs)} | ${f(r.minMs)}–${f(r.maxMs)} | ` +
        `${(r.medianMs / base.medianMs).toFixed(2)}× | ${f(r.peakRssMb)} | ${f(r.idleRssMb)} | ` +
        `${(r.peakRssMb / base.peakRssMb).toFixed(2)}× | ${r.maxInFlight} |`,
    );
  }
  console.log(`\nTotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[2] === '--child') {
  child(Number(process.argv[3])).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main();
}
