// End to end, through the real control plane, real sidecars running the compiled plugin.wasm and a real upstream:
// what an operator sees on /stats/prometheus before and after faults (the seed document's checks).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  countStatus,
  type Mesh,
  policy,
  startMesh,
  startTestSidecar,
  startUpstream,
  type TestSidecar,
  type Upstream,
  waitFor,
} from './__tests__/mesh';

const HIST = 'wasmcustom_hfi_faults_delay_duration_milliseconds';
const BOUNDS = ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000']
  .concat(['60000', '300000', '600000', '1800000', '3600000', '+Inf'])
  .map((le) => `le="${le}"`);

let mesh: Mesh;
let upstream: Upstream;
const open: TestSidecar[] = [];

beforeAll(async () => {
  mesh = await startMesh();
  upstream = await startUpstream();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await mesh?.close();
  await upstream?.close();
});

async function sidecar(workload: string, flushIntervalMs?: number): Promise<TestSidecar> {
  const s = await startTestSidecar({
    workload,
    labels: { app: workload },
    controlPlane: mesh.controlPlane.url,
    upstream: upstream.url,
    ...(flushIntervalMs ? { flushIntervalMs } : {}),
  });
  open.push(s);
  return s;
}

describe('the seed document, end to end', () => {
  it('shows "Expected output (before any faults)" line for line on /stats/prometheus | grep wasmcustom_hfi_faults', async () => {
    const s = await sidecar('frontend');
    // Before any fault, and after the sidecar has heard from the control plane: still all zero.
    await mesh.acked([s], 0);
    const fixture = readFileSync(
      path.join(__dirname, '..', 'stats', '__fixtures__', 'seed-expected-output.txt'),
      'utf8',
    )
      .split('\n')
      .filter((l) => l !== '');
    const gap = fixture.indexOf('...');
    const head = fixture.slice(0, gap);
    const tail = fixture.slice(gap + 1);

    const lines = await s.grep('wasmcustom_hfi_faults');

    expect(lines.slice(0, head.length)).toEqual(head);
    expect(lines.slice(lines.length - tail.length)).toEqual(tail);
    // The seed elides the middle buckets with "..."; the full list is Envoy's 19 default bounds plus +Inf.
    const buckets = lines.slice(head.length - 2, lines.length - tail.length);
    expect(buckets).toEqual(BOUNDS.map((le) => `${HIST}_bucket{${le}} 0`));
    expect(lines).toHaveLength(head.length - 2 + BOUNDS.length + tail.length);
  });

  it('logs the lines the seed tells operators to grep for', async () => {
    const s = await sidecar('frontend');
    await mesh.acked([s], 0);
    const wasm = s.lines.filter((l) => /wasm/i.test(l));
    expect(wasm.some((l) => l.includes('wasm vm created'))).toBe(true);
    expect(wasm.some((l) => l.includes('wasm filter created'))).toBe(true);
    for (const name of ['aborts_total', 'delays_total', 'delay_duration_milliseconds']) {
      expect(s.lines.some((l) => l.includes(`Defined metric: wasmcustom.hfi_faults_${name}`))).toBe(true);
    }
  });
});

describe('abort faults, end to end', () => {
  it('20 aborted requests give wasmcustom_hfi_faults_aborts_total{} 20 and 20 local replies', async () => {
    const s = await sidecar('frontend');
    const other = await sidecar('checkout');
    const revision = await mesh.apply(
      policy(
        'e2e-abort',
        {
          match: { method: { exact: 'GET' }, path: { prefix: '/' } },
          fault: { percentage: 100, abort: { httpStatus: 503 } },
        },
        { service: 'frontend', namespace: 'demo' },
      ),
    );
    await mesh.acked([s, other], revision);
    const hitsBefore = upstream.hits;

    const replies = await s.sendMany(20, '/');

    expect(countStatus(replies, 503)).toBe(20);
    for (const r of replies) {
      expect(r.headers['x-fault-injected']).toBe('abort');
      expect(r.headers['x-hfi-policy']).toBe('e2e-abort');
      expect(r.headers['content-type']).toBe('text/plain');
      expect(r.body).toBe('Fault injection: Service unavailable');
    }
    expect(upstream.hits).toBe(hitsBefore);
    expect(await s.grep('wasmcustom_hfi_faults_aborts_total{}')).toEqual(['wasmcustom_hfi_faults_aborts_total{} 20']);
    expect(await s.sample('wasmcustom_hfi_faults_delays_total{}')).toBe(0);
    // The sidecar of another workload acked the same revision and stays untouched.
    const passed = await other.sendMany(5, '/');
    expect(countStatus(passed, 200)).toBe(5);
    expect(await other.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(0);
    await mesh.remove('e2e-abort');
  });
});

describe('delay faults, end to end', () => {
  it('ten 120 ms delays give delays_total 10 and, after a flush, _count 10, _sum 1250 and cumulative buckets', async () => {
    const flushIntervalMs = 200;
    const s = await sidecar('frontend', flushIntervalMs);
    const revision = await mesh.apply(
      policy(
        'e2e-delay',
        { match: { path: { exact: '/slow' } }, fault: { percentage: 100, delay: { fixed_delay_ms: 120 } } },
        { service: 'frontend' },
      ),
    );
    await mesh.acked([s], revision);

    const replies = await s.sendMany(10, '/slow', {}, 10);

    expect(countStatus(replies, 200)).toBe(10);
    for (const r of replies) {
      expect(r.body).toBe('upstream GET /slow');
      expect(r.ms).toBeGreaterThanOrEqual(119);
    }
    // Counters are live; the histogram shows up at the next stats flush.
    expect(await s.sample('wasmcustom_hfi_faults_delays_total{}')).toBe(10);
    await waitFor(
      async () => ((await s.sample(`${HIST}_count{}`)) === 10 ? true : undefined),
      () => `${HIST}_count{} to reach 10 within a few flushes of ${flushIntervalMs} ms`,
    );
    const lines = await s.grep(HIST);
    const value = (series: string) => {
      const line = lines.find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value(`${HIST}_count{}`)).toBe(10);
    // libcircllhist keeps 120 in the bin [120, 130) and sums bin midpoints: 10 x 125.
    expect(value(`${HIST}_sum{}`)).toBe(1250);
    const buckets = BOUNDS.map((le) => value(`${HIST}_bucket{${le}}`));
    expect(buckets).toEqual([0, 0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    expect(value(`${HIST}_bucket{le="100"}`)).toBe(0);
    expect(value(`${HIST}_bucket{le="250"}`)).toBe(10);
    expect(await s.sample('wasmcustom_hfi_faults_aborts_total{}')).toBe(0);
    await mesh.remove('e2e-delay');
  });
});
