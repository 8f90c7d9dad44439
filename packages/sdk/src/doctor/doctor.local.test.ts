// `hfi doctor --local` end to end: each of the seed's problems is made to happen on real local sidecars (the real
// plugin.wasm, an old-names build of it, or another Wasm module) with a real control plane, and the built `hfi`
// binary must name it, print its fix and exit with the right code.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import {
  abortPolicy,
  addSidecar,
  check,
  doctorJson,
  type Env,
  hfi,
  send,
  startEnv,
  statsPage,
  waitForApplied,
} from './__tests__/harness';
import { oldNamesPluginPath, otherPluginPath } from './__tests__/plugins';
import { diagnose } from './diagnose';
import type { CheckId, DiagnosisReport } from './types';

jest.setTimeout(180_000);

const SEED_ORDER: CheckId[] = [
  'plugin-loaded',
  'metrics-visible',
  'metric-names',
  'policy-applied',
  'policy-selector',
  'policy-acked',
  'traffic',
  'policy-match',
  'restart',
];

let env: Env;

beforeEach(async () => {
  env = await startEnv();
});

afterEach(async () => {
  await env.close();
});

const statuses = (report: DiagnosisReport) => Object.fromEntries(report.checks.map((c) => [c.id, c.status]));

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('hfi doctor --local', () => {
  it('passes every check, in the seed order, when faults are injected as configured (exit 0)', async () => {
    const { sidecar, logFile, pod } = await addSidecar(env);
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    await waitForApplied(env, pod);
    expect(await send(sidecar, '/api/orders', 3)).toEqual([503, 503, 503]);

    const text = await hfi([
      'doctor',
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      sidecar.adminUrl,
      '--log',
      logFile,
      '--request',
      'GET /api/orders',
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/no problem found: 9 ok, 0 problems, 0 could not be checked \(exit 0\)/);
    expect(text.stdout).toContain('aborts 3, delays 0, delay histogram with 20 buckets, _sum and _count');
    expect(text.stdout).toContain('GET /api/orders matches abort-api rule 0 (100% of requests)');

    const { run, report } = await doctorJson([
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      sidecar.adminUrl,
      '--request',
      'GET /api/orders',
    ]);
    expect(run.code).toBe(0);
    expect(report.exitCode).toBe(0);
    expect(report.checks.map((c) => c.id)).toEqual(SEED_ORDER);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(report.sidecars).toEqual([
      expect.objectContaining({ name: sidecar.adminUrl, workload: 'frontend', namespace: 'demo', pod }),
    ]);
  });

  it('exits 2 when neither the control plane nor the sidecar admin answers', async () => {
    const admin = `http://127.0.0.1:${await closedPort()}`;
    const controlPlane = `http://127.0.0.1:${await closedPort()}`;
    const text = await hfi([
      'doctor',
      '--local',
      '--control-plane-addr',
      controlPlane,
      '--admin',
      admin,
      '--timeout',
      '2s',
    ]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('could not check');
    expect(text.stdout).toContain('the environment could not be checked');
    expect(text.stdout).not.toContain('PROBLEM');

    const { report } = await doctorJson(['--local', '--control-plane-addr', controlPlane, '--admin', admin]);
    expect(report.exitCode).toBe(2);
    expect(report.summary.problems).toBe(0);
    expect(check(report, 'policy-applied')).toMatchObject({ status: 'unknown', unreachable: [controlPlane] });
    expect(check(report, 'metrics-visible').status).toBe('unknown');
    expect(check(report, 'metrics-visible').unreachable?.[0]).toContain(admin);
  });

  it('names Problem 1 (plugin not loaded) when the sidecar runs another Wasm module', async () => {
    const { sidecar, logFile } = await addSidecar(env, { plugin: await otherPluginPath() });
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    // Precondition: a Wasm VM runs (its creation is logged) but no hfi metric exists.
    expect(await readFile(logFile, 'utf8')).toMatch(/wasm vm created/);
    expect(await statsPage(sidecar, '/stats')).not.toContain('wasmcustom.');

    const withoutLog = await doctorJson(['--local', '--control-plane-addr', env.cp.url, '--admin', sidecar.adminUrl]);
    expect(withoutLog.run.code).toBe(1);
    expect(check(withoutLog.report, 'plugin-loaded')).toMatchObject({ status: 'problem', seedProblem: 1 });
    expect(check(withoutLog.report, 'plugin-loaded').detail).toContain('although its stats matcher keeps them');
    expect(check(withoutLog.report, 'plugin-loaded').detail).toContain(path.basename(await otherPluginPath()));
    expect(check(withoutLog.report, 'metrics-visible')).toMatchObject({ status: 'problem', seedProblem: 1 });
    expect(check(withoutLog.report, 'policy-acked')).toMatchObject({ status: 'problem' });

    const text = await hfi([
      'doctor',
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      sidecar.adminUrl,
      '--log',
      logFile,
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/PROBLEM +Plugin loaded: a Wasm VM runs but it is not hfi's/);
    expect(text.stdout).toContain('Fix (Problem 1, metrics not visible in Envoy stats):');
    expect(text.stdout).toContain('Run the sidecar with the hfi plugin');
  });

  it('names Problem 1 step 3 (stats matcher) when the bootstrap inclusion list keeps no plugin metric', async () => {
    const { sidecar, pod } = await addSidecar(env, { defaultStatsInclusion: false });
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    await waitForApplied(env, pod);
    expect(await send(sidecar, '/api/x', 2)).toEqual([503, 503]);
    expect(await statsPage(sidecar)).not.toContain('wasmcustom_hfi_faults');

    const text = await hfi(['doctor', '--local', '--control-plane-addr', env.cp.url, '--admin', sidecar.adminUrl]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/PROBLEM +Metrics visible: .*the bootstrap stats matcher keeps none of them/);
    expect(text.stdout).toContain('prefixes with "wasm": none');
    expect(text.stdout).toContain('--stats-inclusion-prefix wasmcustom.wasmcustom.hfi_faults');
    // The plugin itself runs: it polls the control plane.
    expect(text.stdout).toMatch(/ok +Plugin loaded: .*it polls the control plane/);

    // The same diagnosis through the SDK, in process.
    const report = await diagnose({ mode: 'local', sidecars: [sidecar.adminUrl], controlPlane: env.cp.url });
    expect(check(report, 'metrics-visible')).toMatchObject({ status: 'problem', seedProblem: 1 });
    expect(check(report, 'metrics-visible').fix).toContain('--stats-inclusion-prefix wasmcustom.wasmcustom.hfi_faults');
    expect(report.exitCode).toBe(1);
  });

  it('names Problem 5 (old metric names) for a plugin built with hfi.faults.* names', async () => {
    const { sidecar, pod } = await addSidecar(env, { plugin: await oldNamesPluginPath() });
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    await waitForApplied(env, pod);
    expect(await send(sidecar, '/api/x', 2)).toEqual([503, 503]);
    // Istio's default matcher keeps them (prefix `wasm`), under the old names.
    expect(await statsPage(sidecar)).toContain('hfi_faults_aborts_total{} 2');

    const text = await hfi(['doctor', '--local', '--control-plane-addr', env.cp.url, '--admin', sidecar.adminUrl]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /PROBLEM +Metric names: old metric names \(an old plugin version\): hfi_faults_aborts_total/,
    );
    expect(text.stdout).toContain('Fix (Problem 5, old metric names used):');
    expect(text.stdout).toContain('Rebuild the plugin with the new names');

    const { report } = await doctorJson(['--local', '--control-plane-addr', env.cp.url, '--admin', sidecar.adminUrl]);
    expect(check(report, 'metric-names')).toMatchObject({ status: 'problem', seedProblem: 5 });
    expect(check(report, 'metrics-visible')).toMatchObject({ status: 'problem', seedProblem: 5 });
    expect(check(report, 'plugin-loaded').status).toBe('ok');
  });

  it('names Problem 2 step 2 when the policy selector does not match the pod', async () => {
    const { sidecar, pod } = await addSidecar(env);
    await env.client.applyPolicy(abortPolicy('abort-backend', { service: 'backend', namespace: 'demo' }));
    await waitForApplied(env, pod);

    const text = await hfi(['doctor', '--local', '--control-plane-addr', env.cp.url, '--admin', sidecar.adminUrl]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/PROBLEM +Policy selector matches the pod: no policy selects this pod/);
    expect(text.stdout).toContain('service "backend" is not its workload ("frontend")');
    expect(text.stdout).toContain('Fix (Problem 2, metrics not incrementing):');

    const { report } = await doctorJson(['--local', '--control-plane-addr', env.cp.url, '--admin', sidecar.adminUrl]);
    expect(statuses(report)).toMatchObject({
      'metrics-visible': 'ok',
      'policy-applied': 'ok',
      'policy-selector': 'problem',
      'policy-acked': 'ok',
    });
    expect(check(report, 'policy-selector').seedProblem).toBe(2);
  });

  it('names Problem 2 step 4 when the requests do not match the policy path', async () => {
    const { sidecar, pod } = await addSidecar(env);
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    await waitForApplied(env, pod);
    expect(await send(sidecar, '/', 2)).toEqual([200, 200]);

    const text = await hfi([
      'doctor',
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      sidecar.adminUrl,
      '--request',
      'GET /',
      '-H',
      'x-user: test',
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      `GET / -H 'x-user: test' matches no rule: abort-api rule 0: path / does not match {"prefix":"/api"}`,
    );
    expect(text.stdout).toContain('Adjust the policy match rules');
  });

  // The sidecar counts inbound requests as Istio does (istio_requests_total{reporter="destination"}), so an idle
  // sidecar is told apart from traffic that matches no rule.
  it('names Problem 2 step 3 when no traffic reaches the sidecar', async () => {
    const { sidecar, pod } = await addSidecar(env);
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    await waitForApplied(env, pod);

    const { run, report } = await doctorJson([
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      sidecar.adminUrl,
    ]);
    expect(check(report, 'traffic')).toMatchObject({ status: 'problem', seedProblem: 2 });
    expect(check(report, 'traffic').fix).toContain('Send the traffic through the sidecar listener');
    expect(run.code).toBe(1);
  });

  it('names Problem 2 step 1 when no policy is applied', async () => {
    const { sidecar, pod } = await addSidecar(env);
    await waitForApplied(env, pod);
    const text = await hfi(['doctor', '--local', '--control-plane-addr', env.cp.url, '--admin', sidecar.adminUrl]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/PROBLEM +Policy applied: the control plane at .* has no policy/);
    expect(text.stdout).toContain('hfi policy apply -f examples/abort-policy.yaml');
  });

  it('names Problem 3 (expected) when a sidecar restarted on the same admin port since the baseline', async () => {
    const first = await addSidecar(env, { pod: 'frontend-0' });
    await env.client.applyPolicy(abortPolicy('abort-api', { service: 'frontend', namespace: 'demo' }));
    await waitForApplied(env, 'frontend-0');
    expect(await send(first.sidecar, '/api/x', 4)).toEqual([503, 503, 503, 503]);
    const admin = first.sidecar.adminUrl;
    const baseline = path.join(env.dir, 'baseline.json');

    const before = await doctorJson([
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      admin,
      '--baseline',
      baseline,
    ]);
    expect(before.run.code).toBe(0);
    expect(JSON.parse(await readFile(baseline, 'utf8')).sidecars[admin]).toMatchObject({ aborts: 4 });

    await first.sidecar.close();
    env.sidecars.splice(env.sidecars.indexOf(first.sidecar), 1);
    const port = Number(new URL(admin).port);
    const second = await addSidecar(env, { pod: 'frontend-0', admin: `127.0.0.1:${port}` });
    expect(second.sidecar.adminUrl).toBe(admin);
    await waitForApplied(env, 'frontend-0');
    expect(await send(second.sidecar, '/api/x', 1)).toEqual([503]);

    const text = await hfi([
      'doctor',
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      admin,
      '--baseline',
      baseline,
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /PROBLEM +Counters not reset by a restart: the proxy restarted, so its counters started again from 0 \(expected\)/,
    );
    expect(text.stdout).toContain('aborts_total 4 → 1');
    expect(text.stdout).toContain('Fix (Problem 3, metrics lost after pod restart):');
    expect(text.stdout).toContain('wasmcustom_hfi_faults_aborts_total[1h]');
    // The baseline now holds the new run.
    expect(JSON.parse(await readFile(baseline, 'utf8')).sidecars[admin]).toMatchObject({ aborts: 1 });
  });

  it('rejects a baseline file that is not one with HFI_ERR_DOCTOR_BASELINE (exit 2)', async () => {
    const { sidecar } = await addSidecar(env);
    const file = path.join(env.dir, 'not-a-baseline.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, '{"sidecars": 3}'));
    const text = await hfi([
      'doctor',
      '--local',
      '--control-plane-addr',
      env.cp.url,
      '--admin',
      sidecar.adminUrl,
      '--baseline',
      file,
    ]);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/is not an hfi doctor baseline .*\(HFI_ERR_DOCTOR_BASELINE\)/);
  });
});
