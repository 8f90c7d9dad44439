// Control-plane benchmarks: watch fan-out (1,000 and 10,000 held watches, one write) and POST /v1/policies latency
// at a fixed 500 requests/s on the memory, file and etcd stores. The control plane runs in a child process (its
// own event loop and RSS); this process is the client. Each row carries a ratio against a baseline measured in the
// same run: an un-watched write for fan-out, GET /v1/health at the same rate for POST latency.
// Needs the built packages (npm run build). Run: node bench/control-plane.bench.js [--quick]

const { fork, spawnSync } = require('node:child_process');
const http = require('node:http');
const net = require('node:net');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const { tmpdir } = os;
const { join } = require('node:path');

const DIST = join(__dirname, '..', 'packages', 'control-plane', 'dist');

if (process.argv[2] === '--server') {
  serve(process.argv[3], process.argv[4]);
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Server side (child process)

function serve(store, logLevel) {
  const { startControlPlane } = require(DIST);
  startControlPlane({ store, logLevel, watchTimeoutMs: 300000 }).then((cp) => {
    process.send({ url: cp.url });
    process.on('message', async (msg) => {
      if (msg === 'rss') process.send({ rss: process.memoryUsage().rss });
      if (msg === 'stop') {
        await cp.close();
        process.exit(0);
      }
    });
  });
}

function startServer(store, logLevel = 'info') {
  // stdout to /dev/null: the access log is written (one line per request, as in production) but not kept.
  const child = fork(__filename, ['--server', store, logLevel], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const replies = [];
  child.on('message', (m) => replies.shift()?.(m));
  const next = () => new Promise((resolve) => replies.push(resolve));
  return next().then(({ url }) => ({
    url,
    rss: async () => {
      const reply = next();
      child.send('rss');
      return (await reply).rss;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.send('stop');
      await exited;
    },
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Client helpers

const controlAgent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });

function call(method, url, { body, agent = controlAgent } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {};
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function policy(name) {
  return {
    metadata: { name },
    spec: {
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [{ match: { path: { prefix: '/api/' } }, fault: { percentage: 50, abort: { httpStatus: 503 } } }],
    },
  };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function pendingWatches(url) {
  const text = (await call('GET', `${url}/metrics`)).text;
  return Number(/^hfi_control_plane_pending_watches (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Server-side hand-off time so far (sum of seconds, count) from the control plane's own histogram. */
async function fanOutTotals(url) {
  const text = (await call('GET', `${url}/metrics`)).text;
  const read = (suffix) =>
    Number(new RegExp(`^hfi_control_plane_watch_fanout_duration_seconds_${suffix} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}

async function revisionOf(url) {
  return JSON.parse((await call('GET', `${url}/v1/policies`)).text).revision;
}

// ---------------------------------------------------------------------------------------------------------------
// (a) Watch fan-out

/**
 * A sidecar-like watcher on its own keep-alive connection, speaking just enough HTTP/1.1 to send a GET and know
 * when the answer is complete: the client must stay cheap, or this process (not the server) is what gets measured.
 */
class Watcher {
  constructor(port) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.setEncoding('latin1');
    this.buffer = '';
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (err) => this.reject?.(err));
  }

  get(path) {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.buffer = '';
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
  }

  onData(chunk) {
    this.buffer += chunk;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) return;
    const length = Number(/content-length: *(\d+)/i.exec(this.buffer.slice(0, end))?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const status = Number(this.buffer.slice(9, 12));
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.({ status, at: now() });
  }

  close() {
    this.socket.destroy();
  }
}

/**
 * `warmUp` unrecorded rounds first: the first answers of a fresh server run while V8 is still compiling the watch
 * path (the first round takes 3–4 times as long). Their times are returned as `warmUpTimes`, shown on their own.
 */
async function fanOut(server, count, rounds, warmUp) {
  const port = Number(new URL(server.url).port);
  const watchers = [];
  for (let i = 0; i < count; i++) {
    watchers.push(new Watcher(port));
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 10)); // stay under the listen backlog
  }
  const allAnswered = [];
  const perWatch = [];
  const handOff = [];
  const warmUpTimes = [];
  let rss = 0;
  try {
    for (let round = -warmUp; round < rounds; round++) {
      const revision = await revisionOf(server.url);
      const answers = watchers.map((w, i) =>
        w.get(
          `/v1/policies?watch=true&revision=${revision}&timeout_ms=300000&instance=bench-${i}&workload=bench&namespace=bench&pod=bench-${i}`,
        ),
      );
      while ((await pendingWatches(server.url)) < count) await new Promise((r) => setTimeout(r, 20));
      if (round === -warmUp) rss = await server.rss();
      const before = await fanOutTotals(server.url);
      const t0 = now();
      await call('POST', `${server.url}/v1/policies`, { body: policy('fan-out') });
      const done = await Promise.all(answers);
      if (done.some((a) => a.status !== 200)) throw new Error('a watch was not answered with 200');
      const times = done.map((a) => a.at - t0);
      if (round < 0) {
        warmUpTimes.push(Math.max(...times));
        continue;
      }
      allAnswered.push(Math.max(...times));
      perWatch.push(...times);
      const after = await fanOutTotals(server.url);
      if (after.count > before.count) handOff.push(((after.sum - before.sum) * 1000) / (after.count - before.count));
    }
  } finally {
    for (const w of watchers) w.close();
  }
  return { allAnswered, perWatch, handOff, warmUpTimes, rss };
}

async function unwatchedWrites(server, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await call('POST', `${server.url}/v1/policies`, { body: policy('fan-out') });
    times.push(now() - t);
  }
  return times;
}

// ---------------------------------------------------------------------------------------------------------------
// (b) Open-loop fixed-rate latency: requests leave on schedule whether or not earlier ones have returned.

async function fixedRate(rate, seconds, send) {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies = [];
  const inflight = [];
  const start = now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = now();
    inflight.push(
      send(i).then((res) => {
        if (res.status >= 300) throw new Error(`answered ${res.status}: ${res.text}`);
        latencies.push(now() - t);
      }),
    );
  }
  await Promise.all(inflight);
  return { latencies, achievedRate: total / ((now() - start) / 1000) };
}

async function postLatency(store, { rate, seconds }) {
  const server = await startServer(store);
  try {
    // Warm up the JIT and the connection pool.
    await fixedRate(rate, 1, (i) => call('POST', `${server.url}/v1/policies`, { body: policy(`warm-${i % 50}`) }));
    const baseline = await fixedRate(rate, seconds, () => call('GET', `${server.url}/v1/health`));
    const posts = await fixedRate(rate, seconds, (i) =>
      call('POST', `${server.url}/v1/policies`, { body: policy(`bench-${i % 50}`) }),
    );
    return { baseline, posts };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const quick = process.argv.includes('--quick');
  const load = () => os.loadavg()[0].toFixed(1);
  const loadAtStart = load();
  const rate = 500;
  const seconds = quick ? 2 : 5;

  // (a) fan-out on the memory store
  const fanRows = [];
  {
    const server = await startServer('memory');
    try {
      await unwatchedWrites(server, 50); // warm-up
      const baseline = await unwatchedWrites(server, 200);
      const baseRss = await server.rss();
      for (const [watches, rounds, warmUp] of quick
        ? [
            [1000, 5, 1],
            [10000, 2, 1],
          ]
        : [
            [1000, 20, 3],
            [10000, 5, 1],
          ]) {
        const r = await fanOut(server, watches, rounds, warmUp);
        fanRows.push({ watches, rounds, baseline, baseRss, ...r });
      }
    } finally {
      await server.stop();
    }
  }

  console.log('\n### Watch fan-out (memory store): one write, time until every held watch has its answer\n');
  console.log(
    '| held watches | rounds | all answered p50 (ms) | all answered p99 (ms) | per-watch p99 (ms) | server hand-off p50 (ms) | baseline: un-watched write p50 (ms) | ratio (all-answered p99 / baseline p50) | server RSS idle → held (MiB) | warm-up rounds, all answered (ms) | target |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of fanRows) {
    const p99 = percentile(r.allAnswered, 99);
    const base = percentile(r.baseline, 50);
    console.log(
      `| ${r.watches} | ${r.rounds} | ${ms(percentile(r.allAnswered, 50))} | ${ms(p99)} | ${ms(percentile(r.perWatch, 99))} | ${ms(percentile(r.handOff, 50))} | ${ms(base)} | ${(p99 / base).toFixed(1)}× | ${(r.baseRss / 2 ** 20).toFixed(0)} → ${(r.rss / 2 ** 20).toFixed(0)} | ${r.warmUpTimes.map(ms).join(', ')} | ${r.watches === 1000 ? `p99 < 100 ms: ${p99 < 100 ? 'met' : 'NOT met'}` : 'report'} |`,
    );
  }

  // (b) POST latency at a fixed rate, per store
  const stores = [['memory', () => 'memory', () => undefined]];
  const dir = mkdtempSync(join(tmpdir(), 'hfi-bench-'));
  stores.push(['file', () => `file:${join(dir, 'policies.json')}`, () => undefined]);
  let etcd;
  const haveEtcd = spawnSync('etcd', ['--version']).status === 0;
  if (haveEtcd) {
    const { startEtcd } = require(join(DIST, 'testing', 'etcd.js'));
    etcd = await startEtcd();
    stores.push(['etcd', () => `etcd:${etcd.endpoint}`, () => undefined]);
  }
  const postRows = [];
  try {
    for (const [name, spec] of stores) postRows.push({ name, ...(await postLatency(spec(), { rate, seconds })) });
  } finally {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`\n### POST /v1/policies latency at a fixed ${rate} requests/s for ${seconds} s (open loop)\n`);
  console.log(
    '| store | requests | achieved rate (/s) | p50 (ms) | p99 (ms) | max (ms) | baseline: GET /v1/health p99 at the same rate (ms) | ratio (POST p99 / baseline p99) | target |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of postRows) {
    const p99 = percentile(r.posts.latencies, 99);
    const base = percentile(r.baseline.latencies, 99);
    console.log(
      `| ${r.name} | ${r.posts.latencies.length} | ${r.posts.achievedRate.toFixed(0)} | ${ms(percentile(r.posts.latencies, 50))} | ${ms(p99)} | ${ms(Math.max(...r.posts.latencies))} | ${ms(base)} | ${(p99 / base).toFixed(1)}× | ${r.name === 'memory' ? `p99 < 5 ms: ${p99 < 5 ? 'met' : 'NOT met'}` : 'report'} |`,
    );
  }
  if (!haveEtcd) console.log('| etcd | – | – | – | – | – | – | – | skipped: `etcd` not on PATH |');
  console.log(
    `\n${os.cpus().length} CPUs; 1-minute load average ${loadAtStart} at start, ${load()} at end (other work on the machine inflates tails).`,
  );
  controlAgent.destroy();
}
