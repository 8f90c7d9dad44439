// What the sidecar benches share: the product service they proxy to, the policies that apply to it without
// matching its traffic (the usual case while a fault window targets other requests), and the run-queue wait that
// tells a contended machine from a slow sidecar.
const { readFileSync } = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');

/** An upstream answering every request with one small JSON product; `served()` counts the requests. */
async function startProductUpstream() {
  const body = Buffer.from(
    JSON.stringify({ id: 'OLJCESPC7Z', name: 'Sunglasses', price: { currency: 'USD', units: 19 } }),
  );
  let served = 0;
  const server = http.createServer((req, res) => {
    served++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, served: () => served };
}

/**
 * Writes `count` policies for frontend.demo that never match GET /api/products/… (path prefixes and a POST-only
 * regex); returns the revision of the last one.
 */
async function postNonMatchingPolicies(controlPlaneUrl, count) {
  let revision = 0;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${controlPlaneUrl}/v1/policies`, {
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
    if (res.status !== 201) throw new Error(`POST /v1/policies: ${res.status} ${await res.text()}`);
    revision = (await res.json()).status.revision;
  }
  return revision;
}

/**
 * The body of a bench's infrastructure child: the product upstream and a control plane holding `policies`
 * non-matching policies. Sends the parent `{ upstream, controlPlane, revision }`, and `{ served }` when asked 'served'.
 */
async function runProxyInfra(startControlPlane, policies = 10) {
  const upstream = await startProductUpstream();
  const cp = await startControlPlane({ logLevel: 'silent' });
  const revision = await postNonMatchingPolicies(cp.url, policies);
  process.on('message', (msg) => {
    if (msg === 'served') process.send({ served: upstream.served() });
  });
  process.send({ upstream: upstream.url, controlPlane: cp.url, revision });
}

/**
 * A local sidecar (the built packages/filter) with `options` over these defaults: ephemeral listen and admin ports,
 * namespace demo, logs dropped. With a `revision`, it resolves once the filter of every worker has logged that it
 * applied it. Resolves with the sidecar and that log line without its prefix ('' without a revision).
 */
async function startAppliedSidecar(options, revision) {
  const { startSidecar } = require(path.join(ROOT, 'packages/filter/dist'));
  const workers = options.workers ?? 2;
  let seen = 0;
  let resolveApplied;
  const applied = new Promise((resolve) => {
    resolveApplied = resolve;
  });
  const sidecar = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    namespace: 'demo',
    ...options,
    logSink: (line) => {
      if (revision !== undefined && line.includes(`applied revision ${revision}:`) && ++seen === workers) {
        resolveApplied(line.replace(/^.*hfi: /, ''));
      }
    },
  });
  return { sidecar, message: revision === undefined ? '' : await applied };
}

/** How long this thread has waited for a CPU while runnable (Linux), in ms; NaN elsewhere. */
function cpuWaitMs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

module.exports = { startProductUpstream, postNonMatchingPolicies, runProxyInfra, startAppliedSidecar, cpuWaitMs };
