import { isHfiError } from '@hfi/core';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { envoyStatsPage, zeroHistogram } from './__tests__/envoy-pages';
import { ENVOY_DEFAULT_BUCKETS } from './envoy-histogram';
import { extractHfiFamilies, HFI_METRICS, prefilterHfiText } from './extract';
import { parsePodMetrics } from './pod-metrics';
import { parsePromNumber } from './prom-text';

// The seed's "Expected output (before any faults)", verbatim, including its elision line.
const SEED_BEFORE_ANY_FAULTS = `# TYPE wasmcustom_hfi_faults_aborts_total counter
wasmcustom_hfi_faults_aborts_total{} 0
# TYPE wasmcustom_hfi_faults_delays_total counter
wasmcustom_hfi_faults_delays_total{} 0
# TYPE wasmcustom_hfi_faults_delay_duration_milliseconds histogram
wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{le="0.5"} 0
wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{le="1"} 0
...
wasmcustom_hfi_faults_delay_duration_milliseconds_sum{} 0
wasmcustom_hfi_faults_delay_duration_milliseconds_count{} 0
`;

const ALL_LE = [...ENVOY_DEFAULT_BUCKETS, Number.POSITIVE_INFINITY];

function hundredTwentyTimesTen() {
  const h = zeroHistogram();
  h.buckets = h.buckets.map((b) => ({ le: b.le, count: b.le >= 250 ? 10 : 0 }));
  h.sum = 1250;
  h.count = 10;
  return h;
}

describe('parsePodMetrics', () => {
  test("reads the seed's before-any-faults output as zeros, not as absent", () => {
    const m = parsePodMetrics(SEED_BEFORE_ANY_FAULTS);
    expect(m.aborts).toBe(0);
    expect(m.delays).toBe(0);
    expect(m.delayHistogram).toEqual({
      buckets: [
        { le: 0.5, count: 0 },
        { le: 1, count: 0 },
      ],
      sum: 0,
      count: 0,
    });
    expect(m.related).toBeUndefined();
  });

  test('a full page with untouched counters gives zeros and all 20 buckets, +Inf last', () => {
    const m = parsePodMetrics(envoyStatsPage({ uptime: 11258 }));
    expect(m.aborts).toBe(0);
    expect(m.delays).toBe(0);
    expect(m.delayHistogram?.buckets.map((b) => b.le)).toEqual(ALL_LE);
    expect(m.delayHistogram?.buckets).toHaveLength(20);
    expect(m.uptimeSeconds).toBe(11258);
    expect(m.hotRestartEpoch).toBe(0);
  });

  test('reads values, numerically sorted buckets and a 32-digit _sum', () => {
    const h = hundredTwentyTimesTen();
    h.sum = Number('3256.2000000000002728484105318785');
    const page = envoyStatsPage({ hfi: { aborts: 7, delays: 10, histogram: h }, uptime: 5 });
    expect(page).toContain('wasmcustom_hfi_faults_delay_duration_milliseconds_sum{} 3256.2000000000002728484105318785');
    const m = parsePodMetrics(page);
    expect(m.aborts).toBe(7);
    expect(m.delays).toBe(10);
    expect(m.delayHistogram?.sum).toBeCloseTo(3256.2, 10);
    expect(m.delayHistogram?.count).toBe(10);
    expect(m.delayHistogram?.buckets.find((b) => b.le === 100)?.count).toBe(0);
    expect(m.delayHistogram?.buckets.find((b) => b.le === 250)?.count).toBe(10);
    expect(m.delayHistogram?.buckets.map((b) => b.le)).toEqual(ALL_LE);
  });

  test('collects families whose series are split across the page', () => {
    const h = hundredTwentyTimesTen();
    const contiguous = parsePodMetrics(envoyStatsPage({ hfi: { aborts: 3, delays: 10, histogram: h } }));
    const scattered = envoyStatsPage({ hfi: { aborts: 3, delays: 10, histogram: h }, scatter: true });
    // The page really is split: histogram bucket lines before and after other families.
    const lines = scattered.split('\n');
    const firstBucket = lines.findIndex((l) => l.startsWith(`${HFI_METRICS.delayDuration}_bucket`));
    const lastBucket = lines.findLastIndex((l) => l.startsWith(`${HFI_METRICS.delayDuration}_bucket`));
    expect(
      lines.slice(firstBucket, lastBucket).some((l) => l.startsWith('envoy_cluster_upstream_rq_time_bucket')),
    ).toBe(true);
    expect(parsePodMetrics(scattered)).toEqual(contiguous);
    expect(contiguous.delayHistogram?.buckets).toHaveLength(20);
  });

  test('the library alone loses the tail of a split histogram, which is why the pre-filter regroups', () => {
    const page = envoyStatsPage({ hfi: { histogram: hundredTwentyTimesTen(), delays: 10 }, scatter: true });
    const whole = parsePrometheusTextFormat(page).filter((f) => f.name === HFI_METRICS.delayDuration);
    const buckets = whole.flatMap((f) => Object.keys(f.metrics[0]?.buckets ?? {}));
    expect(buckets.length).toBeLessThan(20);
    expect(parsePodMetrics(page).delayHistogram?.buckets).toHaveLength(20);
  });

  test('absent families are undefined, and related metric names are listed for the diagnosis', () => {
    const page = envoyStatsPage({
      hfi: { omit: ['aborts', 'delays', 'histogram'] },
      extraLines: [
        '# TYPE envoy_hfi_faults_aborts_total counter',
        'envoy_hfi_faults_aborts_total{} 4',
        'envoy_wasm_envoy_wasm_runtime_v8_active{} 1',
      ],
    });
    const m = parsePodMetrics(page);
    expect(m).toMatchObject({ aborts: undefined, delays: undefined, delayHistogram: undefined });
    expect(m.related).toEqual(['envoy_hfi_faults_aborts_total', 'envoy_wasm_envoy_wasm_runtime_v8_active']);
  });

  test('one absent family leaves the others readable', () => {
    const m = parsePodMetrics(envoyStatsPage({ hfi: { aborts: 2, omit: ['histogram'] } }));
    expect(m.aborts).toBe(2);
    expect(m.delays).toBe(0);
    expect(m.delayHistogram).toBeUndefined();
    expect(m.related).toEqual(['wasmcustom_hfi_faults_aborts_total', 'wasmcustom_hfi_faults_delays_total']);
  });

  test('sums series that carry labels, with le last', () => {
    const text = [
      '# TYPE wasmcustom_hfi_faults_aborts_total counter',
      'wasmcustom_hfi_faults_aborts_total{route="a"} 2',
      'wasmcustom_hfi_faults_aborts_total{route="b"} 3',
      '# TYPE wasmcustom_hfi_faults_delay_duration_milliseconds histogram',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{route="a",le="100"} 1',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{route="a",le="+Inf"} 2',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_sum{route="a"} 160.5',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_count{route="a"} 2',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{route="b \\"x\\"",le="100"} 0',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_bucket{route="b \\"x\\"",le="+Inf"} 4',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_sum{route="b \\"x\\""} 1000',
      'wasmcustom_hfi_faults_delay_duration_milliseconds_count{route="b \\"x\\""} 4',
    ].join('\n');
    const fam = extractHfiFamilies(text).find((f) => f.name === HFI_METRICS.delayDuration);
    expect(fam?.type === 'histogram' && fam.series.map((s) => [s.labels, s.count, s.sum])).toEqual([
      [{ route: 'a' }, 2, 160.5],
      [{ route: 'b "x"' }, 4, 1000],
    ]);
    const m = parsePodMetrics(text);
    expect(m.aborts).toBe(5);
    expect(m.delayHistogram).toEqual({
      buckets: [
        { le: 100, count: 1 },
        { le: Number.POSITIVE_INFINITY, count: 6 },
      ],
      sum: 1160.5,
      count: 6,
    });
  });

  test('ignores unparseable lines of other families that make the library throw on the whole page', () => {
    const page = envoyStatsPage({ hfi: { aborts: 1 }, extraLines: ['envoy_broken{tag=unquoted} 1'] });
    expect(() => parsePrometheusTextFormat(page)).toThrow(/invalid line/i);
    expect(parsePodMetrics(page).aborts).toBe(1);
  });

  test('an unparseable hfi line is an HfiError with the lines it saw', () => {
    const text = 'wasmcustom_hfi_faults_aborts_total{tag=unquoted} 1\n';
    let caught: unknown;
    try {
      parsePodMetrics(text);
    } catch (err) {
      caught = err;
    }
    expect(isHfiError(caught, 'HFI_ERR_METRICS_PARSE')).toBe(true);
    expect((caught as { details: { lines: string[] } }).details.lines).toContain(text.trim());
  });

  test('accepts CRLF line ends, no trailing newline, and a match on the very first line', () => {
    const text =
      'wasmcustom_hfi_faults_aborts_total{} 9\r\nenvoy_server_uptime{} 3\r\nwasmcustom_hfi_faults_delays_total{} 4';
    const m = parsePodMetrics(text);
    expect(m.aborts).toBe(9);
    expect(m.delays).toBe(4);
    expect(m.uptimeSeconds).toBe(3);
  });

  test('agrees with parsing the whole (contiguous) page with the library', () => {
    const page = envoyStatsPage({
      hfi: { aborts: 31, delays: 10, histogram: hundredTwentyTimesTen() },
      uptime: 77,
      clusters: 20,
    });
    const whole = new Map(parsePrometheusTextFormat(page).map((f) => [f.name, f]));
    const m = parsePodMetrics(page);
    expect(m.aborts).toBe(Number(whole.get(HFI_METRICS.aborts)?.metrics[0]?.value));
    expect(m.uptimeSeconds).toBe(Number(whole.get('envoy_server_uptime')?.metrics[0]?.value));
    const raw = whole.get(HFI_METRICS.delayDuration)?.metrics[0];
    expect(m.delayHistogram?.count).toBe(Number(raw?.count));
    expect(m.delayHistogram?.buckets).toEqual(
      Object.entries(raw?.buckets ?? {})
        .map(([le, c]) => ({ le: parsePromNumber(le), count: Number(c) }))
        .sort((a, b) => a.le - b.le),
    );
  });
});

describe('prefilterHfiText', () => {
  test('keeps only hfi families and the three server gauges, one # TYPE per family', () => {
    const out = prefilterHfiText(envoyStatsPage({ uptime: 1, scatter: true, clusters: 50 }));
    const names = new Set(
      out
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.replace(/[{ ].*/, '')),
    );
    expect([...names].sort()).toEqual(
      [
        'envoy_server_hot_restart_epoch',
        'envoy_server_live',
        'envoy_server_uptime',
        'wasmcustom_hfi_faults_aborts_total',
        'wasmcustom_hfi_faults_delay_duration_milliseconds_bucket',
        'wasmcustom_hfi_faults_delay_duration_milliseconds_count',
        'wasmcustom_hfi_faults_delay_duration_milliseconds_sum',
        'wasmcustom_hfi_faults_delays_total',
      ].sort(),
    );
    const types = out.split('\n').filter((l) => l.startsWith('# TYPE'));
    expect(types).toHaveLength(new Set(types).size);
    expect(out.split('\n').filter((l) => l.includes('_bucket{'))).toHaveLength(20);
  });

  test('takes the family type from the page when it declares one', () => {
    const text =
      '# TYPE wasmcustom_hfi_faults_extra_ms histogram\nwasmcustom_hfi_faults_extra_ms_bucket{le="+Inf"} 1\nwasmcustom_hfi_faults_extra_ms_count{} 1\nwasmcustom_hfi_faults_extra_ms_sum{} 2\n';
    const fam = extractHfiFamilies(text).find((f) => f.name === 'wasmcustom_hfi_faults_extra_ms');
    expect(fam).toEqual({
      name: 'wasmcustom_hfi_faults_extra_ms',
      type: 'histogram',
      series: [{ labels: {}, buckets: [{ le: Number.POSITIVE_INFINITY, count: 1 }], sum: 2, count: 1 }],
    });
  });
});
