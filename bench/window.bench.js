// A whole fault window, as a test runs it: openFaultWindow (policy written, every targeted sidecar's ack seen on
// GET /v1/nodes, baseline snapshot) → 100 requests through the sidecar, all aborted → win.metrics() (snapshot, delta,
// histogram flush check) → win.close() (policy deleted, acks, final snapshot). Wall time per window over several
// rounds, against a baseline measured in the same run: the same 100 requests with no window open. The reference
// system's scripts sleep 35 s after each policy change to let it propagate; that is the other comparison.
// Processes: this one drives the SDK and the requests; a child holds the upstream, the control plane and one local
// sidecar (real plugin.wasm, 2 workers, 50 ms stats flush).
// Needs the built packages (npm run build). Run: node bench/window.bench.js [--quick]
const { fork } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 4 : 10;
const WARM_UP_ROUNDS = 2;
const REQUESTS = 100;
const CONCURRENCY = 4;
const WORKERS = 2;
const REFERENCE_SLEEP_MS = 35_000;
const TARGET_MS = 500;

if (process.argv[2] === '--infra') infra();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

// --- child: upstream, control plane, sidecar ---------------------------------------------------------------------

async function infra() {
  const { startControlPlane } = require(path.join(ROOT, 'packages/control-plane/dist'));
  const { startSidecar } = require(path.join(ROOT, 'packages/filter/dist'));
  const upstream = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': 2 }).end('ok');
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const cp = await startControlPlane({ logLevel: 'silent' });
  const sidecar = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: `http://127.0.0.1:${upstream.address().port}`,
    controlPlane: cp.url,
    workload: 'frontend',
    namespace: 'demo',
    pod: 'frontend-0',
    workers: WORKERS,
    flushIntervalMs: 50,
    logSink: () => undefined,
  });
  process.send({ controlPlane: cp.url, url: sidecar.url, adminUrl: sidecar.adminUrl });
}

// --- main ------------------------------------------------------------------------------------------------------------

function percentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function main() {
  const { Agent, request } = require(path.join(ROOT, 'node_modules/undici'));
  const { HfiClient, DirectSource } = require(path.join(ROOT, 'packages/sdk/dist'));

  const child = fork(__filename, ['--infra'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const infraUrls = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`infra child exited with ${code}`)));
  });
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const metrics = new DirectSource([{ url: infraUrls.adminUrl, pod: 'frontend-0' }]);
  const hfi = new HfiClient({ controlPlane: infraUrls.controlPlane, metrics, ackTimeoutMs: 20_000 });

  /** `REQUESTS` requests, `CONCURRENCY` at a time; resolves with how many were aborted by the filter. */
  async function drive() {
    let next = 0;
    let aborted = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          next++;
          const res = await request(`${infraUrls.url}/api/items`, { dispatcher: agent });
          await res.body.text();
          if (res.headers['x-fault-injected'] !== undefined) aborted++;
        }
      }),
    );
    return aborted;
  }

  try {
    // Both workers have polled the control plane once: a window then targets both.
    const readyBy = Date.now() + 30_000;
    for (;;) {
      const { nodes } = await hfi.nodes();
      if (nodes.filter((n) => !n.stale && n.pod === 'frontend-0').length >= WORKERS) break;
      if (Date.now() > readyBy) throw new Error('the sidecar never polled the control plane');
      await new Promise((r) => setTimeout(r, 20));
    }

    const phases = { open: [], requests: [], metrics: [], close: [], window: [], baseline: [] };
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      const measured = round >= WARM_UP_ROUNDS;

      // Baseline: the same requests, no window.
      const b0 = performance.now();
      const untouched = await drive();
      const b1 = performance.now();
      if (untouched !== 0) throw new Error(`baseline: ${untouched} requests were aborted with no window open`);

      const t0 = performance.now();
      const win = await hfi.openFaultWindow({
        name: `bench-window-${round}`,
        selector: { service: 'frontend', namespace: 'demo' },
        match: { method: 'GET', path: { prefix: '/api' } },
        abort: { httpStatus: 503 },
        percentage: 100,
        duration: '60s',
      });
      const t1 = performance.now();
      const aborted = await drive();
      const t2 = performance.now();
      const delta = await win.metrics();
      const t3 = performance.now();
      await win.close();
      const t4 = performance.now();
      if (aborted !== REQUESTS || delta.aborts !== REQUESTS) {
        throw new Error(`round ${round}: ${aborted} aborted responses, Δaborts ${delta.aborts}; expected ${REQUESTS}`);
      }
      if (measured) {
        phases.baseline.push(b1 - b0);
        phases.open.push(t1 - t0);
        phases.requests.push(t2 - t1);
        phases.metrics.push(t3 - t2);
        phases.close.push(t4 - t3);
        phases.window.push(t4 - t0);
      }
    }

    const base = stats(phases.baseline);
    const fmt = (ms) => ms.toFixed(1);
    const row = (label, s, vsReference = true) =>
      `| ${label} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${(s.p50 / base.p50).toFixed(2)} | ${vsReference ? (REFERENCE_SLEEP_MS / s.p50).toFixed(0) : '–'} |`;
    console.log(
      `${ROUNDS} rounds after ${WARM_UP_ROUNDS} warm-up; ${REQUESTS} GET requests, ${CONCURRENCY} at a time, through one local sidecar (${WORKERS} workers, 50 ms flush); abort at 100%`,
    );
    console.log('');
    console.log('| case | p50 ms | p99 ms | x baseline (p50) | reference 35 s sleep ÷ p50 |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    console.log(row('baseline: 100 requests, no window', base, false));
    console.log(row('whole window (open → 100 requests → metrics → close)', stats(phases.window)));
    console.log(row('  open (policy, acks, baseline snapshot)', stats(phases.open)));
    console.log(row('  100 requests inside the window', stats(phases.requests)));
    console.log(row('  metrics() (snapshot, delta, flush check)', stats(phases.metrics)));
    console.log(row('  close() (delete, acks, final snapshot)', stats(phases.close)));
    console.log('');
    // Aborted requests never reach the upstream, so the 100 requests inside the window can be faster than the
    // baseline's; the window's own cost is open + metrics + close.
    const whole = stats(phases.window);
    const met = whole.p99 < TARGET_MS;
    console.log(
      `target: a whole window < ${TARGET_MS} ms → p50 ${fmt(whole.p50)} ms, p99 ${fmt(whole.p99)} ms (${met ? 'met' : 'NOT met'})`,
    );
  } finally {
    await hfi.close();
    await metrics.close();
    await agent.close();
    child.kill('SIGTERM');
  }
}
