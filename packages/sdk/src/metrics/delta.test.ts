import { envoyStatsPage, zeroHistogram } from './__tests__/envoy-pages';
import { diffSnapshots } from './delta';
import { envoyHistogramFor } from './envoy-histogram';
import { parsePodMetrics } from './pod-metrics';
import type { HistogramValue, PodMetrics, PodSample, Snapshot } from './types';

interface PodState {
  aborts?: number;
  delays?: number;
  /** Delays recorded so far (the histogram shows them as Envoy would, once flushed). */
  recorded?: number[];
  uptime?: number;
  omit?: ('aborts' | 'delays' | 'histogram')[];
}

/** A pod sample read from a real-format page, so the deltas go through the same parser as in production. */
function pod(name: string, state: PodState): PodSample {
  const histogram = state.recorded ? envoyHistogramFor(state.recorded) : zeroHistogram();
  const page = envoyStatsPage({
    hfi: {
      aborts: state.aborts ?? 0,
      delays: state.delays ?? state.recorded?.length ?? 0,
      histogram,
      omit: state.omit ?? [],
    },
    ...(state.uptime !== undefined ? { uptime: state.uptime } : {}),
  });
  return { pod: name, scrapedAtMs: 0, metrics: parsePodMetrics(page) };
}

const snap = (...pods: PodSample[]): Snapshot => ({ takenAtMs: 0, pods });
const repeat = (v: number, n: number): number[] => Array.from({ length: n }, () => v);
const countAt = (h: HistogramValue, le: number): number | undefined => h.buckets.find((b) => b.le === le)?.count;

describe('diffSnapshots', () => {
  test('subtracts counters and every histogram bucket, _sum and _count', () => {
    const before = snap(pod('a', { aborts: 5, recorded: repeat(120, 3), uptime: 100 }));
    const after = snap(pod('a', { aborts: 12, recorded: [...repeat(120, 3), ...repeat(120, 10), 40], uptime: 160 }));
    const d = diffSnapshots(before, after);
    expect(d.aborts).toBe(7);
    expect(d.delays).toBe(11);
    expect(d.delayHistogram.count).toBe(11);
    expect(d.delayHistogram.sum).toBe(10 * 125 + 40.5);
    expect(countAt(d.delayHistogram, 50)).toBe(1);
    expect(countAt(d.delayHistogram, 100)).toBe(1);
    expect(countAt(d.delayHistogram, 250)).toBe(11);
    expect(countAt(d.delayHistogram, Number.POSITIVE_INFINITY)).toBe(11);
    expect(d.perPod).toHaveLength(1);
    expect(d.perPod[0]).toMatchObject({
      pod: 'a',
      reset: false,
      appeared: false,
      vanished: false,
      histogramLagging: false,
      notes: [],
    });
    expect(d.missingMetrics).toEqual([]);
    expect(d.notes).toEqual([]);
  });

  test('quantile() is histogram_quantile over the bucket deltas', () => {
    const d = diffSnapshots(snap(pod('a', { recorded: [] })), snap(pod('a', { recorded: repeat(120, 10) })));
    // All ten are counted in (100, 250]: the median interpolates to 175.
    expect(d.delayHistogram.quantile(0.5)).toBe(175);
    expect(d.perPod[0]?.delayHistogram.quantile(0.5)).toBe(175);
  });

  test('a counter drop with a falling uptime is a confirmed restart: the new values are the increase', () => {
    const before = snap(pod('a', { aborts: 40, recorded: repeat(120, 8), uptime: 500 }));
    const after = snap(pod('a', { aborts: 3, recorded: repeat(120, 2), uptime: 4 }));
    const d = diffSnapshots(before, after);
    expect(d.aborts).toBe(3);
    expect(d.delays).toBe(2);
    expect(d.delayHistogram.count).toBe(2);
    const p = d.perPod[0];
    expect(p?.reset).toBe(true);
    expect(p?.notes.join('\n')).toMatch(/envoy_server_uptime fell from 500 to 4/);
    expect(p?.notes.join('\n')).not.toMatch(/not confirmed/);
  });

  test('a falling uptime alone is a restart too, even when the counters grew past their old values', () => {
    const d = diffSnapshots(snap(pod('a', { aborts: 2, uptime: 500 })), snap(pod('a', { aborts: 9, uptime: 30 })));
    expect(d.perPod[0]?.reset).toBe(true);
    expect(d.aborts).toBe(9);
  });

  test('a counter drop without an uptime decrease is still a reset, flagged as unconfirmed', () => {
    const noUptime = diffSnapshots(snap(pod('a', { aborts: 10 })), snap(pod('a', { aborts: 4 })));
    expect(noUptime.perPod[0]?.reset).toBe(true);
    expect(noUptime.aborts).toBe(4);
    expect(noUptime.perPod[0]?.notes.join('\n')).toMatch(/not confirmed: envoy_server_uptime is absent/);
    const grew = diffSnapshots(snap(pod('a', { aborts: 10, uptime: 50 })), snap(pod('a', { aborts: 4, uptime: 60 })));
    expect(grew.perPod[0]?.notes.join('\n')).toMatch(/did not decrease \(50 → 60\)/);
  });

  test('a pod only in the second snapshot starts from 0; one only in the first has vanished', () => {
    const before = snap(pod('old', { aborts: 5 }), pod('stays', { aborts: 1 }));
    const after = snap(pod('stays', { aborts: 2 }), pod('new', { aborts: 4, recorded: [450] }));
    const d = diffSnapshots(before, after);
    const byPod = new Map(d.perPod.map((p) => [p.pod, p]));
    expect(byPod.get('new')).toMatchObject({ appeared: true, vanished: false, aborts: 4, delays: 1 });
    expect(byPod.get('new')?.delayHistogram.count).toBe(1);
    expect(byPod.get('old')).toMatchObject({ appeared: false, vanished: true, aborts: 0, delays: 0 });
    expect(byPod.get('old')?.notes.join('\n')).toMatch(/vanished/);
    expect(byPod.get('stays')?.aborts).toBe(1);
    expect(d.aborts).toBe(5);
  });

  test('flags a histogram behind its counter (not flushed yet)', () => {
    const before = snap(pod('a', { delays: 0, recorded: [] }));
    // The counter is live; the histogram still shows the last flush with 7 of the 10 delays.
    const after = snap(pod('a', { delays: 10, recorded: repeat(450, 7) }));
    const d = diffSnapshots(before, after);
    expect(d.delays).toBe(10);
    expect(d.delayHistogram.count).toBe(7);
    expect(d.perPod[0]?.histogramLagging).toBe(true);
    expect(d.perPod[0]?.notes.join('\n')).toMatch(/behind its counter: Δdelays_total = 10 but Δ_count = 7/);
  });

  test('notes a +Inf bucket that disagrees with _count, and buckets that are not monotone', () => {
    const metrics = (h: HistogramValue): PodMetrics => ({ aborts: 0, delays: h.count, delayHistogram: h });
    const base: HistogramValue = {
      buckets: [
        { le: 100, count: 0 },
        { le: Number.POSITIVE_INFINITY, count: 0 },
      ],
      sum: 0,
      count: 0,
    };
    const broken: HistogramValue = {
      buckets: [
        { le: 100, count: 3 },
        { le: Number.POSITIVE_INFINITY, count: 2 },
      ],
      sum: 10,
      count: 4,
    };
    const d = diffSnapshots(
      snap({ pod: 'a', scrapedAtMs: 0, metrics: metrics(base) }),
      snap({ pod: 'a', scrapedAtMs: 0, metrics: metrics(broken) }),
    );
    const notes = d.perPod[0]?.notes.join('\n');
    expect(notes).toMatch(/not monotone/);
    expect(notes).toMatch(/le="\+Inf" is 2 but _count is 4/);
  });

  test('lists pods whose hfi families are absent, with the related names found', () => {
    const missing: PodSample = {
      pod: 'b',
      scrapedAtMs: 0,
      metrics: parsePodMetrics(
        envoyStatsPage({
          hfi: { omit: ['aborts', 'delays', 'histogram'] },
          extraLines: ['envoy_hfi_faults_aborts_total{} 2'],
        }),
      ),
    };
    const d = diffSnapshots(snap(pod('a', {}), missing), snap(pod('a', { aborts: 1 }), missing));
    expect(d.missingMetrics).toEqual(['b']);
    const b = d.perPod.find((p) => p.pod === 'b');
    expect(b?.aborts).toBe(0);
    expect(b?.notes.join('\n')).toMatch(/absent from the stats page: wasmcustom_hfi_faults_aborts_total/);
    expect(b?.notes.join('\n')).toMatch(/envoy_hfi_faults_aborts_total/);
    expect(d.aborts).toBe(1);
  });

  test('reports scrape errors in either snapshot without counting them', () => {
    const failed = (name: string): PodSample => ({
      pod: name,
      scrapedAtMs: 0,
      metrics: { aborts: undefined, delays: undefined, delayHistogram: undefined },
      error: 'ECONNREFUSED',
    });
    const d = diffSnapshots(snap(pod('a', { aborts: 1 }), failed('b')), snap(failed('a'), pod('b', { aborts: 6 })));
    expect(d.scrapeErrors.sort()).toEqual(['a', 'b']);
    const byPod = new Map(d.perPod.map((p) => [p.pod, p]));
    expect(byPod.get('a')?.aborts).toBe(0);
    expect(byPod.get('a')?.notes.join('\n')).toMatch(/scrape failed: ECONNREFUSED/);
    expect(byPod.get('b')?.aborts).toBe(6);
    expect(byPod.get('b')?.notes.join('\n')).toMatch(/baseline scrape failed/);
    expect(d.missingMetrics).toEqual([]);
  });

  test('sums pods by le; different bounds give the union and a note', () => {
    const custom = (values: number[]): PodSample => {
      const h = envoyHistogramFor(values, [100, 1000]);
      return { pod: 'c', scrapedAtMs: 0, metrics: { aborts: 0, delays: values.length, delayHistogram: h } };
    };
    const d = diffSnapshots(
      snap(pod('a', { recorded: [] }), pod('b', { recorded: [] }), custom([])),
      snap(pod('a', { recorded: [120, 120] }), pod('b', { recorded: [450] }), custom([450])),
    );
    expect(d.delayHistogram.count).toBe(4);
    expect(countAt(d.delayHistogram, 250)).toBe(2);
    expect(countAt(d.delayHistogram, 1000)).toBe(4);
    expect(countAt(d.delayHistogram, Number.POSITIVE_INFINITY)).toBe(4);
    expect(d.notes.join('\n')).toMatch(/different histogram buckets/);
  });

  test('histogram bounds that change between snapshots take the new histogram whole', () => {
    const withBounds = (bounds: number[], values: number[]): PodSample => ({
      pod: 'a',
      scrapedAtMs: 0,
      metrics: { aborts: 0, delays: values.length, delayHistogram: envoyHistogramFor(values, bounds) },
    });
    const d = diffSnapshots(snap(withBounds([100], [450, 450])), snap(withBounds([100, 1000], [450, 450, 450])));
    expect(d.delayHistogram.count).toBe(3);
    expect(d.perPod[0]?.notes.join('\n')).toMatch(/bucket bounds changed/);
  });
});
