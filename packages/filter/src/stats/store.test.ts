import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isHfiError } from '@hfi/core';
import { createStatsStore, type EnvoyStatsStore, type StatsStoreOptions } from './store';

const HIST = 'wasmcustom_hfi_faults_delay_duration_milliseconds';

/** The three metrics as the plugin defines them (with the `wasmcustom.` prefix in the name it passes). */
function hfiStore(options: StatsStoreOptions = {}) {
  const store = createStatsStore(options);
  const aborts = store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
  const delays = store.defineMetric('counter', 'wasmcustom.hfi_faults_delays_total');
  const duration = store.defineMetric('histogram', 'wasmcustom.hfi_faults_delay_duration_milliseconds');
  return { store, aborts, delays, duration };
}

/** `grep <needle>` over a body. */
function grep(body: string, needle: string): string[] {
  return body.split('\n').filter((line) => line.includes(needle));
}

/** Sample value of the first line that starts with `series` followed by a space. */
function sample(body: string, series: string): string | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line?.slice(series.length + 1);
}

function buckets(body: string, family: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    const m = /^(\S+)_bucket\{(?:.*,)?le="([^"]+)"\} (\d+)$/.exec(line);
    if (m !== null && m[1] === family) out.set(m[2], Number(m[3]));
  }
  return out;
}

function recordAndFlush(store: EnvoyStatsStore, id: number, values: number[]): string {
  for (const v of values) store.recordMetric(id, BigInt(v));
  store.flush();
  return store.renderPrometheus();
}

describe('the seed document: expected output before any faults', () => {
  it('appears line for line in /stats/prometheus | grep wasmcustom_hfi_faults', () => {
    const fixture = readFileSync(join(__dirname, '__fixtures__', 'seed-expected-output.txt'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const gap = fixture.indexOf('...');
    const head = fixture.slice(0, gap);
    const tail = fixture.slice(gap + 1);
    const { store } = hfiStore();
    const lines = grep(store.renderPrometheus(), 'wasmcustom_hfi_faults');
    expect(lines.slice(0, head.length)).toEqual(head);
    expect(lines.slice(lines.length - tail.length)).toEqual(tail);
    const middle = lines.slice(head.length, lines.length - tail.length);
    expect(middle).toEqual(
      ['5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000']
        .concat(['300000', '600000', '1800000', '3600000', '+Inf'])
        .map((le) => `${HIST}_bucket{le="${le}"} 0`),
    );
    expect(lines.filter((l) => l.includes('_bucket{')).length).toBe(20);
  });
});

describe('histograms as libcircllhist computes them', () => {
  it.each([
    [25, '50'],
    [100, '250'],
    [120, '250'],
    [40, '50'],
  ])('a delay of %p ms is first counted in le="%s"', (value, expectedLe) => {
    const { store, duration } = hfiStore();
    const body = recordAndFlush(store, duration, [value]);
    const b = buckets(body, HIST);
    const first = [...b.entries()].find(([, count]) => count === 1)?.[0];
    expect(first).toBe(expectedLe);
  });

  it.each([
    [100, '1050'],
    [40, '405'],
    [120, '1250'],
  ])('ten delays of %p ms give _sum %s, _count 10 and +Inf 10', (value, sum) => {
    const { store, duration } = hfiStore();
    const body = recordAndFlush(store, duration, Array(10).fill(value));
    expect(sample(body, `${HIST}_sum{}`)).toBe(sum);
    expect(sample(body, `${HIST}_count{}`)).toBe('10');
    expect(sample(body, `${HIST}_bucket{le="+Inf"}`)).toBe('10');
  });

  it('keeps buckets cumulative and +Inf equal to the count across flushes', () => {
    const { store, duration } = hfiStore();
    recordAndFlush(store, duration, [3, 450, 7000]);
    const body = recordAndFlush(store, duration, [450, 4000000]);
    const b = buckets(body, HIST);
    const values = [...b.values()];
    expect(values).toEqual([...values].sort((x, y) => x - y));
    expect(b.get('500')).toBe(3);
    expect(b.get('3600000')).toBe(4);
    expect(b.get('+Inf')).toBe(5);
    expect(sample(body, `${HIST}_count{}`)).toBe('5');
  });

  it('follows libcircllhist 0.3.2 when asked (newer Envoy): 100 is counted in le="100"', () => {
    const { store, duration } = hfiStore({ circllhist: '0.3.2' });
    const body = recordAndFlush(store, duration, Array(10).fill(100));
    expect(buckets(body, HIST).get('100')).toBe(10);
    // 100 + 10·100/210 per sample: the C arithmetic prints exactly this with %.32g.
    expect(sample(body, `${HIST}_sum{}`)).toBe('1047.6190476190477056661620736122');
  });

  it('uses configured bounds for matching names (sidecar.istio.io/statsHistogramBuckets)', () => {
    const { store, duration } = hfiStore({
      histogramBuckets: { 'wasmcustom.wasmcustom.hfi_faults_delay': [1000, 100] },
    });
    const body = recordAndFlush(store, duration, [150]);
    expect([...buckets(body, HIST).entries()]).toEqual([
      ['100', 0],
      ['1000', 1],
      ['+Inf', 1],
    ]);
  });
});

describe('flush timing', () => {
  it('hides recorded samples until the next flush while counters are live', () => {
    const { store, aborts, duration } = hfiStore();
    store.incrementMetric(aborts, 3n);
    store.recordMetric(duration, 450n);
    let body = store.renderPrometheus();
    expect(sample(body, 'wasmcustom_hfi_faults_aborts_total{}')).toBe('3');
    expect(sample(body, `${HIST}_count{}`)).toBe('0');
    expect(sample(body, `${HIST}_bucket{le="500"}`)).toBe('0');
    store.flush();
    body = store.renderPrometheus();
    expect(sample(body, `${HIST}_count{}`)).toBe('1');
    expect(sample(body, `${HIST}_bucket{le="500"}`)).toBe('1');
  });

  it('flushes periodically once started, and stops', async () => {
    const { store, duration } = hfiStore();
    store.recordMetric(duration, 450n);
    store.startFlushing(20);
    expect(store.flushIntervalMs).toBe(20);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (sample(store.renderPrometheus(), `${HIST}_count{}`) === '1') {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    store.stopFlushing();
    expect(store.flushIntervalMs).toBeUndefined();
  });

  it('refreshes server.uptime at flush from the clock', () => {
    let now = 1_000_000;
    const store = createStatsStore({ clock: () => now });
    now += 12_500;
    expect(sample(store.renderPrometheus(), 'envoy_server_uptime{}')).toBe('0');
    store.flush();
    expect(sample(store.renderPrometheus(), 'envoy_server_uptime{}')).toBe('12');
  });
});

describe('names and the stats matcher', () => {
  it("exports the reference's old names under Istio's defaults, as hfi_faults_* (wasmcustom stripped once)", () => {
    const store = createStatsStore();
    const id = store.defineMetric('counter', 'hfi.faults.aborts_total');
    store.incrementMetric(id, 2n);
    expect(store.describeMetric(id)).toMatchObject({
      name: 'wasmcustom.hfi.faults.aborts_total',
      prometheusName: 'hfi_faults_aborts_total',
      rejected: false,
    });
    expect(grep(store.renderPrometheus(), 'hfi_faults_aborts_total')).toEqual([
      '# TYPE hfi_faults_aborts_total counter',
      'hfi_faults_aborts_total{} 2',
    ]);
    expect(grep(store.renderText(), 'aborts_total')).toEqual(['wasmcustom.hfi.faults.aborts_total: 2']);
  });

  it('hides every plugin metric when the inclusion list lacks a matching pattern (defaultInclusion: false)', () => {
    const { store, aborts, duration } = hfiStore({ defaultInclusion: false });
    store.incrementMetric(aborts, 1n);
    store.recordMetric(duration, 5n);
    store.flush();
    expect(store.getMetric(aborts)).toBe(0n);
    expect(store.renderPrometheus()).toBe('');
    expect(store.renderText()).toBe('');
    expect(store.inclusionPatterns()).toEqual([]);
    expect(store.describeMetric(aborts)?.rejected).toBe(true);
  });

  it('shows exactly what a user prefix names when the defaults are off', () => {
    const store = createStatsStore({ defaultInclusion: false, inclusionPrefixes: ['wasmcustom.wasmcustom.hfi'] });
    const fresh = store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total');
    const old = store.defineMetric('counter', 'hfi.faults.aborts_total');
    store.incrementMetric(fresh, 1n);
    store.incrementMetric(old, 1n);
    const body = store.renderPrometheus();
    expect(sample(body, 'wasmcustom_hfi_faults_aborts_total{}')).toBe('1');
    expect(body).not.toContain('hfi_faults_aborts_total{} 1\nhfi');
    expect(grep(body, 'envoy_server')).toEqual([]);
    expect(grep(body, '# TYPE')).toEqual(['# TYPE wasmcustom_hfi_faults_aborts_total counter']);
  });

  it("appends user prefixes to Istio's list and keeps the built-in server gauges", () => {
    const store = createStatsStore({ inclusionPrefixes: ['http.'] });
    expect(store.inclusionPatterns().slice(0, 3)).toEqual([
      { prefix: 'reporter=' },
      { prefix: 'http.' },
      { prefix: 'cluster_manager' },
    ]);
    const id = store.defineStat('counter', 'http.10.0.0.1_8080.downstream_rq_total');
    store.incrementMetric(id, 1n);
    const body = store.renderPrometheus();
    expect(sample(body, 'envoy_http_downstream_rq_total{http_conn_manager_prefix="10.0.0.1_8080"}')).toBe('1');
    expect(sample(body, 'envoy_server_live{}')).toBe('1');
  });

  it('drops a custom-namespace name that would start with a digit, as the formatter does', () => {
    const store = createStatsStore();
    const id = store.defineMetric('counter', '1abc');
    store.incrementMetric(id, 1n);
    expect(store.describeMetric(id)?.prometheusName).toBeNull();
    expect(store.renderPrometheus()).not.toContain('1abc');
    expect(store.renderText()).toContain('wasmcustom.1abc: 1\n');
  });

  it('sanitises built-in names and tags, and extracts Istio tags', () => {
    const store = createStatsStore({ inclusionPrefixes: ['cluster.'], extraStatTags: ['reporter'] });
    const rq = store.defineStat('counter', 'cluster.outbound|80||orders.shop.svc.cluster.local.upstream_rq_200');
    store.incrementMetric(rq, 4n);
    const plugin = store.defineMetric('counter', 'reporter=.=inbound;.;hfi_requests_total');
    store.incrementMetric(plugin, 1n);
    const body = store.renderPrometheus();
    expect(
      sample(
        body,
        'envoy_cluster_upstream_rq{cluster_name="outbound|80||orders.shop.svc.cluster.local",response_code="200"}',
      ),
    ).toBe('4');
    expect(sample(body, 'hfi_requests_total{reporter="inbound"}')).toBe('1');
  });
});

describe('rendering', () => {
  it('orders counters, then gauges, then histograms; families by segment-wise name', () => {
    const store = createStatsStore({ defaultInclusion: false, inclusionPrefixes: ['a', 'wasm', 'server'] });
    store.defineStat('counter', 'a-b.c');
    store.defineStat('counter', 'a.b');
    store.defineMetric('gauge', 'g');
    store.defineMetric('histogram', 'h');
    store.defineMetric('counter', 'z');
    const types = grep(store.renderPrometheus(), '# TYPE');
    expect(types).toEqual([
      '# TYPE envoy_a_b counter', // "a" < "a-b": StatName order, not byte order
      '# TYPE envoy_a_b_c counter',
      '# TYPE z counter',
      '# TYPE envoy_server_concurrency gauge',
      '# TYPE envoy_server_hot_restart_epoch gauge',
      '# TYPE envoy_server_live gauge',
      '# TYPE envoy_server_uptime gauge',
      '# TYPE g gauge',
      '# TYPE h histogram',
    ]);
  });

  it('prints the server gauges with empty braces', () => {
    const store = createStatsStore({ concurrency: 4 });
    const body = store.renderPrometheus();
    expect(sample(body, 'envoy_server_live{}')).toBe('1');
    expect(sample(body, 'envoy_server_hot_restart_epoch{}')).toBe('0');
    expect(sample(body, 'envoy_server_concurrency{}')).toBe('4');
    store.setServerGauge('envoy_server_concurrency', 8);
    store.setServerGauge('server.live', 0);
    expect(sample(store.renderPrometheus(), 'envoy_server_concurrency{}')).toBe('8');
    expect(sample(store.renderPrometheus(), 'envoy_server_live{}')).toBe('0');
  });

  it('?usedonly keeps written stats; histograms count as written from their first flush', () => {
    const { store, aborts, duration } = hfiStore();
    const used = () => grep(store.renderPrometheus({ usedOnly: true }), '# TYPE wasmcustom');
    expect(used()).toEqual([]);
    store.incrementMetric(aborts, 1n);
    store.recordMetric(duration, 9n);
    expect(used()).toEqual(['# TYPE wasmcustom_hfi_faults_aborts_total counter']);
    store.flush();
    expect(used()).toEqual(['# TYPE wasmcustom_hfi_faults_aborts_total counter', `# TYPE ${HIST} histogram`]);
  });

  it('?filter= searches the full stat name, with dots', () => {
    const { store } = hfiStore();
    const types = (filter: RegExp) => grep(store.renderPrometheus({ filter }), '# TYPE');
    expect(types(/delay/)).toEqual(['# TYPE wasmcustom_hfi_faults_delays_total counter', `# TYPE ${HIST} histogram`]);
    expect(types(/wasmcustom_hfi/)).toEqual([]);
    expect(types(/^wasmcustom\.wasmcustom\.hfi_faults_aborts/)).toEqual([
      '# TYPE wasmcustom_hfi_faults_aborts_total counter',
    ]);
    expect(store.renderText({ filter: /aborts/ })).toBe('wasmcustom.wasmcustom.hfi_faults_aborts_total: 0\n');
  });

  it('/stats prints full names and Envoy quantile summaries (interval, cumulative)', () => {
    const { store, aborts, duration } = hfiStore();
    store.incrementMetric(aborts, 3n);
    store.recordMetric(duration, 120n);
    const line = () => grep(store.renderText(), 'delay_duration')[0];
    expect(line()).toBe('wasmcustom.wasmcustom.hfi_faults_delay_duration_milliseconds: No recorded values');
    store.flush();
    expect(line()).toBe(
      'wasmcustom.wasmcustom.hfi_faults_delay_duration_milliseconds: P0(120,120) P25(122.5,122.5) P50(125,125) ' +
        'P75(127.5,127.5) P90(129,129) P95(129.5,129.5) P99(129.9,129.9) P99.5(129.95,129.95) ' +
        'P99.9(129.99,129.99) P100(130,130)',
    );
    store.flush();
    expect(line()).toMatch(/^\S+: P0\(nan,120\) P25\(nan,122\.5\) .* P100\(nan,130\)$/);
    const text = store.renderText();
    expect(text.indexOf('wasmcustom.wasmcustom.hfi_faults_aborts_total: 3\n')).toBeGreaterThan(-1);
    expect(text.indexOf('server.live: 1\n')).toBeLessThan(text.indexOf('wasmcustom.wasmcustom.hfi_faults_aborts'));
    expect(text.indexOf('hfi_faults_aborts')).toBeLessThan(text.indexOf('delay_duration'));
  });

  it('/stats?format=json carries values and quantiles, NaN as null', () => {
    const { store, delays, duration } = hfiStore();
    store.incrementMetric(delays, 2n);
    store.recordMetric(duration, 40n);
    store.flush();
    store.flush();
    const json = JSON.parse(store.renderJson()) as {
      stats: ({ name: string; value: number } | { histograms: Record<string, unknown> })[];
    };
    expect(json.stats).toContainEqual({ name: 'wasmcustom.wasmcustom.hfi_faults_delays_total', value: 2 });
    const hist = json.stats.find((s) => 'histograms' in s) as {
      histograms: { supported_quantiles: number[]; computed_quantiles: { name: string; values: unknown[] }[] };
    };
    expect(hist.histograms.supported_quantiles).toEqual([0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    expect(hist.histograms.computed_quantiles[0].values[0]).toEqual({ interval: null, cumulative: 40 });
  });
});

describe('proxy-wasm metric calls', () => {
  it('hands out ids with the type in the low bits, one sequence per type, and reuses ids per name', () => {
    const { store, aborts, delays, duration } = hfiStore();
    expect([aborts, delays, duration]).toEqual([0, 4, 2]);
    expect(store.defineMetric('gauge', 'active')).toBe(1);
    expect(store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total')).toBe(aborts);
  });

  it('adds to counters, adds/subtracts/sets gauges, and reads them back', () => {
    const { store, aborts } = hfiStore();
    const gauge = store.defineMetric('gauge', 'active');
    store.incrementMetric(aborts, 2n);
    store.incrementMetric(aborts, 5n);
    store.incrementMetric(gauge, 5n);
    store.incrementMetric(gauge, -2n);
    expect(store.getMetric(aborts)).toBe(7n);
    expect(store.getMetric(gauge)).toBe(3n);
    store.recordMetric(gauge, 42n);
    expect(store.getMetric(gauge)).toBe(42n);
  });

  it.each([
    ['increment a counter by 0', (s: EnvoyStatsStore, ids: number[]) => s.incrementMetric(ids[0], 0n)],
    ['increment a histogram', (s: EnvoyStatsStore, ids: number[]) => s.incrementMetric(ids[2], 1n)],
    ['record into a counter', (s: EnvoyStatsStore, ids: number[]) => s.recordMetric(ids[0], 1n)],
    ['read a histogram', (s: EnvoyStatsStore, ids: number[]) => s.getMetric(ids[2])],
  ])('refuses to %s with HFI_ERR_METRIC_BAD_ARGUMENT', (_what, call) => {
    const { store, aborts, delays, duration } = hfiStore();
    expect(() => call(store, [aborts, delays, duration])).toThrow(
      expect.objectContaining({ code: 'HFI_ERR_METRIC_BAD_ARGUMENT' }),
    );
  });

  it('reports an unknown id with HFI_ERR_METRIC_NOT_FOUND', () => {
    const { store } = hfiStore();
    let caught: unknown;
    try {
      store.incrementMetric(99, 1n);
    } catch (err) {
      caught = err;
    }
    expect(isHfiError(caught, 'HFI_ERR_METRIC_NOT_FOUND')).toBe(true);
  });
});
