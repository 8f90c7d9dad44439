// The exposition checked by Prometheus' own tools: `promtool check metrics` parses and lints the body, and a real
// Prometheus server scrapes the admin server and answers PromQL with the value the plugin set.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PrometheusServer, type StartedPrometheusServer } from '../testing/prometheus';
import { type AdminServer, startAdminServer } from './admin-server';
import { createStatsStore, type EnvoyStatsStore } from './store';

interface PromtoolResult {
  code: number | null;
  problems: string[];
}

async function promtoolCheckMetrics(body: string): Promise<PromtoolResult> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stdin.end(body);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, problems: output.split('\n').filter((l) => l.trim() !== '') };
}

function populatedStore(): EnvoyStatsStore {
  const store = createStatsStore();
  const aborts = store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
  store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total');
  const duration = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
  store.incrementMetric(aborts, 7n);
  for (const v of [3n, 120n, 450n, 450n, 99999n]) store.recordMetric(duration, v);
  store.flush();
  return store;
}

describe('promtool check metrics', () => {
  // promtool exits 1 on a parse error and 3 on lint remarks. Two remarks are expected and nothing else: Envoy
  // prints no HELP lines, and the histogram's name (fixed by the reference) uses milliseconds, not seconds.
  it('parses the output; the only lint remarks are the missing HELP and the fixed milliseconds name', async () => {
    const result = await promtoolCheckMetrics(populatedStore().renderPrometheus());
    expect([0, 3]).toContain(result.code);
    const expected = [
      / no help text$/,
      /^wasmcustom_hfi_faults_delay_duration_milliseconds use base unit "seconds" instead of "milliseconds"$/,
    ];
    expect(result.problems.filter((p) => !expected.some((re) => re.test(p)))).toEqual([]);
    expect(result.problems).toContain('wasmcustom_hfi_faults_delay_duration_milliseconds no help text');
  });

  it('fails on a broken exposition (control for the check above)', async () => {
    const broken = '# TYPE x counter\nx{} 1\n# TYPE x counter\nx{} 2\n';
    const result = await promtoolCheckMetrics(broken);
    expect(result.code).toBe(1);
  });
});

describe('a real Prometheus scraping the admin server', () => {
  let admin: AdminServer;
  let prometheus: StartedPrometheusServer;

  beforeAll(async () => {
    admin = await startAdminServer({ stats: populatedStore() });
    prometheus = await new PrometheusServer()
      .withScrapeInterval('1s')
      .withScrapeJob({ jobName: 'hfi-sidecar', targets: [`127.0.0.1:${admin.port}`] })
      .start();
  }, 90_000);

  afterAll(async () => {
    await prometheus?.close();
    await admin?.close();
  }, 30_000);

  it('returns the counter and histogram values the plugin set', async () => {
    const aborts = await prometheus.waitForSeries('wasmcustom_hfi_faults_aborts_total', { timeoutMs: 40_000 });
    expect(aborts).toHaveLength(1);
    expect(aborts[0].metric).toMatchObject({ __name__: 'wasmcustom_hfi_faults_aborts_total', job: 'hfi-sidecar' });
    expect(aborts[0].value[1]).toBe('7');

    const bucket = await prometheus.query('wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{le="500"}');
    expect(bucket[0].value[1]).toBe('4');
    const count = await prometheus.query('wasmcustom_hfi_faults_delay_duration_milliseconds_count');
    expect(count[0].value[1]).toBe('5');
    const up = await prometheus.query('up{job="hfi-sidecar"}');
    expect(up[0].value[1]).toBe('1');
  }, 90_000);
});
