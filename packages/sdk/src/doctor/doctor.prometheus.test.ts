// `hfi doctor --prometheus`: the seed's Problem 4 against a real Prometheus scraping real local sidecars — one
// scraped as it should be, one whose hfi series a metric_relabel_configs rule drops, one scraped on the wrong path
// (target down), and one Prometheus does not scrape at all.

import { PrometheusServer, type StartedPrometheusServer } from '@hfi/filter';
import {
  abortPolicy,
  addSidecar,
  check,
  doctorJson,
  type Env,
  hfi,
  type LocalSidecar,
  send,
  startEnv,
  waitForApplied,
} from './__tests__/harness';

jest.setTimeout(180_000);

let env: Env;
let prometheus: StartedPrometheusServer;
let scraped: LocalSidecar;
let dropped: LocalSidecar;
let wrongPath: LocalSidecar;
let unscraped: LocalSidecar;

const hostOf = (s: LocalSidecar) => new URL(s.sidecar.adminUrl).host;

beforeAll(async () => {
  env = await startEnv();
  scraped = await addSidecar(env, { pod: 'frontend-scraped' });
  dropped = await addSidecar(env, { pod: 'frontend-dropped' });
  wrongPath = await addSidecar(env, { pod: 'frontend-wrong-path' });
  unscraped = await addSidecar(env, { pod: 'frontend-unscraped' });
  await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
  for (const s of [scraped, dropped, wrongPath, unscraped]) {
    await waitForApplied(env, s.pod);
    expect(await send(s.sidecar, '/api/x', 2)).toEqual([503, 503]);
  }
  prometheus = await new PrometheusServer()
    .withScrapeJob({ jobName: 'sidecars', targets: [hostOf(scraped)] })
    .withScrapeJob({
      jobName: 'sidecars-filtered',
      targets: [hostOf(dropped)],
      metricRelabelConfigs: [{ source_labels: ['__name__'], regex: 'wasmcustom_.*', action: 'drop' }],
    })
    .withScrapeJob({ jobName: 'sidecars-wrong-path', targets: [hostOf(wrongPath)], metricsPath: '/metrics' })
    .start();
  await prometheus.waitForSeries(`wasmcustom_hfi_faults_aborts_total{instance="${hostOf(scraped)}"}`);
  await prometheus.waitForTargetUp(hostOf(dropped));
  await prometheus.waitForSeries(`envoy_server_uptime{instance="${hostOf(dropped)}"}`);
  await prometheus.waitForSeries(`up{instance="${hostOf(wrongPath)}"} == 0`);
});

afterAll(async () => {
  await prometheus?.close();
  await env?.close();
});

const doctor = (s: LocalSidecar) => [
  '--local',
  '--control-plane-addr',
  env.cp.url,
  '--admin',
  s.sidecar.adminUrl,
  '--prometheus',
  prometheus.url,
];

describe('hfi doctor --prometheus (real Prometheus)', () => {
  it('passes when Prometheus scrapes the sidecar and keeps its hfi series (exit 0)', async () => {
    const { run, report } = await doctorJson(doctor(scraped));
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(run.code).toBe(0);
    expect(check(report, 'prometheus-targets').detail).toContain(`target http://${hostOf(scraped)}/stats/prometheus`);
    expect(check(report, 'prometheus-metrics').detail).toContain('wasmcustom_hfi_faults_aborts_total');
    expect(report.checks.map((c) => c.id).slice(-2)).toEqual(['prometheus-targets', 'prometheus-metrics']);
  });

  it('names Problem 4 when metric_relabel_configs drop the hfi series', async () => {
    const text = await hfi(['doctor', ...doctor(dropped)]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/ok +Prometheus scrapes the sidecars/);
    expect(text.stdout).toMatch(
      /PROBLEM +Metrics reach Prometheus: the sidecar page has wasmcustom_hfi_faults_aborts_total/,
    );
    expect(text.stdout).toContain('job sidecars-filtered has metric_relabel_configs');
    expect(text.stdout).toContain('"regex":"wasmcustom_.*"');
    expect(text.stdout).toContain('Fix (Problem 4, metrics missing in Prometheus):');
    expect(text.stdout).toContain('a metric_relabel_configs');
  });

  it('names Problem 4 when Prometheus has no target for the sidecar', async () => {
    const { run, report } = await doctorJson(doctor(unscraped));
    expect(run.code).toBe(1);
    expect(check(report, 'prometheus-targets')).toMatchObject({ status: 'problem', seedProblem: 4 });
    expect(check(report, 'prometheus-targets').detail).toContain(
      `does not scrape this sidecar: no scrape target for ${hostOf(unscraped)} among the 3 active targets`,
    );
    expect(check(report, 'prometheus-targets').fix).toContain('Add the sidecar to the Prometheus scrape configuration');
    expect(check(report, 'prometheus-metrics').status).toBe('unknown');
  });

  it('names Problem 4 step 2 when the target is down', async () => {
    const { run, report } = await doctorJson(doctor(wrongPath));
    expect(run.code).toBe(1);
    expect(check(report, 'prometheus-targets')).toMatchObject({ status: 'problem', seedProblem: 4 });
    expect(check(report, 'prometheus-targets').detail).toMatch(/is DOWN: .*404/);
  });

  it('exits 2 when Prometheus does not answer and nothing else is wrong', async () => {
    const { run, report } = await doctorJson([
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      scraped.sidecar.adminUrl,
      '--prometheus',
      'http://127.0.0.1:1',
    ]);
    expect(check(report, 'prometheus-targets')).toMatchObject({
      status: 'unknown',
      unreachable: ['http://127.0.0.1:1'],
    });
    expect(run.code).toBe(2);
  });
});
