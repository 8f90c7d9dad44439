// Bytes the local sidecar allocates per proxied request, with the hfi filter against the same sidecar with a no-op
// plugin (baseline), and the garbage collections they cost: with many requests in flight a scavenge pauses the
// sidecar for milliseconds, and bench/delay-accuracy.bench.js reports how much of its tail such pauses explain.
// Processes: this one drives autocannon (10 connections, a fixed number of requests); a child holds the upstream and
// the control plane; each sidecar (1 worker) has a child of its own, so that only its own allocations are counted.
// The filter has 10 policies loaded that apply to the workload but do not match the traffic (as in
// bench/sidecar.bench.js). Each sidecar gets a warm-up run first, then rounds (alternating the two) of a profiled run,
// where its process samples its allocations with V8's sampling heap profiler, objects that minor and major GCs
// collected included (without those it shows only what survives), and a plain run, where it records its GC pauses and
// counts its allocations again without sampling, from the heap's growth between GCs (a check on the sampled figure).
// Needs the built packages (npm run build). Run: node bench/allocation.bench.js [--quick]
const { fork } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { SourceMap } = require('node:module');
const path = require('node:path');
const { runProxyInfra, startAppliedSidecar } = require('./lib/proxy-fixture');

const ROOT = path.join(__dirname, '..');
const QUICK = process.argv.includes('--quick');
const REQUESTS = QUICK ? 2000 : 8000;
const WARM_UP_REQUESTS = REQUESTS / 2;
const RUNS = 2;
const CONNECTIONS = 10;
const SAMPLING_INTERVAL = 256;
const TOP_SITES = 12;
const KIB = 1024;

if (process.argv[2] === '--infra') infra();
else if (process.argv[2] === '--sidecar') sidecar(JSON.parse(process.argv[3]));
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

// --- child: upstream + control plane -------------------------------------------------------------------------------

function infra() {
  return runProxyInfra(require(path.join(ROOT, 'packages/control-plane/dist')).startControlPlane);
}

// --- child: one sidecar, profiled on request ---------------------------------------------------------------------

async function sidecar({ upstream, controlPlane, revision, noop }) {
  const { Session } = require('node:inspector');
  const { recordGcPauses, summarizeGcPauses } = require('./lib/gc-pauses');
  const { noopPluginPath } = require('./lib/noop-plugin');
  const { sidecar: s } = await startAppliedSidecar(
    { upstream, controlPlane, workload: 'frontend', workers: 1, ...(noop ? { plugin: noopPluginPath() } : {}) },
    noop ? undefined : revision,
  );
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  await post('HeapProfiler.enable');
  const gcPauses = recordGcPauses();
  let profiling = false;
  let heapGrowth;
  process.on('message', async (msg) => {
    if (msg.start) {
      global.gc(); // every run starts from an empty young generation
      await gcPauses.take();
      profiling = msg.profile;
      if (profiling) {
        await post('HeapProfiler.startSampling', {
          samplingInterval: SAMPLING_INTERVAL,
          includeObjectsCollectedByMinorGC: true,
          includeObjectsCollectedByMajorGC: true,
        });
      } else {
        heapGrowth = measureHeapGrowth();
      }
      process.send('started');
    } else if (msg.stop) {
      // Before the profile is fetched: building it allocates enough to collect.
      const pauses = await gcPauses.take();
      const gc = summarizeGcPauses(pauses);
      if (profiling) {
        const { profile } = await post('HeapProfiler.stopSampling');
        process.send({ sites: allocationSites(profile.head), gc });
      } else {
        process.send({ heapGrowth: heapGrowth(), gc });
      }
    }
  });
  process.send({ url: s.url });
}

/**
 * A second count of the bytes allocated, independent of sampling: the heap only grows between two GCs, by what is
 * allocated, so the allocations are the sum of its growth from the end of each GC to the start of the next.
 * Returns a function that stops and gives the bytes.
 */
function measureHeapGrowth() {
  const v8 = require('node:v8');
  const profiler = new v8.GCProfiler();
  const startUsed = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  return () => {
    const endUsed = v8.getHeapStatistics().used_heap_size;
    let bytes = 0;
    let after = startUsed;
    for (const { beforeGC, afterGC } of profiler.stop().statistics) {
      bytes += beforeGC.heapStatistics.usedHeapSize - after;
      after = afterGC.heapStatistics.usedHeapSize;
    }
    return bytes + endUsed - after;
  };
}

/** Bytes per function (the profile's tree has a node per call path; a function may sit on many). */
function allocationSites(head) {
  const sites = new Map();
  const visit = (node) => {
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const key = `${functionName}\0${url}\0${lineNumber}\0${columnNumber}`;
    const site = sites.get(key) ?? { functionName, url, lineNumber, columnNumber, bytes: 0 };
    site.bytes += node.selfSize;
    sites.set(key, site);
    for (const child of node.children) visit(child);
  };
  visit(head);
  return [...sites.values()].filter((site) => site.bytes > 0);
}

// --- naming sites ---------------------------------------------------------------------------------------------------

const sourceMaps = new Map();

/** file:line of a function, through the compiled file's source map when it has one (lines are 0-based). */
function locate(url, line, column) {
  if (!url) return '(native)';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  if (!path.isAbsolute(file)) return `${file}:${line + 1}`;
  if (!sourceMaps.has(file)) {
    const mapFile = `${file}.map`;
    sourceMaps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : undefined);
  }
  const entry = sourceMaps.get(file)?.findEntry(line, column);
  if (entry?.originalSource) {
    const source = path.resolve(path.dirname(file), entry.originalSource.replace(/^file:\/\//, ''));
    return `${path.relative(ROOT, source)}:${entry.originalLine + 1}`;
  }
  return `${path.relative(ROOT, file)}:${line + 1}`;
}

function siteName({ functionName, url, lineNumber, columnNumber }) {
  if (!url && functionName.startsWith('(')) return functionName; // (root), (V8 API), (program)…
  return `${functionName || '(anonymous)'} ${locate(url, lineNumber, columnNumber)}`;
}

/** Where the code that allocated lives, coarsely. */
function origin({ url }) {
  if (!url) return 'V8 / native';
  if (url.startsWith('node:')) return 'Node.js internals';
  const file = path.relative(ROOT, url.startsWith('file://') ? new URL(url).pathname : url);
  const pkg = /^packages\/([^/]+)\/dist\/([^/]+)\//.exec(file);
  if (pkg) return `@hfi/${pkg[1]} ${pkg[2]}/`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  if (dep) return dep[1];
  return file;
}

// --- driver -------------------------------------------------------------------------------------------------------

function start(args, execArgv = process.execArgv) {
  const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, msg }));
    child.once('exit', (code) => reject(new Error(`child ${args[0]} exited with ${code}`)));
  });
}

/** The sidecar's child process: `run(profile, fn)` runs fn while the child records its GC pauses and, if asked,
 * samples its allocations. */
async function sidecarUnderTest(env, noop) {
  const { child, msg } = await start(
    ['--sidecar', JSON.stringify({ ...env, noop })],
    [...process.execArgv, '--expose-gc'],
  );
  const next = () => new Promise((resolve) => child.once('message', resolve));
  return {
    child,
    url: msg.url,
    async run(profile, fn) {
      const started = next();
      child.send({ start: true, profile });
      await started;
      const requests = await fn();
      const stopped = next();
      child.send({ stop: true });
      return { requests, ...(await stopped) };
    },
  };
}

/** `amount` requests through autocannon; the number answered. */
async function load(url, amount = REQUESTS) {
  const autocannon = require('autocannon');
  let answered = 0;
  const instance = autocannon({ url: `${url}/api/products/OLJCESPC7Z`, connections: CONNECTIONS, amount });
  instance.on('response', (_client, status) => {
    if (status === 200) answered++;
    if (answered === amount) instance.stop(); // rather than at autocannon's next 1 s tick
  });
  const result = await instance;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return answered;
}

async function main() {
  const children = [];
  try {
    const { child: infraChild, msg: env } = await start(['--infra']);
    children.push(infraChild);
    const cases = [];
    for (const [label, noop] of [
      ['sidecar, no-op plugin (baseline)', true],
      ['sidecar, hfi filter (10 policies, no match)', false],
    ]) {
      const target = await sidecarUnderTest(env, noop);
      children.push(target.child);
      await load(target.url, WARM_UP_REQUESTS); // JIT, connections, the young generation's size
      cases.push({ label, target, profiled: [], plain: [] });
    }
    const startedAt = Date.now();
    for (let r = 0; r < RUNS; r++) {
      for (const c of r % 2 ? [...cases].reverse() : cases) {
        c.profiled.push(await c.target.run(true, () => load(c.target.url)));
        c.plain.push(await c.target.run(false, () => load(c.target.url)));
      }
    }
    const seconds = (Date.now() - startedAt) / 1000;

    const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;
    const per1000 = (value, run) => (value / run.requests) * 1000;
    for (const c of cases) {
      c.perRequest = c.profiled.map((run) => run.sites.reduce((sum, site) => sum + site.bytes, 0) / run.requests);
      c.bytes = mean(c.perRequest);
      c.growthPerRequest = c.plain.map((run) => run.heapGrowth / run.requests);
      c.scavenges = mean(c.plain.map((run) => per1000(run.gc.scavenges, run)));
      c.pauseMs = mean(c.plain.map((run) => per1000(run.gc.totalMs, run)));
      c.pauseMaxMs = Math.max(...c.plain.map((run) => run.gc.maxMs));
      // Bytes per request per site (and per origin), averaged over the runs.
      c.sites = new Map();
      c.origins = new Map();
      for (const run of c.profiled) {
        for (const site of run.sites) {
          const share = site.bytes / run.requests / c.profiled.length;
          const name = siteName(site);
          c.sites.set(name, (c.sites.get(name) ?? 0) + share);
          const from = origin(site);
          c.origins.set(from, (c.origins.get(from) ?? 0) + share);
        }
      }
    }
    const [base, filter] = cases;
    const kib = (bytes) => (bytes / KIB).toFixed(2);
    console.log(
      `autocannon, ${CONNECTIONS} connections, GET /api/products/…, ${REQUESTS} requests per run; per case a ` +
        `warm-up run (${WARM_UP_REQUESTS} requests), then ${RUNS} rounds (alternating the cases) of a profiled run ` +
        `and a plain run (${seconds.toFixed(0)} s); each sidecar (1 worker) in a process of its own, so that only ` +
        'its own allocations and GCs count. Bytes are V8 heap objects (not Buffer/ArrayBuffer contents, not the Wasm ' +
        'memory); 1 KiB = 1024 B.',
    );
    console.log(
      `KiB allocated / request: V8's sampling heap profiler (mean interval ${SAMPLING_INTERVAL} B) over the ` +
        'profiled runs, objects that minor and major GCs collected included; sampling is statistical: the mean of ' +
        'the runs and, in brackets, each run. Heap growth between GCs: the same quantity counted without sampling in ' +
        "the plain runs (each run). GC columns: the plain runs (the profiler's bookkeeping lengthens scavenges), mean " +
        'per 1000 requests; longest: over the runs.',
    );
    console.log('');
    console.log(
      '| case | requests | KiB allocated / request | x baseline | heap growth between GCs, KiB / request | ' +
        'scavenges / 1000 requests | GC pause ms / 1000 requests | longest GC pause ms |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const c of cases) {
      console.log(
        `| ${c.label} | ${c.profiled.length} × ${REQUESTS} profiled, ${c.plain.length} × ${REQUESTS} plain | ` +
          `${kib(c.bytes)} (${c.perRequest.map(kib).join(', ')}) | ${(c.bytes / base.bytes).toFixed(2)} | ` +
          `${c.growthPerRequest.map(kib).join(', ')} | ${c.scavenges.toFixed(2)} | ${c.pauseMs.toFixed(1)} | ` +
          `${c.pauseMaxMs.toFixed(1)} |`,
      );
    }
    console.log('');
    console.log(`the filter adds ${kib(filter.bytes - base.bytes)} KiB per request over the no-op plugin`);
    console.log('');
    console.log(
      `Top ${TOP_SITES} allocation sites with the hfi filter: the function that allocated and where it is defined ` +
        '(TypeScript through the source maps), bytes per request (mean of the profiled runs), and the same site with ' +
        'the no-op plugin. A function that V8 inlined allocates on behalf of the function it was inlined into, and ' +
        'the two sidecars may inline differently: compare sums of related sites, or the totals above.',
    );
    console.log('');
    console.log('| function, file:line | B / request, hfi filter | B / request, no-op |');
    console.log('| --- | ---: | ---: |');
    const top = [...filter.sites].sort((a, b) => b[1] - a[1]).slice(0, TOP_SITES);
    for (const [name, bytes] of top) {
      console.log(`| ${name} | ${bytes.toFixed(0)} | ${(base.sites.get(name) ?? 0).toFixed(0)} |`);
    }
    console.log('');
    console.log('By origin (the allocating function’s file):');
    console.log('');
    console.log('| origin | B / request, hfi filter | B / request, no-op |');
    console.log('| --- | ---: | ---: |');
    const origins = [...new Set([...filter.origins.keys(), ...base.origins.keys()])]
      .map((name) => [name, filter.origins.get(name) ?? 0, base.origins.get(name) ?? 0])
      .sort((a, b) => b[1] - a[1]);
    for (const [name, withFilter, withNoop] of origins) {
      if (withFilter >= 1 || withNoop >= 1)
        console.log(`| ${name} | ${withFilter.toFixed(0)} | ${withNoop.toFixed(0)} |`);
    }
  } finally {
    for (const child of children) child.kill();
  }
}
