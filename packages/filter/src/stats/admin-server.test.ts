import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type AdminServer, BOOTSTRAP_CONFIG_DUMP_TYPE, type ServerState, startAdminServer } from './admin-server';
import { createStatsStore, type EnvoyStatsStore } from './store';

const execFileAsync = promisify(execFile);

/** Runs the real jq over a body; resolves with stdout. */
async function jq(input: string, filter: string): Promise<string> {
  const run = execFileAsync('jq', ['-c', filter]);
  run.child.stdin?.end(input);
  return (await run).stdout;
}

describe('admin server', () => {
  let store: EnvoyStatsStore;
  let server: AdminServer;
  let readyState: boolean | ServerState = true;
  let aborts: number;
  let duration: number;

  beforeAll(async () => {
    store = createStatsStore();
    aborts = store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
    store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total');
    duration = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
    server = await startAdminServer({
      stats: store,
      serverInfo: { version: 'test/1.0', nodeId: 'sidecar~10.0.0.1~frontend-1.demo~demo.svc.cluster.local' },
      ready: () => readyState,
      configDump: () => ({
        '@type': 'type.googleapis.com/envoy.admin.v3.EcdsConfigDump',
        ecds_filters: [{ ec_config: { name: 'hfi' } }],
      }),
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it('listens on loopback with an ephemeral port', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('serves /stats/prometheus as the store renders it, with ?usedonly and ?filter=', async () => {
    store.incrementMetric(aborts, 2n);
    const res = await fetch(`${server.url}/stats/prometheus`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    const body = await res.text();
    expect(body).toBe(store.renderPrometheus());
    expect(body).toContain('wasmcustom_hfi_faults_aborts_total{} 2\n');

    const used = await (await fetch(`${server.url}/stats/prometheus?usedonly`)).text();
    expect(used).toContain('wasmcustom_hfi_faults_aborts_total{} 2\n');
    expect(used).not.toContain('wasmcustom_hfi_faults_delays_total');

    const filtered = await (
      await fetch(`${server.url}/stats/prometheus?filter=${encodeURIComponent('delays')}`)
    ).text();
    expect(filtered).toBe(
      '# TYPE wasmcustom_hfi_faults_delays_total counter\nwasmcustom_hfi_faults_delays_total{} 0\n',
    );
  });

  it('rejects an invalid ?filter= regex with 400', async () => {
    const res = await fetch(`${server.url}/stats/prometheus?filter=${encodeURIComponent('(')}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/^Invalid regex/);
  });

  it('serves /stats as text, json and prometheus', async () => {
    store.recordMetric(duration, 450n);
    store.flush();
    const text = await (await fetch(`${server.url}/stats?filter=hfi`)).text();
    expect(text).toContain('wasmcustom.wasmcustom.hfi_faults_aborts_total: 2\n');
    expect(text).toMatch(/wasmcustom\.wasmcustom\.hfi_faults_delay_duration_milliseconds: P0\(450,450\)/);

    const res = await fetch(`${server.url}/stats?format=json&filter=aborts`);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ stats: [{ name: 'wasmcustom.wasmcustom.hfi_faults_aborts_total', value: 2 }] });

    const prom = await (await fetch(`${server.url}/stats?format=prometheus&usedonly`)).text();
    expect(prom).toContain('wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{le="500"} 1\n');
  });

  it('answers /ready like Envoy: 200 LIVE, else 503 and the state', async () => {
    readyState = true;
    let res = await fetch(`${server.url}/ready`);
    expect([res.status, await res.text()]).toEqual([200, 'LIVE\n']);
    readyState = false;
    res = await fetch(`${server.url}/ready`);
    expect([res.status, await res.text()]).toEqual([503, 'INITIALIZING\n']);
    readyState = 'DRAINING';
    res = await fetch(`${server.url}/ready`);
    expect([res.status, await res.text()]).toEqual([503, 'DRAINING\n']);
    readyState = true;
  });

  it('serves /server_info', async () => {
    const info = (await (await fetch(`${server.url}/server_info`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      version: 'test/1.0',
      state: 'LIVE',
      node: { id: 'sidecar~10.0.0.1~frontend-1.demo~demo.svc.cluster.local' },
    });
    expect(info.uptime_current_epoch).toMatch(/^\d+s$/);
  });

  it("serves /config_dump so that the seed document's jq finds the inclusion patterns", async () => {
    const body = await (await fetch(`${server.url}/config_dump`)).text();
    const dump = JSON.parse(body) as { configs: Record<string, unknown>[] };
    expect(dump.configs.map((c) => c['@type'])).toEqual([
      BOOTSTRAP_CONFIG_DUMP_TYPE,
      'type.googleapis.com/envoy.admin.v3.EcdsConfigDump',
    ]);
    const bootstrap = '.configs[] | select(.["@type"] == "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump")';
    const patterns = JSON.parse(
      await jq(body, `${bootstrap} | .bootstrap.stats_config.stats_matcher.inclusion_list.patterns`),
    ) as unknown[];
    expect(patterns).toContainEqual({ prefix: 'wasm' });
    expect(patterns).toEqual(store.inclusionPatterns());
    // The seed's second command pipes every pattern into `.prefix | contains("wasm")`; Istio's list also holds
    // suffix and safe_regex patterns, whose `.prefix` is null, so jq prints the match and then exits 5 — on a
    // real Istio proxy as here. Guarding the null keeps only the match.
    const seedFilter = `${bootstrap} | .bootstrap.stats_config.stats_matcher.inclusion_list.patterns[] | select(.prefix | contains("wasm"))`;
    await expect(jq(body, seedFilter)).rejects.toMatchObject({ code: 5, stdout: '{"prefix":"wasm"}\n' });
    const guarded = `${bootstrap} | .bootstrap.stats_config.stats_matcher.inclusion_list.patterns[] | select((.prefix // "") | contains("wasm"))`;
    expect(await jq(body, guarded)).toBe('{"prefix":"wasm"}\n');
  });

  it('answers unknown paths with 404', async () => {
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('/stats/prometheus');
  });

  it('closes with await using', async () => {
    let url = '';
    {
      await using s = await startAdminServer({ stats: createStatsStore(), listen: { host: '127.0.0.1', port: 0 } });
      url = s.url;
      expect((await fetch(`${url}/ready`)).status).toBe(200);
    }
    await expect(fetch(`${url}/ready`)).rejects.toThrow();
  });
});
