// The exposition checked by Prometheus' own tools: `promtool check metrics` parses and lints the body, and a real
// Prometheus server scrapes the admin server and answers PromQL with the value the plugin set.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
}

describe('a real Prometheus scraping the admin server', () => {
  let admin: AdminServer;
  let store: EnvoyStatsStore;
  let prometheus: ChildProcess | undefined;
  let exited: Promise<unknown> | undefined;
  let dir: string;
  let promUrl: string;
  let log = '';

  beforeAll(async () => {
    store = populatedStore();
    admin = await startAdminServer({ stats: store });
    dir = await mkdtemp(join(tmpdir(), 'hfi-prom-'));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: hfi-sidecar',
      '    metrics_path: /stats/prometheus',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${admin.port}']`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'prometheus.yml'), config);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    prometheus.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    exited = once(prometheus, 'exit');
  }, 30_000);

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null && prometheus.signalCode === null) {
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await admin?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const json = (await res.json()) as { status: string; data: { result: never[] } };
    if (json.status !== 'success') throw new Error(JSON.stringify(json));
    return json.data.result;
  }

  it('returns the counter and histogram values the plugin set', async () => {
    await waitFor(`Prometheus ready (log: ${log})`, 40_000, async () => {
      if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
      const res = await fetch(`${promUrl}/-/ready`);
      return res.status === 200 ? true : undefined;
    });
    const aborts = await waitFor('a scraped sample', 40_000, async () => {
      const result = await query('wasmcustom_hfi_faults_aborts_total');
      return result.length > 0 ? result : undefined;
    });
    expect(aborts).toHaveLength(1);
    expect(aborts[0].metric).toMatchObject({ __name__: 'wasmcustom_hfi_faults_aborts_total', job: 'hfi-sidecar' });
    expect(aborts[0].value[1]).toBe('7');

    const bucket = await query('wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{le="500"}');
    expect(bucket[0].value[1]).toBe('4');
    const count = await query('wasmcustom_hfi_faults_delay_duration_milliseconds_count');
    expect(count[0].value[1]).toBe('5');
    const up = await query('up{job="hfi-sidecar"}');
    expect(up[0].value[1]).toBe('1');
  }, 90_000);
});
