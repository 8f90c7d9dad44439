// The checks' verdicts on evidence written out by hand, for the cases real local sidecars cannot produce (a request
// counter, access logs, a pod replaced between runs, a sidecar behind on revisions) and for the folding of several
// sidecars into one result.
import type { NodeStatus, PolicyWithStatus } from '@hfi/core';
import { createStatsStore } from '@hfi/filter';
import type { Baseline } from './baseline';
import type { CheckContext, ControlPlaneView } from './checks/context';
import { checkPolicyAcked, checkPolicyMatch, checkTraffic, ruleMismatch } from './checks/policies';
import { checkRestart } from './checks/restart';
import { exitCodeOf } from './diagnose';
import type { SidecarEvidence } from './evidence';
import { buildFacts } from './facts';
import { renderReport } from './render';
import type { CheckResult, DiagnosisReport } from './types';

function hfiPage(aborts: number, uptime?: number, extra = ''): string {
  const store = createStatsStore({ clock: () => 0, serverStats: false });
  const id = store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
  store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total');
  store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
  if (aborts > 0) store.incrementMetric(id, BigInt(aborts));
  if (uptime !== undefined) store.recordMetric(store.defineStat('gauge', 'server.uptime'), BigInt(uptime));
  return store.renderPrometheus() + extra;
}

function evidence(name: string, promText: string, more: Partial<SidecarEvidence> = {}): SidecarEvidence {
  return {
    name,
    statsUrl: `${name}/stats/prometheus`,
    identity: { workload: 'frontend', namespace: 'demo', pod: name.replace(/\W+/g, '-'), labels: { app: 'frontend' } },
    prometheus: { text: promText },
    scrapedAtMs: Date.now(),
    scrapeAddresses: [],
    ...more,
  };
}

const policy = (name: string, prefix: string, headers: { name: string; exact: string }[] = []): PolicyWithStatus => ({
  metadata: { name },
  spec: {
    selector: { service: 'frontend', namespace: 'demo' },
    rules: [{ match: { path: { prefix }, headers }, fault: { percentage: 100, abort: { httpStatus: 503 } } }],
  },
  status: { revision: 1, updated_at: new Date().toISOString(), rules: [{ active: true }] },
});

function context(
  evidences: SidecarEvidence[],
  controlPlane?: Partial<ControlPlaneView>,
  nodes: NodeStatus[] = [],
): CheckContext {
  const cp: ControlPlaneView | undefined =
    controlPlane === undefined
      ? undefined
      : {
          url: 'http://cp',
          policies: { policies: [], revision: 1 },
          nodes: { nodes, revision: 1 },
          refreshNodes: async () => ({ nodes, revision: 1 }),
          ...controlPlane,
        };
  return {
    mode: 'local',
    sidecars: evidences.map((e) => buildFacts(e, nodes)),
    ...(cp ? { controlPlane: cp } : {}),
    fix: () => ({
      mode: 'local',
      namespace: 'demo',
      selector: 'app=frontend',
      pod: 'frontend-0',
      controlPlane: 'http://cp',
    }),
    nowMs: () => Date.now(),
  };
}

describe('traffic', () => {
  it("names Problem 2 step 3 when the sidecar's request counter is 0, and passes when it counts", () => {
    const none = `# TYPE istio_requests_total counter\nistio_requests_total{reporter="destination"} 0\n`;
    const some = `# TYPE istio_requests_total counter\nistio_requests_total{reporter="destination"} 12\n`;
    const idle = checkTraffic(context([evidence('http://a', hfiPage(0, undefined, none))]));
    expect(idle).toMatchObject({ status: 'problem', seedProblem: 2 });
    expect(idle.detail).toBe('no request has reached this sidecar (istio_requests_total{reporter="destination"} is 0)');
    expect(idle.fix).toContain('Send the traffic through the sidecar listener');
    const busy = checkTraffic(context([evidence('http://a', hfiPage(0, undefined, some))]));
    expect(busy).toMatchObject({
      status: 'ok',
      detail: '12 requests seen (istio_requests_total{reporter="destination"})',
    });
  });

  it('folds several sidecars: one idle sidecar is the problem, named with its pod', () => {
    const none = `# TYPE istio_requests_total counter\nistio_requests_total{reporter="destination"} 0\n`;
    const result = checkTraffic(
      context([evidence('http://a', hfiPage(2)), evidence('http://b', hfiPage(0, undefined, none))]),
    );
    expect(result.status).toBe('problem');
    expect(result.detail).toMatch(/^http:\/\/b: no request has reached/);
    expect(result.pods?.map((p) => [p.pod, p.status])).toEqual([
      ['http://a', 'ok'],
      ['http://b', 'problem'],
    ]);
  });
});

describe('policy match', () => {
  it('explains, part by part, why a request misses a rule', () => {
    const rule = {
      match: { method: { exact: 'POST' }, path: { prefix: '/api' }, headers: [{ name: 'x-user', exact: 'test' }] },
      fault: { percentage: 50, abort: { httpStatus: 500 } },
    };
    expect(ruleMismatch(rule, { method: 'GET', path: '/', headers: [['X-User', 'other']] })).toEqual([
      'method GET does not match {"exact":"POST"}',
      'path / does not match {"prefix":"/api"}',
      'header x-user does not match {"exact":"test"}',
    ]);
    expect(ruleMismatch(rule, { method: 'POST', path: '/api/a', headers: [] })).toEqual(['header x-user is not sent']);
  });

  it('names Problem 2 step 4 from the requests in the access log when none matches a rule', () => {
    const log = {
      lines: [
        '[2024-05-01T10:00:02.000Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 2 1 1 "-" "curl/8.5.0"',
        '[2024-05-01T10:00:03.000Z] "GET /health HTTP/1.1" 200 - via_upstream - "-" 0 2 1 1 "-" "kube-probe/1.31"',
      ],
      source: 'kubectl logs',
    };
    const ctx = context([evidence('http://a', hfiPage(0), { logs: log })], {
      policies: { policies: [policy('abort-api', '/api')], revision: 1 },
    });
    const result = checkPolicyMatch(ctx, undefined);
    expect(result).toMatchObject({ status: 'problem', seedProblem: 2 });
    expect(result.detail).toContain('none of the 2 requests in its access log (GET /, GET /health) matches a rule');
    expect(result.fix).toContain('Adjust the policy match rules');

    const matching = checkPolicyMatch(ctx, { method: 'GET', path: '/api/orders', headers: [] });
    expect(matching).toMatchObject({
      status: 'ok',
      detail: 'GET /api/orders matches abort-api rule 0 (100% of requests)',
    });
  });
});

describe('policy acked', () => {
  const node = (pod: string, applied: number, stale = false): NodeStatus => ({
    instance: `${pod}-w0`,
    workload: 'frontend',
    namespace: 'demo',
    pod,
    labels: { app: 'frontend' },
    applied_revision: applied,
    last_seen: new Date().toISOString(),
    stale,
  });

  it('names a sidecar behind the current revision, a stale one, and one never heard from', async () => {
    const a = evidence('http://a', hfiPage(0));
    const b = evidence('http://b', hfiPage(0));
    const c = evidence('http://c', hfiPage(0));
    const nodes = [node('http-a', 1), node('http-b', 3, true)];
    const list = { nodes, revision: 3 };
    const ctx = context([a, b, c], { nodes: list, refreshNodes: async () => list }, nodes);
    const result = await checkPolicyAcked(ctx, 0);
    expect(result.status).toBe('problem');
    expect(result.pods?.map((p) => p.detail)).toEqual([
      '1 of its 1 worker VMs have applied revision 1, not the current 3',
      expect.stringMatching(/^1 of its 1 worker VMs stopped polling/),
      'pod demo/http-c has never polled the control plane at http://cp although its plugin runs: its control_plane_address points elsewhere',
    ]);
  });
});

describe('restart', () => {
  const baseline = (entry: Baseline['sidecars'][string]): Baseline => ({
    hfiDoctorBaseline: 1,
    takenAt: entry.takenAt,
    sidecars: { 'http://a': entry },
  });
  const tenSecondsAgo = () => new Date(Date.now() - 10_000).toISOString();

  it('calls lower counters or an uptime that went back a restart (Problem 3, expected)', () => {
    const ctx = context([evidence('http://a', hfiPage(1, 2))]);
    const dropped = checkRestart(ctx, baseline({ takenAt: tenSecondsAgo(), aborts: 5 }), new Map(), undefined);
    expect(dropped).toMatchObject({ status: 'problem', seedProblem: 3 });
    expect(dropped.detail).toContain('(expected)');
    expect(dropped.detail).toContain('aborts_total 5 → 1');
    const uptime = checkRestart(ctx, baseline({ takenAt: tenSecondsAgo(), uptimeSeconds: 60 }), new Map(), undefined);
    expect(uptime.detail).toMatch(/envoy_server_uptime is 2s, it was 60s 10s ago/);
  });

  it('passes when the uptime grew with the clock, and sees a pod replaced through its UID', () => {
    const ctx = context([evidence('http://a', hfiPage(5, 70))]);
    const fine = checkRestart(
      ctx,
      baseline({ takenAt: tenSecondsAgo(), uptimeSeconds: 60, aborts: 5 }),
      new Map(),
      'b.json',
    );
    expect(fine).toMatchObject({ status: 'ok' });
    expect(fine.detail).toMatch(/^no restart since the baseline of .* \(up 70s\)$/);

    const k8s = { uid: 'new-uid', annotations: {}, proxyRestartCount: 0 };
    const replaced = context([evidence('http://a', hfiPage(5, 70), { k8s })]);
    const result = checkRestart(replaced, baseline({ takenAt: tenSecondsAgo(), uid: 'old-uid' }), new Map(), undefined);
    expect(result.detail).toContain('the pod was replaced (UID old-uid → new-uid)');
  });

  it('sees a restart during the run from the second scrape', () => {
    const ctx = context([evidence('http://a', hfiPage(4, 30))]);
    const result = checkRestart(ctx, undefined, new Map([['http://a', { text: hfiPage(0, 0) }]]), undefined);
    expect(result).toMatchObject({ status: 'problem', seedProblem: 3 });
    expect(result.detail).toContain('during this run: aborts_total 4 → 0');
  });
});

describe('verdict and text', () => {
  const result = (status: CheckResult['status'], extra: Partial<CheckResult> = {}): CheckResult => ({
    id: 'traffic',
    title: 'T',
    status,
    detail: 'd',
    ...extra,
  });

  it('exits 1 on any problem, else 2 when an endpoint did not answer, else 0', () => {
    expect(exitCodeOf([result('ok'), result('unknown')])).toBe(0);
    expect(exitCodeOf([result('ok'), result('unknown', { unreachable: ['http://cp'] })])).toBe(2);
    expect(exitCodeOf([result('problem'), result('unknown', { unreachable: ['http://cp'] })])).toBe(1);
  });

  it('prints each check on one line, the fix under a problem, and a repeated fix only once', () => {
    const report: DiagnosisReport = {
      mode: 'local',
      startedAt: '',
      finishedAt: '',
      sidecars: [{ name: 'http://a', statsUrl: 'http://a/stats/prometheus', workload: 'frontend' }],
      checks: [
        result('problem', { title: 'Plugin loaded', detail: 'not loaded', fix: 'Do X\n  cmd', seedProblem: 1 }),
        result('problem', { title: 'Metrics visible', detail: 'absent', fix: 'Do X\n  cmd', seedProblem: 1 }),
        result('unknown', { title: 'Traffic', detail: 'no counter' }),
      ],
      summary: { ok: 0, problems: 2, unknown: 1 },
      exitCode: 1,
    };
    expect(renderReport(report)).toBe(
      [
        'hfi doctor: 1 local sidecar',
        '  http://a (workload frontend)',
        '',
        ' 1. PROBLEM          Plugin loaded: not loaded',
        '      Fix (Problem 1, metrics not visible in Envoy stats):',
        '        Do X',
        '          cmd',
        ' 2. PROBLEM          Metrics visible: absent',
        '      Fix (Problem 1, metrics not visible in Envoy stats): as for check 1 above.',
        ' 3. could not check  Traffic: no counter',
        '',
        '2 problems found: 0 ok, 2 problems, 1 could not be checked (exit 1)',
        '',
      ].join('\n'),
    );
  });
});
