// Delay accuracy: bursts of 200 concurrent requests through a local sidecar (default 2 workers, child process) whose
// filter delays them by 120 ms, against bursts the filter lets through (the no-fault baseline, same sidecar, same
// run); rounds alternate the two. End to end, error = latency − 120 ms − the baseline's median latency; but with 200
// at once the baseline is mostly queueing in the sidecar, which a delayed request spends partly inside its delay, so
// the sidecar also reports how long the filter held each stream (on_request_headers paused → resumed): error =
// held − 120 ms. A sequential run (one request at a time) gives the end-to-end error without queueing.
// Needs the built packages (npm run build).
// Run: node bench/delay-accuracy.bench.js [--quick]
const { fork } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const CONCURRENCY = 200;
const DELAY_MS = 120;
const ROUNDS = process.argv.includes('--quick') ? 2 : 8;

if (process.argv[2] === '--sidecar') sidecar();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

// --- child: control plane, upstream, sidecar ------------------------------------------------------------------------

async function sidecar() {
  const { startControlPlane } = require(path.join(ROOT, 'packages/control-plane/dist'));
  const { startSidecar } = require(path.join(ROOT, 'packages/filter/dist'));
  const upstream = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': 2 }).end('ok');
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const cp = await startControlPlane({ logLevel: 'silent' });
  const res = await fetch(`${cp.url}/v1/policies`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      metadata: { name: 'delay-accuracy' },
      spec: {
        selector: { service: 'frontend' },
        rules: [
          { match: { path: { exact: '/slow' } }, fault: { percentage: 100, delay: { fixed_delay_ms: DELAY_MS } } },
        ],
      },
    }),
  });
  const { revision } = (await res.json()).status;
  let applied = 0;
  let resolveApplied;
  const ready = new Promise((resolve) => {
    resolveApplied = resolve;
  });
  const s = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: `http://127.0.0.1:${upstream.address().port}`,
    controlPlane: cp.url,
    workload: 'frontend',
    namespace: 'demo',
    logSink: (line) => {
      if (line.includes(`applied revision ${revision}:`) && ++applied === 2) resolveApplied();
    },
  });
  await ready;
  // How long the filter holds each paused stream, measured around the host's stream API.
  let held = [];
  const newStream = s.plugin.newStream.bind(s.plugin);
  s.plugin.newStream = (info) => {
    const stream = newStream(info);
    const onRequestHeaders = stream.onRequestHeaders.bind(stream);
    stream.onRequestHeaders = (headers, endOfStream) => {
      const started = now();
      const action = onRequestHeaders(headers, endOfStream);
      if (action === 'pause') void stream.whenResumed().then(() => held.push(now() - started));
      return action;
    };
    return stream;
  };
  process.on('message', (msg) => {
    if (msg === 'held') {
      process.send({ held });
      held = [];
    }
  });
  process.send({ url: s.url });
}

// --- driver -------------------------------------------------------------------------------------------------------

const now = () => Number(process.hrtime.bigint()) / 1e6;

function get(url, agent) {
  return new Promise((resolve, reject) => {
    const started = now();
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(now() - started) : reject(new Error(`${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

const burst = (url, agent) => Promise.all(Array.from({ length: CONCURRENCY }, () => get(url, agent)));

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const child = fork(__filename, ['--sidecar'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies = [];
  child.on('message', (msg) => replies.shift()?.(msg));
  const next = () => new Promise((resolve) => replies.push(resolve));
  const heldTimes = async () => {
    const reply = next();
    child.send('held');
    return (await reply).held;
  };
  try {
    const { url } = await Promise.race([
      next(),
      new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`sidecar child exited with ${code}`)))),
    ]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    await burst(`${url}/fast`, agent); // warm-up: JIT, and 200 open connections
    await burst(`${url}/slow`, agent);
    await heldTimes();
    const baseline = [];
    const delayed = [];
    for (let r = 0; r < ROUNDS; r++) {
      baseline.push(...(await burst(`${url}/fast`, agent)));
      delayed.push(...(await burst(`${url}/slow`, agent)));
    }
    const held = await heldTimes();
    const sequentialBase = [];
    const sequential = [];
    for (let i = 0; i < 40; i++) {
      sequentialBase.push(await get(`${url}/fast`, agent));
      sequential.push(await get(`${url}/slow`, agent));
    }
    const heldSequential = await heldTimes();
    agent.destroy();

    const base50 = percentile(baseline, 50);
    const errors = delayed.map((ms) => ms - DELAY_MS - base50);
    const fmt = (n) => n.toFixed(2);
    console.log(
      `${ROUNDS} rounds of ${CONCURRENCY} concurrent requests each, no fault and then a ${DELAY_MS} ms delay, through ` +
        'one local sidecar (2 workers, child process), keep-alive connections',
    );
    console.log('');
    console.log('| measure | samples | p50 ms | p99 ms | max ms |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    const row = (label, values) =>
      console.log(
        `| ${label} | ${values.length} | ${fmt(percentile(values, 50))} | ${fmt(percentile(values, 99))} | ${fmt(Math.max(...values))} |`,
      );
    row('baseline latency, no fault', baseline);
    row(`latency with the ${DELAY_MS} ms delay`, delayed);
    row(`end-to-end error: latency − ${DELAY_MS} ms − baseline p50`, errors);
    const heldErrors = held.map((ms) => ms - DELAY_MS);
    row(`in the sidecar: held − ${DELAY_MS} ms`, heldErrors);
    const seqBase = percentile(sequentialBase, 50);
    const seqErrors = sequential.map((ms) => ms - DELAY_MS - seqBase);
    row('one at a time: baseline latency', sequentialBase);
    row(`one at a time: latency − ${DELAY_MS} ms − baseline p50`, seqErrors);
    row(
      `one at a time, in the sidecar: held − ${DELAY_MS} ms`,
      heldSequential.map((ms) => ms - DELAY_MS),
    );
    const p99 = percentile(heldErrors, 99);
    console.log('');
    console.log(
      `target: error p99 < 5 ms → held in the sidecar ${fmt(p99)} ms (${p99 < 5 ? 'met' : 'NOT met'}); ` +
        `end to end ${fmt(percentile(errors, 99))} ms under 200-way concurrency, ` +
        `${fmt(percentile(seqErrors, 99))} ms one at a time`,
    );
  } finally {
    child.kill();
  }
}
