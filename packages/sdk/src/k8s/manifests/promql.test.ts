// Every PromQL expression hfi ships (alerts and dashboard panels) checked by the real promtool: `check rules`
// parses them, `test rules` evaluates them on made-up series and compares with Prometheus's own semantics.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { dashboardQueries } from './dashboard';
import { ABORT_RATE_ALERT_PER_SECOND, faultAlertGroups, ruleFileYaml } from './prometheus-rules';

const run = promisify(execFile);

interface PromtoolResult {
  code: number;
  output: string;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-promql-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function promtool(...args: string[]): Promise<PromtoolResult> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: dir });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('promtool is not installed (Debian package prometheus; .ci/run installs it)');
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function write(name: string, text: string): Promise<string> {
  await writeFile(path.join(dir, name), text);
  return name;
}

/** Grafana's variables replaced by what they stand for when "All" namespaces over the last hour are shown. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$namespace', '.*').replaceAll('$__range', '1h');
}

function dashboardRuleFile(): string {
  const rules = dashboardQueries().map((q, i) => ({
    record: `hfi:dashboard:query_${i}`,
    expr: withoutGrafanaVariables(q.expr),
  }));
  return stringify({ groups: [{ name: 'hfi-dashboard-queries', rules }] }, { lineWidth: 0 });
}

const LABELS = 'namespace="demo",pod="frontend-1"';

describe('promtool check rules', () => {
  it('accepts the alert rules and every dashboard query', async () => {
    const alerts = await write('alerts.yaml', ruleFileYaml());
    const dashboard = await write('dashboard.yaml', dashboardRuleFile());
    const result = await promtool('check', 'rules', alerts, dashboard);
    expect(result.output).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    const alertCount = faultAlertGroups().flatMap((g) => g.rules).length;
    expect(result.output).toContain(`SUCCESS: ${alertCount} rules found`);
    expect(result.output).toContain(`SUCCESS: ${dashboardQueries().length} rules found`);
  });

  it('fails on a broken expression, so the check above is real', async () => {
    const broken = await write(
      'broken.yaml',
      stringify({ groups: [{ name: 'x', rules: [{ record: 'x:y', expr: 'sum by (pod (rate(a[1m]))' }] }] }),
    );
    const result = await promtool('check', 'rules', broken);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/FAILED/);
  });
});

describe('promtool test rules', () => {
  async function testRules(tests: unknown[]): Promise<PromtoolResult> {
    await write('alerts.yaml', ruleFileYaml());
    await write('dashboard.yaml', dashboardRuleFile());
    const file = await write(
      'tests.yaml',
      stringify({ rule_files: ['alerts.yaml', 'dashboard.yaml'], evaluation_interval: '1m', tests }, { lineWidth: 0 }),
    );
    return promtool('test', 'rules', file);
  }

  const noPolicyDescription = (faultAlertGroups()[0].rules[0].annotations.description as string).trim();

  it('HfiFaultsWithoutPolicy fires when faults go on with no policy stored, not while one is, not before `for`', async () => {
    const faults = [
      { series: `wasmcustom_hfi_faults_aborts_total{${LABELS}}`, values: '0+30x20' },
      { series: `wasmcustom_hfi_faults_delays_total{${LABELS}}`, values: '0+30x20' },
    ];
    const result = await testRules([
      {
        interval: '1m',
        input_series: [...faults, { series: 'hfi_control_plane_policies{pod="cp-0"}', values: '0x20' }],
        alert_rule_test: [
          { eval_time: '4m', alertname: 'HfiFaultsWithoutPolicy', exp_alerts: [] },
          {
            eval_time: '10m',
            alertname: 'HfiFaultsWithoutPolicy',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning', namespace: 'demo', pod: 'frontend-1' },
                exp_annotations: {
                  summary: 'demo/frontend-1 injects faults while no hfi policy is stored',
                  description: noPolicyDescription,
                },
              },
            ],
          },
        ],
      },
      {
        interval: '1m',
        input_series: [...faults, { series: 'hfi_control_plane_policies{pod="cp-0"}', values: '1x20' }],
        alert_rule_test: [{ eval_time: '10m', alertname: 'HfiFaultsWithoutPolicy', exp_alerts: [] }],
      },
    ]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it(`HfiAbortRateHigh fires above ${ABORT_RATE_ALERT_PER_SECOND} aborts/s per pod after 10 minutes`, async () => {
    const perMinute = (ABORT_RATE_ALERT_PER_SECOND + 5) * 60;
    const description = (faultAlertGroups()[0].rules[1].annotations.description as string).trim();
    const result = await testRules([
      {
        interval: '1m',
        input_series: [
          { series: `wasmcustom_hfi_faults_aborts_total{${LABELS}}`, values: `0+${perMinute}x30` },
          { series: 'wasmcustom_hfi_faults_aborts_total{namespace="demo",pod="frontend-2"}', values: '0+60x30' },
        ],
        alert_rule_test: [
          {
            eval_time: '20m',
            alertname: 'HfiAbortRateHigh',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning', namespace: 'demo', pod: 'frontend-1' },
                exp_annotations: {
                  summary: `demo/frontend-1 aborts ${ABORT_RATE_ALERT_PER_SECOND + 5} requests/s`,
                  description,
                },
              },
            ],
          },
        ],
      },
    ]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('the dashboard delay quantiles interpolate inside the bucket that holds the samples', async () => {
    // 60 delays a minute, all in (100, 250]: p50 = 100 + 150·0.5, p99 = 100 + 150·0.99 (linear within a bucket).
    const bucket = (le: string, values: string) => ({
      series: `wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{${LABELS},le="${le}"}`,
      values,
    });
    const queries = dashboardQueries().filter((q) => q.expr.startsWith('histogram_quantile('));
    expect(queries.map((q) => q.expr.slice(0, 'histogram_quantile(0.99'.length))).toEqual([
      'histogram_quantile(0.5,',
      'histogram_quantile(0.99',
    ]);
    const result = await testRules([
      {
        interval: '1m',
        input_series: [
          bucket('50', '0x10'),
          bucket('100', '0x10'),
          bucket('250', '0+60x10'),
          bucket('500', '0+60x10'),
          bucket('+Inf', '0+60x10'),
        ],
        promql_expr_test: [
          {
            expr: withoutGrafanaVariables(queries[0].expr),
            eval_time: '10m',
            exp_samples: [{ labels: '{}', value: 175 }],
          },
          {
            expr: withoutGrafanaVariables(queries[1].expr),
            eval_time: '10m',
            exp_samples: [{ labels: '{}', value: 248.5 }],
          },
        ],
      },
    ]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });
});
