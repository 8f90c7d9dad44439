// Local sidecar throughput and latency with the hfi filter against the same sidecar with a no-op plugin (baseline),
// and the upstream reached directly for reference, on loopback. The filter has 10 policies loaded that apply to the
// workload but do not match the traffic (the usual case while a fault window targets other requests). Processes:
// this one drives the load; a child holds the upstream and the control plane; each sidecar (1 worker) has a child
// of its own, so that each can report its own CPU time.
// Two phases, both reported, each with its own verdict against the target, as they answer different questions:
// 1. At saturation (closed loop): autocannon, 10 connections per sidecar, each sending its next request as soon as
//    the last is answered. A 1-worker sidecar is then CPU-bound, so a request's p50 is mostly time queued behind the
//    other connections' requests: this measures what the filter costs per request, and its p50 ratio follows the
//    CPU ratio. Two designs, both reported:
//    a. One sidecar at a time, runs of a pair back to back in ABBA order, the sidecar's main thread on a CPU of its
//       own and every other thread on the others (lib/cpu-placement.js), as proxies are benchmarked and as the
//       delay-accuracy verdict is taken. It gives the verdict, and each sidecar's throughput alone (and the open
//       loop's rate). Where the sidecar cannot have a CPU of its own (not Linux, one CPU, no taskset) its runs share
//       the CPUs, where the CPU time a request costs changes from one second to the next by more than the filter
//       adds; design b then gives the verdict.
//    b. Both sidecars at once on shared CPUs, each driven by autocannon instances of its own: whatever slows the
//       machine slows both through the same seconds. Each run's p50 ratio is taken at equal CPU shares (p50 × the
//       process's share of the CPUs, as a closed loop's p50 follows CPU per request / CPU share), since the kernel
//       does not always split the CPUs evenly between the two. Contention on shared CPUs adds to both sidecars' CPU
//       per request, which makes the filter's share of it smaller than on a CPU of its own.
// 2. At a fixed rate below saturation (open loop, as latency objectives are judged and as wrk2 drives load): a
//    quarter of the no-op sidecar's throughput in phase 1a, requests due at evenly spaced instants over 10
//    connections whatever the answers do. A request then seldom waits behind another, so its p50 is its own path
//    through the sidecar. autocannon's overallRate cannot drive this: it gives each connection a budget of
//    requests per second, which the connection sends back to back as each second begins before idling, so a run
//    is a burst at saturation. This file paces the requests itself (see openLoad).
// Paired designs, as one long run per sidecar is at the mercy of whatever else the shared machine does meanwhile:
// many short runs; each pair gives one filter/no-op ratio per measure; each verdict uses the median pair ratio of
// p50, with a distribution-free confidence interval of that median, and the tables show min–max over the pairs.
// Short runs make more pairs in the same time (autocannon ends a run at its next sample tick, so the sample interval
// is 50 ms, not 1 s). The pairs are split among six pairs of sidecar processes, started afresh one after the other:
// what V8 makes of the same code (what it inlines, where the code lands) differs between processes by about as much
// as the filter costs, and pairing runs cannot cancel that.
// In both phases latency percentiles come from every response's own time (autocannon's histogram keeps whole
// milliseconds only).
// Sidecar CPU per request = the sidecar process's user+system CPU time during a run / the requests the upstream got
// (one sidecar at a time) or / the requests autocannon got answered (both at once).
// On Linux each sidecar also reports how long its main thread waited for a CPU while runnable (the run-queue wait
// of /proc/thread-self/schedstat): a gauge of how contended the machine was while it ran.
// Needs the built packages (npm run build). Run: node bench/sidecar.bench.js [--quick]
const { fork } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Worker } = require('node:worker_threads');
const { median, medianInterval, pairedDifferences, pairedRatios, percentile } = require('./lib/paired-ratios');
const { openConnection } = require('./lib/burst-client');
const { cpuPlacement } = require('./lib/cpu-placement');
const { cpuWaitMs, runProxyInfra, startAppliedSidecar } = require('./lib/proxy-fixture');

const ROOT = path.join(__dirname, '..');
const QUICK = process.argv.includes('--quick');
const PATH = '/api/products/OLJCESPC7Z';
/** Fresh (no-op, filter) sidecar processes, one after the other; the pairs of runs are split evenly among them. */
const SIDECAR_PAIRS = QUICK ? 1 : 6;
/** Runs with both sidecars under load at once (design b). */
const PAIRS = QUICK ? 6 : 18;
/** Back-to-back pairs of runs at saturation, one sidecar at a time (design a). */
const ALONE_PAIRS = QUICK ? 6 : 30;
const RUN_SECONDS = 1;
const WARMUP_SECONDS = QUICK ? [1, 0.5] : [2, 1];
/** A warm-up run of each sidecar once its main thread is on a CPU of its own. */
const PIN_WARMUP_SECONDS = 0.5;
const CONNECTIONS = 10;
const OPEN_PAIRS = QUICK ? 5 : 18;
const OPEN_WARMUP_SECONDS = QUICK ? 0.5 : 1;
/** The open-loop rate, as a share of the no-op sidecar's closed-loop throughput, rounded to a multiple of this. */
const OPEN_RATE_SHARE = 0.25;
const OPEN_RATE_STEP = 250;
/** An open-loop run whose answers came at less than this share of the rate asked for did not run at that rate. */
const OPEN_RATE_SHORTFALL = 0.9;
const TARGET_P50_PERCENT = 5;

if (process.argv[2] === '--infra') infra();
else if (process.argv[2] === '--sidecar') sidecar(JSON.parse(process.argv[3]));
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

// --- child: upstream + control plane -----------------------------------------------------------------------------

function infra() {
  return runProxyInfra(require(path.join(ROOT, 'packages/control-plane/dist')).startControlPlane);
}

// --- child: one sidecar ------------------------------------------------------------------------------------------

async function sidecar({ kind, upstream, controlPlane, revision }) {
  const common = { upstream, controlPlane, workers: 1 };
  const { noopPluginPath } = require('./lib/noop-plugin');
  const { sidecar: s, message } =
    kind === 'filter'
      ? await startAppliedSidecar({ ...common, workload: 'frontend' }, revision)
      : await startAppliedSidecar({ ...common, workload: 'frontend-noop', plugin: noopPluginPath() });
  process.on('message', (msg) => {
    if (msg === 'usage') {
      const { user, system } = process.cpuUsage();
      process.send({ cpuMicros: user + system, waitMs: cpuWaitMs(), atMs: performance.now() });
    }
  });
  process.send({ url: s.url, message });
}

// --- driver ------------------------------------------------------------------------------------------------------

/** Forks this file with `args`; resolves once the child sent its first message, with `ask` for later requests. */
function start(args) {
  const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => {
      const replies = [];
      child.on('message', (reply) => replies.shift()?.(reply));
      const ask = (question) => {
        const reply = new Promise((r) => replies.push(r));
        child.send(question);
        return reply;
      };
      resolve({ child, msg, ask });
    });
    child.once('exit', (code) => reject(new Error(`child ${args[0]} exited with ${code}`)));
  });
}

/** Closed loop: autocannon, CONNECTIONS connections each sending its next request as soon as the last is answered. */
async function load(url, seconds) {
  const autocannon = require('autocannon');
  const times = [];
  const instance = autocannon({
    url: `${url}${PATH}`,
    connections: CONNECTIONS,
    duration: seconds,
    sampleInt: 50,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) times.push(ms);
  });
  const result = await instance;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  times.sort((a, b) => a - b);
  return {
    rps: result.requests.total / result.duration,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    requests: result.requests.total,
  };
}

// Paces an open-loop run from a thread of its own: one message per request, sent when the request falls due.
// Atomics.wait sleeps to a fraction of a millisecond; the main thread's timers fire on whole milliseconds, which
// at intervals under a few ms sends a large share of the requests in twos, the second queued behind the first.
const PACER = `
const { parentPort, workerData: { total, interval } } = require('node:worker_threads');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const start = performance.now();
for (let i = 0; i < total; i++) {
  const wait = start + i * interval - performance.now();
  if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
  parentPort.postMessage(i);
}
`;

/**
 * Open loop at `rate` requests/s for `seconds`, paced as wrk2 paces: requests fall due at evenly spaced instants,
 * whatever the answers do, each going out on an idle one of CONNECTIONS keep-alive connections (round robin), or
 * on the first to become idle. A request's latency runs from the moment this driver took it up, so time spent
 * waiting for a free connection counts and the driver's own lateness does not, to the last byte of its answer.
 * `rps` is the rate the answers came at (from the first to the last), short of `rate` only when the target cannot
 * keep up; `overlap` is the share of requests taken up while another was still unanswered. Answers must carry a
 * content-length (the sidecar buffers bodies, so they do).
 */
async function openLoad(url, seconds, rate) {
  const total = Math.round(seconds * rate);
  const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => openConnection(url)));
  const times = [];
  const answeredAt = [];
  let overlapping = 0;
  let pacer;
  try {
    await new Promise((resolve, reject) => {
      const idle = [...connections];
      const waiting = [];
      let outstanding = 0;
      let watchdog;
      const fail = (message) => {
        clearTimeout(watchdog);
        reject(new Error(`${url}: ${message}`));
      };
      watchdog = setTimeout(() => fail(`${total - times.length} of ${total} answers missing`), seconds * 1000 + 10_000);
      const send = (connection, takenAt) =>
        connection.get(PATH).then(
          ({ status, head }) => {
            const now = performance.now();
            if (status !== 200) return fail(`answer ${head.split('\r\n')[0]}`);
            times.push(now - takenAt);
            answeredAt.push(now);
            outstanding--;
            if (times.length === total) {
              clearTimeout(watchdog);
              resolve();
            } else if (waiting.length) send(connection, waiting.shift());
            else idle.push(connection);
          },
          (err) => fail(err.message),
        );
      pacer = new Worker(PACER, { eval: true, workerData: { total, interval: 1000 / rate } });
      pacer.on('error', reject);
      pacer.on('message', () => {
        const now = performance.now();
        if (outstanding++ > 0) overlapping++;
        const connection = idle.shift();
        if (connection) send(connection, now);
        else waiting.push(now);
      });
    });
  } finally {
    await pacer?.terminate();
    for (const connection of connections) connection.close();
  }
  times.sort((a, b) => a - b);
  const span = (answeredAt[answeredAt.length - 1] - answeredAt[0]) / 1000;
  return {
    rps: (total - 1) / span,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    overlap: overlapping / total,
  };
}

/**
 * One run (`run` drives the load) through a sidecar, with the sidecar process's CPU time per request the upstream
 * received and the share of the run its main thread spent waiting for a CPU.
 */
async function measure(target, infra, run) {
  const [before, servedBefore] = await Promise.all([target.ask('usage'), infra.ask('served')]);
  const result = await run(target.url);
  const [after, servedAfter] = await Promise.all([target.ask('usage'), infra.ask('served')]);
  const requests = servedAfter.served - servedBefore.served;
  if (requests <= 0) throw new Error(`${target.url}: the upstream got no requests`);
  return withUsage(result, before, after, requests);
}

/** A run's figures with the sidecar's CPU per request, its share of the CPUs and its wait for one, from two 'usage'. */
function withUsage(result, before, after, requests) {
  const cpuMicros = after.cpuMicros - before.cpuMicros;
  const ms = after.atMs - before.atMs;
  return {
    ...result,
    cpuPerRequest: cpuMicros / requests,
    cpuShare: cpuMicros / 1000 / ms,
    waitShare: (after.waitMs - before.waitMs) / ms,
  };
}

/** `count` pairs of runs (no-op, filter) in ABBA order: no-op first in even pairs, filter first in odd ones. */
async function pairedRuns(noop, filter, infra, count, run) {
  const pairs = [];
  for (let i = 0; i < count; i++) {
    const pair = {};
    for (const member of i % 2 ? ['candidate', 'baseline'] : ['baseline', 'candidate']) {
      pair[member] = await measure(member === 'baseline' ? noop : filter, infra, run);
    }
    pairs.push(pair);
  }
  return pairs;
}

/**
 * `count` runs in which both sidecars take load at once, each from autocannon instances of its own in this driver
 * (the one started first alternates). Both are CPU-bound on the same machine at the same moments, so a change in the
 * machine's speed (load from elsewhere, the hypervisor) hits both alike; the kernel shares the CPUs between the two
 * busy processes, so each one's throughput and p50 follow its own CPU cost per request. CPU per request here is per
 * request autocannon got answered (the upstream cannot tell the two apart).
 */
async function togetherRuns(noop, filter, count, run) {
  const pairs = [];
  for (let i = 0; i < count; i++) {
    const before = await Promise.all([noop.ask('usage'), filter.ask('usage')]);
    const [baseline, candidate] =
      i % 2
        ? (await Promise.all([run(filter.url), run(noop.url)])).reverse()
        : await Promise.all([run(noop.url), run(filter.url)]);
    const after = await Promise.all([noop.ask('usage'), filter.ask('usage')]);
    const pair = {
      baseline: withUsage(baseline, before[0], after[0], baseline.requests),
      candidate: withUsage(candidate, before[1], after[1], candidate.requests),
    };
    // The p50 the filter would have had with the no-op's CPU time: closed loop, p50 ∝ CPU per request / CPU share.
    pair.baseline.p50AtEqualCpu = pair.baseline.p50;
    pair.candidate.p50AtEqualCpu = (pair.candidate.p50 * pair.candidate.cpuShare) / pair.baseline.cpuShare;
    pairs.push(pair);
  }
  return pairs;
}

const KEYS = ['rps', 'p50', 'p99', 'cpuPerRequest'];
const medians = (runs) =>
  Object.fromEntries([...KEYS, 'waitShare'].map((key) => [key, median(runs.map((run) => run[key]))]));
const pct = (ratio) => `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(1)}%`;
const share = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : 'n/a');

/**
 * Prints one phase's table (upstream directly, no-op, filter), the p50 ratio of each pair, the CPU the filter adds
 * per request and how contended the machine was; returns the phase's target line, labelled `label`.
 */
function report(label, pairs, direct, { verdict = true, verdictKey = 'p50' } = {}) {
  const base = medians(pairs.map((p) => p.baseline));
  const cand = medians(pairs.map((p) => p.candidate));
  const ref = medians(direct);
  const ratios = Object.fromEntries(KEYS.map((key) => [key, pairedRatios(pairs, key)]));
  const cpuAdded = pairedDifferences(pairs, 'cpuPerRequest');

  const digits = { rps: 0, p50: 3, p99: 3, cpuPerRequest: 1 };
  const value = (key, v) => (Number.isFinite(v) ? v.toFixed(digits[key]) : '—');
  const paired = (s) => `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
  const row = (name, runs, values, ratioCells) =>
    `| ${name} | ${runs} | ${KEYS.map((key, k) => `${value(key, values[key])} | ${ratioCells[k]}`).join(' | ')} |`;

  console.log('| case | runs | req/s | × no-op | p50 ms | × no-op | p99 ms | × no-op | sidecar CPU µs/req | × no-op |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  if (direct.length > 0) {
    console.log(
      row(
        'upstream directly (reference)',
        direct.length,
        { ...ref, cpuPerRequest: Number.NaN },
        KEYS.map((key) => (key === 'cpuPerRequest' ? '—' : (ref[key] / base[key]).toFixed(3))),
      ),
    );
  }
  console.log(
    row(
      'sidecar, no-op plugin (baseline)',
      pairs.length,
      base,
      KEYS.map(() => '1.000'),
    ),
  );
  console.log(
    row(
      'sidecar, hfi filter (10 policies, no match)',
      pairs.length,
      cand,
      KEYS.map((key) => paired(ratios[key])),
    ),
  );

  const added = (ratio) => (ratio - 1) * 100;
  const p50 = pairedRatios(pairs, verdictKey);
  const ci = medianInterval(p50.values);
  const cpuCi = medianInterval(cpuAdded.values);
  const met = added(p50.median) < TARGET_P50_PERCENT;
  const settled =
    added(ci.high) < TARGET_P50_PERCENT || added(ci.low) >= TARGET_P50_PERCENT
      ? `settled: the whole interval is ${met ? 'below' : 'at or above'} +${TARGET_P50_PERCENT}%`
      : `not settled by this run: the interval straddles +${TARGET_P50_PERCENT}%`;
  console.log('');
  console.log(`p50 filter/no-op per pair, in run order: ${ratios.p50.values.map((r) => r.toFixed(3)).join(' ')}`);
  if (verdictKey !== 'p50') {
    console.log(
      `the same at equal CPU shares (× the filter's CPU share / the no-op's), in run order: ` +
        `${p50.values.map((r) => r.toFixed(3)).join(' ')}; median ${pct(p50.median)} (raw p50: ${pct(ratios.p50.median)})`,
    );
  }
  if (SIDECAR_PAIRS > 1) {
    const perProcesses = Array.from({ length: SIDECAR_PAIRS }, (_, s) =>
      pct(
        median(
          pairs
            .filter((pair) => pair.sidecars === s)
            .map((pair) => pair.candidate[verdictKey] / pair.baseline[verdictKey]),
        ),
      ),
    );
    console.log(`p50 filter/no-op, median per pair of sidecar processes: ${perProcesses.join(', ')}`);
    const cpuOf = (member) =>
      Array.from({ length: SIDECAR_PAIRS }, (_, s) =>
        median(pairs.filter((pair) => pair.sidecars === s).map((pair) => pair[member].cpuPerRequest)).toFixed(1),
      ).join(', ');
    console.log(
      `sidecar CPU µs per request, median per pair of sidecar processes: no-op ${cpuOf('baseline')}; ` +
        `filter ${cpuOf('candidate')}`,
    );
  }
  console.log(
    `sidecar CPU per request (medians): no-op ${base.cpuPerRequest.toFixed(1)} µs, filter ` +
      `${cand.cpuPerRequest.toFixed(1)} µs; the filter adds ${cpuAdded.median.toFixed(1)} µs per request ` +
      `(median of the per-pair differences; ${(cpuCi.coverage * 100).toFixed(0)}% confidence interval ` +
      `${cpuCi.low.toFixed(1)} to ${cpuCi.high.toFixed(1)}; pairs ${cpuAdded.min.toFixed(1)} to ${cpuAdded.max.toFixed(1)})`,
  );
  const cpuShare = (member) => median(pairs.map((pair) => pair[member].cpuShare)).toFixed(2);
  console.log(
    `CPU each sidecar got during its runs (median over the runs, in cores): no-op ${cpuShare('baseline')}, ` +
      `filter ${cpuShare('candidate')}`,
  );
  console.log(
    `sidecar main thread runnable but waiting for a CPU (median share of a run): no-op ${share(base.waitShare)}, ` +
      `filter ${share(cand.waitShare)} (high shares mean a contended machine and a wider spread)`,
  );
  const spread =
    `(median of ${pairs.length} pairs; ${(ci.coverage * 100).toFixed(0)}% confidence interval of the median ` +
    `${pct(ci.low)} to ${pct(ci.high)}; pairs ${pct(p50.min)} to ${pct(p50.max)})`;
  if (!verdict) return `${label}: the filter adds ${pct(p50.median)} at p50 ${spread}`;
  return (
    `target ${label}: the filter adds < ${TARGET_P50_PERCENT}% at p50 → ${pct(p50.median)} ${spread} ` +
    `(${met ? 'met' : 'NOT met'}; ${settled})`
  );
}

/** The rates the open-loop runs achieved (and any that fell short of `rate`), and how often requests overlapped. */
function achievedRates(rate, pairs, direct) {
  const spreadOf = (runs) => {
    const rates = runs.map((run) => run.rps);
    return `${median(rates).toFixed(0)} (${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)})`;
  };
  const short = [];
  pairs.forEach((pair, i) => {
    for (const [member, name] of [
      ['baseline', 'no-op'],
      ['candidate', 'filter'],
    ]) {
      if (pair[member].rps < rate * OPEN_RATE_SHORTFALL)
        short.push(`pair ${i + 1} ${name} ${pair[member].rps.toFixed(0)}`);
    }
  });
  direct.forEach((run, i) => {
    if (run.rps < rate * OPEN_RATE_SHORTFALL) short.push(`upstream run ${i + 1} ${run.rps.toFixed(0)}`);
  });
  const shortfall = Math.round((1 - OPEN_RATE_SHORTFALL) * 100);
  console.log(
    `achieved rates, req/s (median, min–max over the runs): no-op ${spreadOf(pairs.map((p) => p.baseline))}, ` +
      `filter ${spreadOf(pairs.map((p) => p.candidate))}, upstream directly ${spreadOf(direct)}; ` +
      (short.length
        ? `WARNING: ${short.length} run(s) fell more than ${shortfall}% short of ${rate} req/s, so their latency ` +
          `includes queueing: ${short.join(', ')}`
        : `every run within ${shortfall}% of ${rate} req/s`),
  );
  const overlap = (runs) => share(median(runs.map((run) => run.overlap)));
  console.log(
    'requests sent while another was still unanswered (median share of a run): ' +
      `no-op ${overlap(pairs.map((p) => p.baseline))}, filter ${overlap(pairs.map((p) => p.candidate))}, ` +
      `upstream directly ${overlap(direct)}`,
  );
}

/** A no-op and a filter sidecar, each in a fresh process of its own. */
async function startSidecars(env, children) {
  return Promise.all(
    ['noop', 'filter'].map(async (kind) => {
      const s = await start(['--sidecar', JSON.stringify({ ...env, kind })]);
      children.push(s.child);
      return { url: s.msg.url, message: s.msg.message, ask: s.ask, child: s.child };
    }),
  );
}

async function main() {
  const loadAverage = () => os.loadavg()[0].toFixed(1);
  const loadAtStart = loadAverage();
  const children = [];
  const placement = cpuPlacement();
  try {
    const infra = await start(['--infra']);
    children.push(infra.child);
    const env = infra.msg;
    const pairs = [];
    const together = [];
    const direct = [];
    const openPairs = [];
    const openDirect = [];
    let rate;
    let saturated;
    let filterMessage;
    // Each process pair runs its share of both phases: what V8 makes of the hot code (what it inlines, where the code
    // lands) differs from one process to the next, by about as much as the filter costs, so one pair of processes
    // alone could decide the verdict by its luck.
    for (let s = 0; s < SIDECAR_PAIRS; s++) {
      const [noop, filter] = await startSidecars(env, children);
      filterMessage = filter.message;
      const portion = (total) =>
        Math.round(((s + 1) * total) / SIDECAR_PAIRS) - Math.round((s * total) / SIDECAR_PAIRS);
      const tag = (runs) => runs.map((pair) => ({ ...pair, sidecars: s }));

      // Phase 1: closed loop, at saturation.
      for (const seconds of WARMUP_SECONDS) {
        // warm-up: JIT (also of the wasm), connections
        await load(noop.url, seconds);
        await load(filter.url, seconds);
      }
      const closed = (url) => load(url, RUN_SECONDS);
      if (s === 0) direct.push(await closed(env.upstream));
      const pids = { helpers: [infra.child.pid], sidecars: [noop.child.pid, filter.child.pid] };
      if (placement.available) {
        placement.pin(pids);
        // A thread moved to another CPU starts with cold caches there.
        for (const target of [noop, filter]) await load(target.url, PIN_WARMUP_SECONDS);
      }
      pairs.push(...tag(await pairedRuns(noop, filter, infra, portion(ALONE_PAIRS), closed)));
      if (placement.available) placement.share(pids);
      if (s === SIDECAR_PAIRS - 1) direct.push(await closed(env.upstream));
      together.push(...tag(await togetherRuns(noop, filter, portion(PAIRS), closed)));

      // Phase 2: open loop, at a fixed rate well below the no-op sidecar's throughput at saturation (measured with
      // the first process pair).
      if (rate === undefined) {
        saturated = median(pairs.map((p) => p.baseline.rps));
        rate = Math.max(OPEN_RATE_STEP, Math.round((saturated * OPEN_RATE_SHARE) / OPEN_RATE_STEP) * OPEN_RATE_STEP);
      }
      await openLoad(noop.url, OPEN_WARMUP_SECONDS, rate);
      await openLoad(filter.url, OPEN_WARMUP_SECONDS, rate);
      const open = (url) => openLoad(url, RUN_SECONDS, rate);
      if (s === 0) openDirect.push(await open(env.upstream));
      openPairs.push(...tag(await pairedRuns(noop, filter, infra, portion(OPEN_PAIRS), open)));
      if (s === SIDECAR_PAIRS - 1) openDirect.push(await open(env.upstream));
      noop.child.kill();
      filter.child.kill();
    }
    const loadAtEnd = loadAverage();

    console.log(
      `GET ${PATH.replace(/[^/]*$/, '…')} on loopback; each sidecar in a process of its own, 1 worker; ` +
        `${SIDECAR_PAIRS} pair(s) of sidecar processes, started afresh one pair after the other, each running its ` +
        `share of both phases; pairs of ${RUN_SECONDS} s runs (no-op, filter) in ABBA order; upstream directly: a ` +
        `run before and a run after the pairs; ${os.cpus().length} CPUs; 1-minute load average ${loadAtStart} at ` +
        `start, ${loadAtEnd} at end`,
    );
    console.log(
      'Values are medians over the runs. "× no-op" for the filter: median over the pairs of the per-pair ratio ' +
        'filter/no-op (min–max over the pairs); for the upstream: ratio of the medians (not paired). Sidecar CPU ' +
        "µs/req: the sidecar process's user+system CPU time during a run / requests the upstream got; time the " +
        'sidecar spends waiting for a CPU (load from elsewhere) does not enter it, so it is the least noisy measure ' +
        'here of what the filter costs per request.',
    );
    console.log('');
    const ownCpu = placement.available
      ? `, on a CPU of its own (its main thread on CPU ${placement.own}, every other thread on CPU ${placement.others})`
      : '';
    console.log(
      `At saturation (closed loop, ${CONNECTIONS} connections), one sidecar at a time${ownCpu}: autocannon, ` +
        `${ALONE_PAIRS} pairs after warm-up runs of ${WARMUP_SECONDS.join(' + ')} s each on shared CPUs` +
        `${placement.available ? ` and of ${PIN_WARMUP_SECONDS} s on its own CPU` : ''}. The ` +
        "1-worker sidecar is CPU-bound: p50 is mostly time queued behind the other connections' requests, so the p50 " +
        "ratio follows the CPU ratio. These runs give each sidecar's throughput alone. " +
        (placement.available
          ? 'This is the verdict at saturation, as a proxy is judged on a CPU of its own. The upstream directly: on ' +
            'shared CPUs.'
          : `The sidecar cannot be given a CPU of its own here (${placement.reason}), so these runs share the CPUs ` +
            'and their p50 ratio is not the verdict: the CPU time a request costs then changes from one second to ' +
            'the next by more than the filter adds (see the CPU column), and the two runs of a pair are a second ' +
            'apart.'),
    );
    console.log('');
    const aloneLine = report(
      `at saturation (closed loop, ${CONNECTIONS} connections), one at a time${placement.available ? ', on a CPU of its own' : ''}`,
      pairs,
      direct,
      { verdict: placement.available },
    );
    console.log('');
    console.log(
      `At saturation (closed loop, ${CONNECTIONS} connections each), both sidecars at once: ${PAIRS} runs, each ` +
        'sidecar driven by autocannon instances of its own from this process, started together (the no-op first ' +
        'in even runs, the filter first in odd ones). Both are CPU-bound through the same seconds, so whatever ' +
        'slows the machine slows both. The kernel shares the CPUs between the two busy processes, not always ' +
        'evenly (their CPU line below): a closed loop p50 follows CPU per request / CPU share, so this design ' +
        "takes each run's p50 ratio at equal CPU shares (× the filter's share / the no-op's). Sidecar CPU µs/req " +
        "here: CPU time / requests answered. Contention adds to both sidecars' CPU per request, so the filter's " +
        (placement.available
          ? 'share of it is smaller here than on a CPU of its own; for comparison.'
          : 'share of it is smaller here than on a CPU of its own. This is the verdict at saturation here.'),
    );
    console.log('');
    const togetherLine = report(
      `at saturation (closed loop, ${CONNECTIONS} connections), both at once on shared CPUs, at equal CPU shares`,
      together,
      [],
      { verdict: !placement.available, verdictKey: 'p50AtEqualCpu' },
    );
    console.log('');
    console.log(
      `At a fixed ${rate} req/s (open loop, ${CONNECTIONS} connections): ${(OPEN_RATE_SHARE * 100).toFixed(0)}% of ` +
        `the no-op sidecar's ${saturated.toFixed(0)} req/s at saturation, rounded to a multiple of ${OPEN_RATE_STEP}; ` +
        `requests due every ${(1000 / rate).toFixed(2)} ms whatever the answers do (as wrk2 paces; autocannon's ` +
        "overallRate sends each second's requests in a burst at its start); a request's latency runs from when " +
        'this driver took it up, waiting for a free connection included, to the last byte of its answer; ' +
        `${OPEN_PAIRS} pairs after a warm-up run of ${OPEN_WARMUP_SECONDS} s each. A request seldom waits behind ` +
        'another, so p50 is its own path through the sidecar.',
    );
    console.log('');
    const openTarget = report(`at a fixed ${rate} req/s (open loop)`, openPairs, openDirect);
    achievedRates(rate, openPairs, openDirect);
    console.log('');
    console.log(
      'Each phase has its own verdict: at saturation p50 follows what the filter costs per request; at a fixed ' +
        'rate below saturation it is the latency a request sees.',
    );
    const [closedTarget, closedComparison] = placement.available
      ? [aloneLine, togetherLine]
      : [togetherLine, aloneLine];
    console.log(closedTarget);
    console.log(openTarget);
    console.log(`for comparison: ${closedComparison}`);
    console.log(`filter sidecar: ${filterMessage}`);
  } finally {
    for (const child of children) child.kill();
  }
}
