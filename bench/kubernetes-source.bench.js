// KubernetesSource over 200 pods: list through the API server, then each pod's :15090/stats/prometheus through the
// pod proxy, against the FAKE API server (testing/fake-kube-api-server; no real one can run here). Concurrency 16
// (the default) against concurrency 1, the baseline. Each configuration runs in its own process so its peak RSS is
// its own. Requires the built SDK and filter: `npx tsc -b packages/sdk`. Takes about 15 s.
const { fork, spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');

const PODS = 200;
const SNAPSHOTS = 5;
const CLUSTERS = 10;
const CONFIGS = [16, 1];
const PROXY_LATENCY_MS = 5;

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

// The fake API server runs in its own process, as the real one would, so the client's time and RSS are its own.
// Each proxy answer is held PROXY_LATENCY_MS, standing for the API server → kubelet → pod round trip.
async function server() {
  const { startFakeKubeApiServer } = require('../packages/sdk/dist/testing/index.js');
  const { createStatsStore } = require('../packages/filter/dist/stats/store.js');
  const pages = Array.from({ length: PODS }, (_, i) => buildPage(createStatsStore, i));
  const fake = await startFakeKubeApiServer({
    pods: pages.map((page, i) => ({
      name: `frontend-7d9f8c-${String(i).padStart(5, '0')}`,
      namespace: 'demo',
      labels: { app: 'frontend' },
      backend: () => new Promise((resolve) => setTimeout(() => resolve({ body: page }), PROXY_LATENCY_MS)),
    })),
  });
  process.on('message', (msg) => {
    if (msg === 'reset') fake.resetCounters();
    if (msg === 'report') process.send({ maxInFlight: fake.maxProxyInFlight });
    if (msg === 'stop') fake.close().then(() => process.exit(0));
  });
  process.send({
    kubeconfig: fake.kubeconfig(),
    pageBytes: pages[0].length,
    pageLines: pages[0].toString().split('\n').length - 1,
  });
}

async function client(concurrency, kubeconfig) {
  const { KubernetesSource } = require('../packages/sdk/dist/metrics/index.js');
  const source = new KubernetesSource({ namespace: 'demo', labelSelector: 'app=frontend', kubeconfig, concurrency });
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
  times.sort((a, b) => a - b);
  return {
    concurrency,
    medianMs: times[Math.floor(times.length / 2)],
    minMs: times[0],
    maxMs: times[times.length - 1],
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    idleRssMb: idleRss / 1024 / 1024,
  };
}

function nextMessage(proc) {
  return new Promise((resolve, reject) => {
    proc.once('message', resolve);
    proc.once('exit', (code) => reject(new Error(`fake API server exited with ${code}`)));
  });
}

async function main() {
  const started = performance.now();
  const fakeProcess = fork(__filename, ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { kubeconfig, pageBytes, pageLines } = await nextMessage(fakeProcess);
  const results = [];
  try {
    for (const c of CONFIGS) {
      fakeProcess.send('reset');
      const r = await run(process.execPath, [...process.execArgv, __filename, '--client', String(c)], kubeconfig);
      fakeProcess.send('report');
      const { maxInFlight } = await nextMessage(fakeProcess);
      results.push({ ...JSON.parse(r.trim().split('\n').pop()), maxInFlight });
    }
  } finally {
    fakeProcess.send('stop');
  }
  const base = results.find((r) => r.concurrency === 1);
  const f = (x) => x.toFixed(1);
  console.log(
    `${PODS} pods, ${SNAPSHOTS} snapshots per row after a warm-up; each pod's page ${pageLines} lines ` +
      `(${(pageBytes / 1024).toFixed(0)} KiB); proxy answers held ${PROXY_LATENCY_MS} ms; ` +
      'the fake API server in its own process\n',
  );
  console.log(
    '| concurrency | ms/snapshot (median) | min–max ms | time vs c=1 | peak RSS MB | RSS before snapshots MB | peak RSS vs c=1 | max proxy requests in flight |',
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

/** Runs a client process with the kubeconfig on stdin; resolves with its stdout. */
function run(cmd, args, kubeconfig) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (c) => {
      out += c;
    });
    proc.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`client exited with ${code}`))));
    proc.stdin.end(kubeconfig);
  });
}

async function readStdin() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

const fail = (err) => {
  console.error(err);
  process.exit(1);
};
if (process.argv[2] === '--server') {
  server().catch(fail);
} else if (process.argv[2] === '--client') {
  readStdin()
    .then((kubeconfig) => client(Number(process.argv[3]), kubeconfig))
    .then((r) => console.log(JSON.stringify(r)), fail);
} else {
  main().catch(fail);
}
