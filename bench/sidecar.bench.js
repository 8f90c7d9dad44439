// Local sidecar throughput and latency with the hfi filter against the same sidecar with a no-op plugin (baseline),
// and the upstream reached directly for reference. autocannon on loopback, 10 connections. The filter has 10
// policies loaded that apply to the workload but do not match the traffic (the usual case while a fault window
// targets other requests). Processes: this one drives autocannon; a child holds the upstream and the control plane;
// another child holds both sidecars (1 worker each; only one is loaded at a time). Runs alternate between the two
// sidecars so that load from other processes on this shared machine hits both alike.
// Latency percentiles come from every response's own time (autocannon's histogram keeps whole milliseconds only).
// Needs the built packages (npm run build). Run: node bench/sidecar.bench.js [--quick]
const { fork } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const QUICK = process.argv.includes('--quick');
const RUN_SECONDS = QUICK ? 3 : 7;
const ROUNDS = 2;
const CONNECTIONS = 10;

if (process.argv[2] === '--infra') infra();
else if (process.argv[2] === '--sidecars') sidecars(JSON.parse(process.argv[3]));
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

// --- child: upstream + control plane -----------------------------------------------------------------------------

async function infra() {
  const { startControlPlane } = require(path.join(ROOT, 'packages/control-plane/dist'));
  const body = Buffer.from(
    JSON.stringify({ id: 'OLJCESPC7Z', name: 'Sunglasses', price: { currency: 'USD', units: 19 } }),
  );
  const upstream = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const cp = await startControlPlane({ logLevel: 'silent' });
  let revision = 0;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${cp.url}/v1/policies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: `bench-${i}` },
        spec: {
          selector: { service: 'frontend', namespace: 'demo' },
          rules: [
            {
              match:
                i % 2
                  ? { path: { prefix: `/checkout/${i}/` } }
                  : { method: { exact: 'POST' }, path: { regex: '^/cart/[0-9]+$' } },
              fault: { percentage: 100, abort: { httpStatus: 503 } },
            },
          ],
        },
      }),
    });
    revision = (await res.json()).status.revision;
  }
  process.send({ upstream: `http://127.0.0.1:${upstream.address().port}`, controlPlane: cp.url, revision });
}

// --- child: the two sidecars --------------------------------------------------------------------------------------

async function sidecars({ upstream, controlPlane, revision }) {
  const { startSidecar } = require(path.join(ROOT, 'packages/filter/dist'));
  const { noopPluginPath } = require('./lib/noop-plugin');
  let resolveApplied;
  const applied = new Promise((resolve) => {
    resolveApplied = resolve;
  });
  const common = { listen: '127.0.0.1:0', admin: '127.0.0.1:0', upstream, controlPlane, namespace: 'demo', workers: 1 };
  const filter = await startSidecar({
    ...common,
    workload: 'frontend',
    logSink: (line) => {
      if (line.includes(`applied revision ${revision}:`)) resolveApplied(line.replace(/^.*hfi: /, ''));
    },
  });
  const noop = await startSidecar({
    ...common,
    workload: 'frontend-noop',
    plugin: noopPluginPath(),
    logSink: () => {},
  });
  const message = await applied;
  process.send({ filter: filter.url, noop: noop.url, message });
}

// --- driver -------------------------------------------------------------------------------------------------------

function start(args) {
  const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, msg }));
    child.once('exit', (code) => reject(new Error(`child ${args[0]} exited with ${code}`)));
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function load(url, seconds) {
  const autocannon = require('autocannon');
  const times = [];
  const instance = autocannon({ url: `${url}/api/products/OLJCESPC7Z`, connections: CONNECTIONS, duration: seconds });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) times.push(ms);
  });
  const result = await instance;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  times.sort((a, b) => a - b);
  return { rps: result.requests.total / result.duration, p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main() {
  const { child: infraChild, msg: env } = await start(['--infra']);
  const { child: sidecarChild, msg: urls } = await start(['--sidecars', JSON.stringify(env)]);
  const children = [infraChild, sidecarChild];
  try {
    const runs = { direct: [], noop: [], filter: [] };
    await load(urls.noop, 1); // warm-up (JIT, connections)
    await load(urls.filter, 1);
    runs.direct.push(await load(env.upstream, RUN_SECONDS));
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of r % 2 ? ['filter', 'noop'] : ['noop', 'filter'])
        runs[name].push(await load(urls[name], RUN_SECONDS));
    }
    const mean = (list, key) => list.reduce((sum, x) => sum + x[key], 0) / list.length;
    const rows = [
      ['upstream directly (reference)', runs.direct],
      ['sidecar, no-op plugin (baseline)', runs.noop],
      ['sidecar, hfi filter (10 policies, no match)', runs.filter],
    ].map(([label, list]) => ({ label, rps: mean(list, 'rps'), p50: mean(list, 'p50'), p99: mean(list, 'p99') }));
    const base = rows[1];
    console.log(
      `autocannon, ${CONNECTIONS} connections, GET /api/products/…, ${RUN_SECONDS} s per run; sidecars: ${ROUNDS} runs each, alternating, averaged; 1 worker`,
    );
    console.log('');
    console.log('| case | req/s | x baseline | p50 ms | x baseline | p99 ms | x baseline |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(
        `| ${r.label} | ${r.rps.toFixed(0)} | ${(r.rps / base.rps).toFixed(2)} | ${r.p50.toFixed(3)} | ` +
          `${(r.p50 / base.p50).toFixed(2)} | ${r.p99.toFixed(3)} | ${(r.p99 / base.p99).toFixed(2)} |`,
      );
    }
    const added = (rows[2].p50 / base.p50 - 1) * 100;
    console.log('');
    console.log(`target: the filter adds < 5% at p50 → ${added.toFixed(1)}% (${added < 5 ? 'met' : 'NOT met'})`);
    console.log(`filter sidecar: ${urls.message}`);
  } finally {
    for (const child of children) child.kill();
  }
}
