// The compiled plugin.wasm driven through the proxy-wasm host, against a canned control plane (a node:http server
// answering the watch with JSON the test sets).

import type { Rule } from '@hfi/core';
import {
  CannedControlPlane,
  counter,
  DEFAULT_ADDRESS,
  DEFAULT_CLUSTER,
  delayHistogram,
  GET,
  policy,
  startVm,
  type TestVm,
  withStatus,
} from './__tests__/harness';

const ABORT_503: Rule['fault'] = { percentage: 100, abort: { httpStatus: 503 } };
const ANY_PATH: Rule['match'] = { path: { prefix: '/' } };

/** The histogram holds `count` samples summing to `total` ms (Envoy reports the sum from its bins: up to 10% over). */
function expectRecorded(stats: TestVm['stats'], count: number, total: number): void {
  const h = delayHistogram(stats);
  expect(h.count).toBe(count);
  expect(h.sum).toBeGreaterThanOrEqual(total);
  expect(h.sum).toBeLessThan(total * 1.1);
}

/** Runs `count` GET requests and returns how many were aborted. */
function abortedOf(t: TestVm, count: number, path = '/'): number {
  let aborted = 0;
  for (let i = 0; i < count; i++) {
    const stream = t.vm.newStream();
    const action = stream.onRequestHeaders(GET(path), true);
    if (stream.localResponse !== undefined) aborted++;
    else expect(action).toBe('continue');
    stream.done();
  }
  return aborted;
}

describe('plugin.wasm with a canned control plane', () => {
  let cp: CannedControlPlane;
  let t: TestVm | undefined;

  beforeEach(async () => {
    cp = await new CannedControlPlane().start();
  });

  afterEach(async () => {
    if (t) expect(t.vm.trapped).toBe(false);
    await t?.close();
    t = undefined;
    await cp.close();
  });

  async function startWith(policies: unknown[], config: object = {}): Promise<TestVm> {
    const revision = cp.publish(policies);
    t = await startVm({ controlPlane: cp, pluginConfig: config });
    await cp.acked(revision);
    return t;
  }

  test('defines its three metrics at start, reading 0 before any fault', async () => {
    t = await startVm({ controlPlane: cp });
    expect(counter(t.stats, 'aborts')).toBe(0);
    expect(counter(t.stats, 'delays')).toBe(0);
    expect(delayHistogram(t.stats)).toEqual({ count: 0, sum: 0 });
    const text = t.stats.renderPrometheus();
    expect(text).toContain('wasmcustom_hfi_faults_aborts_total');
    expect(text).toContain('wasmcustom_hfi_faults_delays_total');
    expect(text).toContain('wasmcustom_hfi_faults_delay_duration_milliseconds_bucket');
  });

  test('aborts 100% of matching requests with a local response and counts them', async () => {
    await startWith([withStatus(policy('abort-all', { match: ANY_PATH, fault: ABORT_503 }))]);
    const vm = (t as TestVm).vm;
    for (let i = 0; i < 10; i++) {
      const stream = vm.newStream();
      expect(stream.onRequestHeaders(GET('/'), true)).toBe('pause');
      const local = stream.localResponse;
      expect(local?.status).toBe(503);
      expect(local?.body.toString()).toBe('Fault injection: Service unavailable');
      expect(local?.headers).toEqual(
        expect.arrayContaining([
          ['content-type', 'text/plain'],
          ['x-fault-injected', 'abort'],
          ['x-hfi-policy', 'abort-all'],
        ]),
      );
      stream.done();
    }
    expect(counter((t as TestVm).stats, 'aborts')).toBe(10);
    expect(counter((t as TestVm).stats, 'delays')).toBe(0);
  });

  test('an abort body and status come from the policy', async () => {
    await startWith([
      withStatus(
        policy('teapot', {
          match: ANY_PATH,
          fault: { percentage: 100, abort: { httpStatus: 418, body: 'short and stout' } },
        }),
      ),
    ]);
    const stream = (t as TestVm).vm.newStream();
    stream.onRequestHeaders(GET('/pot'), true);
    expect(stream.localResponse?.status).toBe(418);
    expect(stream.localResponse?.body.toString()).toBe('short and stout');
  });

  test('a delay pauses the request for the configured time, then resumes it, counted and recorded', async () => {
    await startWith([
      withStatus(policy('slow', { match: ANY_PATH, fault: { percentage: 100, delay: { fixed_delay_ms: 200 } } })),
    ]);
    const vm = (t as TestVm).vm;
    const stream = vm.newStream();
    const started = performance.now();
    expect(stream.onRequestHeaders(GET('/'), false)).toBe('pause');
    // the body waits with the headers
    expect(stream.onRequestBody('payload', true)).toBe('pause');
    expect(counter((t as TestVm).stats, 'delays')).toBe(1);
    await stream.whenResumed();
    const elapsed = performance.now() - started;
    expect(stream.paused).toBe(false);
    expect(stream.localResponse).toBeUndefined();
    expect(stream.requestBody.toString()).toBe('payload');
    expect(elapsed).toBeGreaterThanOrEqual(199);
    // generous: only catches "never held" or "held far too long", not scheduling noise
    expect(elapsed).toBeLessThan(5000);
    stream.done();
    expectRecorded((t as TestVm).stats, 1, 200);
    expect(counter((t as TestVm).stats, 'aborts')).toBe(0);
  });

  test('a rule with delay and abort delays, then aborts; both are counted', async () => {
    await startWith([
      withStatus(
        policy('both', {
          match: ANY_PATH,
          fault: { percentage: 100, delay: { fixed_delay_ms: 50 }, abort: { httpStatus: 502 } },
        }),
      ),
    ]);
    const stream = (t as TestVm).vm.newStream();
    const started = performance.now();
    expect(stream.onRequestHeaders(GET('/'), true)).toBe('pause');
    expect(stream.localResponse).toBeUndefined();
    await stream.whenResumed();
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
    expect(stream.localResponse?.status).toBe(502);
    expect(counter((t as TestVm).stats, 'delays')).toBe(1);
    expect(counter((t as TestVm).stats, 'aborts')).toBe(1);
    expectRecorded((t as TestVm).stats, 1, 50);
  });

  test('start_delay_ms waits first; the delay after it is counted too', async () => {
    await startWith([
      withStatus(
        policy('late', {
          match: ANY_PATH,
          fault: { percentage: 100, start_delay_ms: 120, delay: { fixed_delay_ms: 80 } },
        }),
      ),
    ]);
    const stream = (t as TestVm).vm.newStream();
    const started = performance.now();
    expect(stream.onRequestHeaders(GET('/'), true)).toBe('pause');
    // the delay is not yet applied while the start delay runs
    expect(counter((t as TestVm).stats, 'delays')).toBe(0);
    await stream.whenResumed();
    expect(performance.now() - started).toBeGreaterThanOrEqual(199);
    expect(stream.localResponse).toBeUndefined();
    expect(counter((t as TestVm).stats, 'delays')).toBe(1);
    expectRecorded((t as TestVm).stats, 1, 80);
  });

  test('start_delay_ms before an abort', async () => {
    await startWith([
      withStatus(
        policy('late-abort', {
          match: ANY_PATH,
          fault: { percentage: 100, start_delay_ms: 60, abort: { httpStatus: 500 } },
        }),
      ),
    ]);
    const stream = (t as TestVm).vm.newStream();
    const started = performance.now();
    expect(stream.onRequestHeaders(GET('/'), true)).toBe('pause');
    expect(stream.localResponse).toBeUndefined();
    await stream.whenResumed();
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);
    expect(stream.localResponse?.status).toBe(500);
    expect(counter((t as TestVm).stats, 'aborts')).toBe(1);
    expect(counter((t as TestVm).stats, 'delays')).toBe(0);
  });

  test('a paused stream that ends before its timer is forgotten; other streams still resume', async () => {
    await startWith([
      withStatus(policy('slow', { match: ANY_PATH, fault: { percentage: 100, delay: { fixed_delay_ms: 100 } } })),
    ]);
    const vm = (t as TestVm).vm;
    const gone = vm.newStream();
    expect(gone.onRequestHeaders(GET('/'), true)).toBe('pause');
    gone.done();
    const kept = vm.newStream();
    expect(kept.onRequestHeaders(GET('/'), true)).toBe('pause');
    await kept.whenResumed();
    expect(kept.paused).toBe(false);
    kept.done();
    expect(counter((t as TestVm).stats, 'delays')).toBe(2);
    expect(vm.logs.filter((r) => r.level === 'error' || r.level === 'critical')).toEqual([]);
  });

  test('percentage 0 never injects and 100 always does', async () => {
    await startWith([
      withStatus(
        policy('never', {
          match: { path: { prefix: '/never' } },
          fault: { percentage: 0, abort: { httpStatus: 503 } },
        }),
      ),
      withStatus(policy('always', { match: { path: { prefix: '/always' } }, fault: ABORT_503 })),
    ]);
    expect(abortedOf(t as TestVm, 500, '/never')).toBe(0);
    expect(abortedOf(t as TestVm, 500, '/always')).toBe(500);
  });

  test.each([
    [25, 2000],
    [2.5, 4000],
  ])('percentage %p injects within a binomial range over %p requests', async (percentage, n) => {
    await startWith([
      withStatus(policy('some', { match: ANY_PATH, fault: { percentage, abort: { httpStatus: 503 } } })),
    ]);
    const aborted = abortedOf(t as TestVm, n);
    const p = percentage / 100;
    const mean = n * p;
    const sd = Math.sqrt(n * p * (1 - p));
    // six standard deviations: a false failure is about one in 500 million runs
    expect(aborted).toBeGreaterThan(mean - 6 * sd);
    expect(aborted).toBeLessThan(mean + 6 * sd);
    expect(counter((t as TestVm).stats, 'aborts')).toBe(aborted);
  });

  test('selector: by workload name, by app label, and not for another service or namespace', async () => {
    await startWith([
      withStatus(
        policy(
          'by-app',
          { match: { path: { prefix: '/app' } }, fault: ABORT_503 },
          { service: 'frontend', namespace: 'demo' },
        ),
      ),
      withStatus(
        policy('by-workload', { match: { path: { prefix: '/wl' } }, fault: ABORT_503 }, { service: 'frontend-v1' }),
      ),
      withStatus(
        policy('other-service', { match: { path: { prefix: '/other' } }, fault: ABORT_503 }, { service: 'backend' }),
      ),
      withStatus(
        policy(
          'other-ns',
          { match: { path: { prefix: '/ns' } }, fault: ABORT_503 },
          { service: '*', namespace: 'prod' },
        ),
      ),
    ]);
    expect(abortedOf(t as TestVm, 3, '/app/x')).toBe(3);
    expect(abortedOf(t as TestVm, 3, '/wl/x')).toBe(3);
    expect(abortedOf(t as TestVm, 3, '/other/x')).toBe(0);
    expect(abortedOf(t as TestVm, 3, '/ns/x')).toBe(0);
    expect((t as TestVm).vm.logs.map((r) => r.message)).toContainEqual(
      expect.stringMatching(/applied revision 1: 2 of 4 policies apply to frontend-v1\.demo/),
    );
  });

  test('headers, regex and a path with a query string', async () => {
    await startWith([
      withStatus(
        policy('api', {
          match: {
            method: { regex: '^(GET|HEAD)$' },
            path: { regex: '^/api/v\\d+/users$' },
            headers: [{ name: 'X-Chaos-Run', prefix: 'run-' }],
          },
          fault: ABORT_503,
        }),
      ),
    ]);
    const run = (path: string, headers: [string, string][]) => {
      const stream = (t as TestVm).vm.newStream();
      stream.onRequestHeaders(GET(path, headers), true);
      const aborted = stream.localResponse !== undefined;
      stream.done();
      return aborted;
    };
    expect(run('/api/v2/users?limit=5', [['x-chaos-run', 'run-42']])).toBe(true);
    expect(run('/api/v2/users', [['x-chaos-run', 'run-42']])).toBe(true);
    expect(run('/api/v2/users/7', [['x-chaos-run', 'run-42']])).toBe(false);
    expect(run('/api/v2/users', [['x-chaos-run', 'walk-42']])).toBe(false);
    expect(run('/api/v2/users', [])).toBe(false);
  });

  test('the watch carries identity and revision, and the next watch acknowledges each answer', async () => {
    t = await startVm({ controlPlane: cp, pluginConfig: { token: 's3cret' } });
    const first = await cp.waitForRequest(() => true);
    expect(first.url.pathname).toBe('/v1/policies');
    const q = first.url.searchParams;
    expect(q.get('watch')).toBe('true');
    expect(q.get('revision')).toBe('0');
    expect(q.get('timeout_ms')).toBe('25000');
    expect(q.get('workload')).toBe('frontend-v1');
    expect(q.get('namespace')).toBe('demo');
    expect(q.get('pod')).toBe('frontend-v1-7d9f-abcde');
    expect(q.get('labels')).toBe('app=frontend');
    expect(first.url.search).toContain('labels=app%3Dfrontend');
    expect(q.get('instance')).toMatch(/^frontend-v1-7d9f-abcde-[0-9a-f]{8}$/);
    expect(first.headers.host).toBe(DEFAULT_ADDRESS);
    expect(first.headers.accept).toBe('application/json');
    expect(first.headers.authorization).toBe('Bearer s3cret');
    const revision = cp.publish([withStatus(policy('p', { match: ANY_PATH, fault: ABORT_503 }))]);
    const ack = await cp.acked(revision);
    expect(ack.url.searchParams.get('instance')).toBe(q.get('instance'));
    expect(abortedOf(t, 2)).toBe(2);
    // a second change propagates on the held watch, no polling period involved
    const next = cp.publish([]);
    await cp.acked(next);
    expect(abortedOf(t, 2)).toBe(0);
  });

  test('watch=false polls every poll_interval_ms without holding', async () => {
    t = await startVm({ controlPlane: cp, pluginConfig: { watch: false, poll_interval_ms: 100 } });
    await cp.waitForRequest(() => cp.requests.length >= 3);
    for (const r of cp.requests) {
      expect(r.url.searchParams.has('watch')).toBe(false);
      expect(r.url.searchParams.has('timeout_ms')).toBe(false);
    }
    const revision = cp.publish([withStatus(policy('p', { match: ANY_PATH, fault: ABORT_503 }))]);
    await cp.acked(revision);
    expect(abortedOf(t, 1)).toBe(1);
  });

  test('rules expire locally at remaining_ms even while the control plane is down', async () => {
    const revision = cp.publish([
      {
        ...policy('short', { match: ANY_PATH, fault: ABORT_503 }),
        status: { revision: 1, updated_at: new Date().toISOString(), rules: [{ active: true, remaining_ms: 400 }] },
      },
    ]);
    t = await startVm({ controlPlane: cp });
    await cp.acked(revision);
    expect(abortedOf(t, 1)).toBe(1);
    // the control plane goes down: its answers fail from now on
    cp.mode = 'error';
    cp.publish([]);
    await t.waitForLog((m) => m.includes('control plane poll failed (status 503)'));
    expect(abortedOf(t, 1)).toBe(1);
    // no answer can remove the rule now; its own deadline does
    const deadline = Date.now() + 10000;
    while (abortedOf(t, 1) === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(abortedOf(t, 5)).toBe(0);
  });

  test('backs off (1 s doubling, jittered) on errors and garbage, keeps the last good policies, and recovers', async () => {
    const revision = cp.publish([withStatus(policy('kept', { match: ANY_PATH, fault: ABORT_503 }))]);
    t = await startVm({ controlPlane: cp });
    await cp.acked(revision);
    cp.mode = 'garbage';
    cp.publish([]);
    await t.waitForLog((m) => /failure 1\)/.test(m));
    cp.mode = 'error';
    await t.waitForLog((m) => /failure 2\)/.test(m));
    cp.mode = 'truncate';
    const third = await t.waitForLog((m) => /failure 3\)/.test(m), 20000);
    const waits = t.vm.logs
      .map((r) => /control plane poll failed \((.*)\); retrying in (\d+) ms \(failure (\d+)\)/.exec(r.message))
      .filter((m): m is RegExpExecArray => m !== null);
    expect(waits.map((m) => m[1])).toEqual([
      expect.stringMatching(/^unusable answer body/),
      'status 503',
      'no response',
    ]);
    const [w1, w2, w3] = waits.map((m) => Number(m[2]));
    expect(w1).toBeGreaterThanOrEqual(500);
    expect(w1).toBeLessThanOrEqual(1000);
    expect(w2).toBeGreaterThanOrEqual(1000);
    expect(w2).toBeLessThanOrEqual(2000);
    expect(w3).toBeGreaterThanOrEqual(2000);
    expect(w3).toBeLessThanOrEqual(4000);
    expect(third.message).toContain('keeping 1 rules of revision 1');
    // fail open on the control plane, not on the faults: the last good policy still applies
    expect(abortedOf(t, 3)).toBe(3);
    cp.mode = 'ok';
    const fixed = cp.publish([]);
    await cp.acked(fixed, 20000);
    expect(abortedOf(t, 3)).toBe(0);
    expect(t.vm.logs.map((r) => r.message)).toContainEqual(
      expect.stringMatching(/applied revision 3: 0 of 0 policies/),
    );
  });

  test('a control plane that is not there yet is retried until it is', async () => {
    t = await startVm({ controlPlane: cp, clusters: {} });
    await t.waitForLog((m) => m.includes('control plane poll failed (dispatch to cluster outbound|8080||'));
    await t.waitForLog((m) => /failure 2\)/.test(m));
    expect(cp.requests).toEqual([]);
  });

  test('a policy with a regex that does not compile warns once and never matches; the rest applies', async () => {
    await startWith([
      withStatus({
        metadata: { name: 'mixed', version: '' },
        spec: {
          rules: [
            { match: { path: { regex: '(?<=a)b' } }, fault: ABORT_503 },
            { match: { path: { prefix: '/b' } }, fault: { percentage: 100, abort: { httpStatus: 504 } } },
          ],
        },
      }),
    ]);
    const stream = (t as TestVm).vm.newStream();
    stream.onRequestHeaders(GET('/ab'), true);
    expect(stream.localResponse).toBeUndefined();
    const b = (t as TestVm).vm.newStream();
    b.onRequestHeaders(GET('/b'), true);
    expect(b.localResponse?.status).toBe(504);
    const warnings = (t as TestVm).vm.logs.filter((r) => r.level === 'warn' && r.message.includes('does not compile'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('policy "mixed" rule 0 path');
  });
});

describe('plugin configuration', () => {
  let cp: CannedControlPlane;
  let t: TestVm | undefined;

  beforeEach(async () => {
    cp = await new CannedControlPlane().start();
  });

  afterEach(async () => {
    await t?.close();
    t = undefined;
    await cp.close();
  });

  // proxy-runtime 0.1.8's onConfigure passed the configuration size where the size pointer belongs: the size was
  // never read back (every configuration was taken as empty), the host wrote into memory at that address, and
  // Envoy's answer for an empty configuration aborted the VM. These fail without patches/@solo-io+proxy-runtime.
  test('an empty configuration starts the VM with the defaults (patched onConfigure)', async () => {
    t = await startVm({ controlPlane: cp, pluginConfig: '' });
    expect(t.vm.trapped).toBe(false);
    const first = await cp.waitForRequest(() => true);
    expect(first.headers.host).toBe(DEFAULT_ADDRESS);
    expect(t.vm.logs.map((r) => r.message)).toContainEqual(
      expect.stringContaining(`via cluster ${DEFAULT_CLUSTER}, watch`),
    );
  });

  test('a configuration over 1 KiB is read whole (patched onConfigure)', async () => {
    const config = {
      padding: 'x'.repeat(3000),
      control_plane_address: 'cp.example.test:9090',
      control_plane_cluster: 'hfi_control_plane',
      token: 't0ken',
      log_level: 'debug',
    };
    expect(JSON.stringify(config).length).toBeGreaterThan(1024);
    t = await startVm({ controlPlane: cp, pluginConfig: config, clusters: { hfi_control_plane: cp.baseUrl } });
    const first = await cp.waitForRequest(() => true);
    expect(first.headers.host).toBe('cp.example.test:9090');
    expect(first.headers.authorization).toBe('Bearer t0ken');
    const revision = cp.publish([withStatus(policy('p', { match: ANY_PATH, fault: ABORT_503 }))]);
    await cp.acked(revision);
    expect(abortedOf(t, 2)).toBe(2);
    expect(t.vm.trapped).toBe(false);
  });

  test('the Istio cluster name is derived from control_plane_address', async () => {
    t = await startVm({
      controlPlane: cp,
      pluginConfig: { control_plane_address: 'http://cp.hfi.svc:7070/' },
      clusters: { 'outbound|7070||cp.hfi.svc': cp.baseUrl },
    });
    const first = await cp.waitForRequest(() => true);
    expect(first.headers.host).toBe('cp.hfi.svc:7070');
  });

  test.each([
    ['not JSON', 'control-plane:8080'],
    ['a JSON array', '[1,2]'],
    ['wrong types', '{"control_plane_address": 5, "watch": "yes", "poll_interval_ms": "x", "log_level": "loud"}'],
    ['truncated JSON', '{"control_plane_address": "a:1"'],
  ])('an invalid configuration (%s) logs a warning and uses defaults', async (_label, config) => {
    t = await startVm({ controlPlane: cp, pluginConfig: config });
    expect(t.vm.trapped).toBe(false);
    expect(t.vm.logs.some((r) => r.level === 'warn' && r.message.startsWith('hfi: configuration: '))).toBe(true);
    const first = await cp.waitForRequest(() => true);
    expect(first.headers.host).toBe(DEFAULT_ADDRESS);
  });

  test('log_level: debug logs per request; info logs no debug lines at all, not even the runtime ones', async () => {
    cp.publish([withStatus(policy('p', { match: ANY_PATH, fault: ABORT_503 }))]);
    t = await startVm({ controlPlane: cp, pluginConfig: { log_level: 'info' }, logLevel: 'trace' });
    await cp.acked(1);
    abortedOf(t, 3);
    expect(t.vm.logs.filter((r) => r.source === 'plugin' && (r.level === 'debug' || r.level === 'trace'))).toEqual([]);
    await t.close();
    t = await startVm({ controlPlane: cp, pluginConfig: { log_level: 'debug' }, logLevel: 'trace' });
    await t.waitForLog((m) => m.startsWith('hfi: applied revision 1:'));
    abortedOf(t, 1);
    const debug = t.vm.logs.filter((r) => r.source === 'plugin' && r.level === 'debug').map((r) => r.message);
    expect(debug).toContainEqual(expect.stringMatching(/matched policy p rule 0/));
  });
});
