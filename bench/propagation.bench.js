// Propagation: 20 local sidecars (1 worker each, one child process) watch one control plane (another child
// process). Each round writes a new abort policy and times, for every sidecar, how long until it injects. Two ways,
// in alternate rounds: (a) the time each filter logs that it applied the policy's revision (reported by the child,
// wall clock), then one request per sidecar must be aborted; (b) each sidecar polled over its own plain-socket
// connection (lib/burst-client.js) until a matching request is aborted, a request every POLL_INTERVAL_MS per sidecar,
// the sidecars' turns evenly staggered, so that the measure has that resolution (it reads up to that much late) and
// does not itself load the sidecars' process: 20 loops polling back to back kept that process saturated, and the
// watch answers then queued behind the polls. Between rounds the policy is
// deleted and the deletion acked by all (GET /v1/nodes). Baselines measured in the same run: one round trip to the
// control plane (GET /v1/policies); and the reference system's 30 s poll period (its worst case; 15 s on average).
// Needs the built packages (npm run build). Run: node bench/propagation.bench.js [--quick]
const { fork } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { openConnection } = require('./lib/burst-client');

const ROOT = path.join(__dirname, '..');
const SIDECARS = 20;
const ROUNDS = process.argv.includes('--quick') ? 4 : 16;
const WARM_UP_ROUNDS = 2;
const REFERENCE_POLL_MS = 30_000;
/** Per sidecar in (b): 20 sidecars polled every 10 ms is 2000 requests/s, about a quarter of what their process serves. */
const POLL_INTERVAL_MS = 10;

if (process.argv[2] === '--control-plane') controlPlane();
else if (process.argv[2] === '--sidecars') sidecars(process.argv[3]);
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

// --- children -----------------------------------------------------------------------------------------------------

async function controlPlane() {
  const { startControlPlane } = require(path.join(ROOT, 'packages/control-plane/dist'));
  const cp = await startControlPlane({ logLevel: 'silent' });
  process.send({ url: cp.url });
}

async function sidecars(controlPlaneUrl) {
  const { startSidecar } = require(path.join(ROOT, 'packages/filter/dist'));
  const upstream = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': 2 }).end('ok');
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const urls = [];
  for (let i = 0; i < SIDECARS; i++) {
    const sidecar = await startSidecar({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      upstream: `http://127.0.0.1:${upstream.address().port}`,
      controlPlane: controlPlaneUrl,
      workload: 'frontend',
      namespace: 'demo',
      pod: `frontend-${i}`,
      workers: 1,
      logSink: (line) => {
        const m = /applied revision (\d+):/.exec(line);
        if (m) process.send({ applied: Number(m[1]), pod: i, at: performance.timeOrigin + performance.now() });
      },
    });
    urls.push(sidecar.url);
  }
  process.send({ urls });
}

// --- driver -------------------------------------------------------------------------------------------------------

function start(args, onReport = () => {}) {
  const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (msg) => (msg.applied === undefined ? resolve({ child, msg }) : onReport(msg)));
    child.once('exit', (code) => reject(new Error(`child ${args[0]} exited with ${code}`)));
  });
}

function call(method, url, agent, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {};
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Wall-clock ms with sub-ms resolution, comparable with the child's timestamps. */
const now = () => performance.timeOrigin + performance.now();

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Sends matching requests over `connection` until `policy` aborts one; resolves with the time it was sent. With
 * `pacing`, the first request goes at `pacing.offsetMs` and the next ones every `pacing.intervalMs` after it (or
 * as soon as the last is answered, if that is later).
 */
async function firstAbort(connection, policy, deadline, pacing) {
  const header = new RegExp(`\\r\\nx-hfi-policy: *${policy}(\\r|$)`, 'i');
  let due = pacing ? now() + pacing.offsetMs : 0;
  for (;;) {
    if (pacing) {
      const wait = due - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      due += pacing.intervalMs;
    }
    const sentAt = now();
    const res = await connection.get(`/${policy}`);
    if (res.status === 503 && header.test(res.head)) return sentAt;
    if (sentAt > deadline) throw new Error(`${policy} not injected in time`);
  }
}

async function acked(cpUrl, agent, revision) {
  for (;;) {
    const { nodes } = JSON.parse((await call('GET', `${cpUrl}/v1/nodes`, agent)).text);
    const current = nodes.filter((n) => n.pod.startsWith('frontend-') && n.applied_revision >= revision);
    if (current.length >= SIDECARS) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main() {
  const { child: cpChild, msg: cp } = await start(['--control-plane']);
  const children = [cpChild];
  try {
    const applied = new Map(); // revision → [time per pod]
    const { child: sidecarChild, msg } = await start(['--sidecars', cp.url], (report) => {
      if (!applied.has(report.applied)) applied.set(report.applied, []);
      applied.get(report.applied)[report.pod] = report.at;
    });
    children.push(sidecarChild);
    const control = new http.Agent({ keepAlive: true, maxSockets: 4 });
    // One plain-socket connection per sidecar: node:http's client costs several times the CPU per request, which
    // the 20 polling loops of (b) would take from the sidecars and the control plane on this 2-core machine.
    const connections = await Promise.all(msg.urls.map((url) => openConnection(url)));
    await acked(cp.url, control, 0);

    // Baseline: one round trip to the control plane.
    const rtts = [];
    for (let i = 0; i < 50; i++) {
      const t = now();
      await call('GET', `${cp.url}/v1/policies`, control);
      rtts.push(now() - t);
    }
    const rtt = percentile(rtts, 50);

    const results = { logged: { everyone: [], each: [] }, polled: { everyone: [], each: [] } };
    for (let round = -WARM_UP_ROUNDS; round < ROUNDS; round++) {
      const name = `propagation-${round + WARM_UP_ROUNDS}`;
      const policy = {
        metadata: { name },
        spec: {
          selector: { service: 'frontend', namespace: 'demo' },
          rules: [{ match: { path: { exact: `/${name}` } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }],
        },
      };
      const polled = round % 2 !== 0;
      const written = now();
      const deadline = written + 30_000;
      const polls = polled
        ? connections.map((connection, i) =>
            firstAbort(connection, name, deadline, {
              offsetMs: (i * POLL_INTERVAL_MS) / SIDECARS,
              intervalMs: POLL_INTERVAL_MS,
            }),
          )
        : [];
      const res = await call('POST', `${cp.url}/v1/policies`, control, policy);
      if (res.status !== 201) throw new Error(`POST: ${res.status} ${res.text}`);
      let times;
      if (polled) {
        times = (await Promise.all(polls)).map((t) => Math.max(0, t - written));
      } else {
        const revision = JSON.parse(res.text).status.revision;
        await acked(cp.url, control, revision);
        const at = applied.get(revision) ?? [];
        times = msg.urls.map((_, i) => at[i] - written);
        if (times.some((t) => !Number.isFinite(t))) throw new Error(`revision ${revision}: not every filter logged it`);
        // Applied means injecting: one matching request per sidecar must be aborted now.
        for (const connection of connections) await firstAbort(connection, name, now());
      }
      if (round >= 0) {
        const into = polled ? results.polled : results.logged;
        into.each.push(...times);
        into.everyone.push(Math.max(...times));
      }
      const del = await call('DELETE', `${cp.url}/v1/policies/${name}`, control);
      await acked(cp.url, control, JSON.parse((await call('GET', `${cp.url}/v1/policies`, control)).text).revision);
      if (del.status !== 200) throw new Error(`DELETE: ${del.status}`);
    }
    control.destroy();
    for (const connection of connections) connection.close();

    const row = (label, values) => {
      const p50 = percentile(values, 50);
      const p99 = percentile(values, 99);
      return (
        `| ${label} | ${values.length} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${Math.max(...values).toFixed(1)} | ` +
        `${(p50 / rtt).toFixed(1)} | ${(REFERENCE_POLL_MS / p99).toFixed(0)} |`
      );
    };
    console.log(
      `${SIDECARS} sidecars (1 worker each) in one process, control plane in another; ${ROUNDS} rounds after ` +
        `${WARM_UP_ROUNDS} warm-up rounds; time from the POST until the sidecar injects`,
    );
    console.log(`baseline round trip (GET /v1/policies, median of 50): ${rtt.toFixed(2)} ms`);
    console.log(
      `(b) polls each sidecar every ${POLL_INTERVAL_MS} ms (turns staggered over the ${SIDECARS}), so it reads up to ` +
        `${POLL_INTERVAL_MS} ms late`,
    );
    console.log('');
    console.log('| measure | samples | p50 ms | p99 ms | max ms | p50 / round trip | 30 000 ms / p99 |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(row('(a) every filter applied, from its log (per round)', results.logged.everyone));
    console.log(row('(a) one filter applied (per sidecar and round)', results.logged.each));
    console.log(row('(b) every sidecar aborts a polled request (per round)', results.polled.everyone));
    console.log(row('(b) one sidecar aborts (per sidecar and round)', results.polled.each));
    // Each way gets its own verdict: (a) is the filters' own timing, (b) what a client of the sidecars sees.
    const verdict = (values) => {
      const p99 = percentile(values, 99);
      return `${p99.toFixed(1)} ms (${p99 < 50 ? 'met' : 'NOT met'})`;
    };
    console.log('');
    console.log(
      `target: p99 < 50 ms until every sidecar injects → (a) ${verdict(results.logged.everyone)}, ` +
        `(b) ${verdict(results.polled.everyone)}; ` +
        `the reference polls every ${REFERENCE_POLL_MS} ms (mean wait ${REFERENCE_POLL_MS / 2} ms)`,
    );
  } finally {
    for (const child of children) child.kill();
  }
}
