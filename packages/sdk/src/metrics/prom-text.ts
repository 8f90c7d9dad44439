// A typed wrapper over parse-prometheus-text-format: numbers instead of strings, buckets sorted numerically.
//
// The library has two traps this module's callers avoid:
// - it flattens a histogram family into ONE series, so a histogram block must hold a single series whose only
//   label is `le` (labelled `_sum`/`_count` lines are dropped and labelled buckets of several series are merged);
// - it drops the last line when the text does not end with a newline.
// `extractHfiFamilies` feeds it canonical text (one `# TYPE` block per histogram series, a trailing newline).
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { HistogramValue } from './types';

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

export interface PromHistogramSeries extends HistogramValue {
  labels: Record<string, string>;
}

export type PromFamily =
  | { name: string; type: 'counter' | 'gauge' | 'untyped'; samples: PromSample[] }
  | { name: string; type: 'histogram'; series: PromHistogramSeries[] };

/** Prometheus text numbers: floats in any notation (Envoy prints up to 32 digits), `+Inf`, `-Inf`, `NaN`. */
export function parsePromNumber(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
    case '-inf':
      return Number.NEGATIVE_INFINITY;
    default:
      return text.trim() === '' ? Number.NaN : Number(text);
  }
}

/**
 * Parses Prometheus text (canonical as described above) into typed families. Summary families are returned as
 * untyped samples of their `_sum`/`_count` values only; hfi never emits summaries.
 */
export function parsePrometheusText(text: string): PromFamily[] {
  const raw = parsePrometheusTextFormat(text.endsWith('\n') ? text : `${text}\n`);
  const out: PromFamily[] = [];
  for (const fam of raw) {
    if (fam.type === 'HISTOGRAM') {
      const series: PromHistogramSeries[] = [];
      for (const m of fam.metrics) {
        if (m.buckets === undefined && m.count === undefined && m.sum === undefined) continue;
        const buckets = Object.entries(m.buckets ?? {})
          .map(([le, count]) => ({ le: parsePromNumber(le), count: parsePromNumber(count) }))
          .sort((a, b) => a.le - b.le);
        series.push({
          labels: {},
          buckets,
          sum: m.sum === undefined ? Number.NaN : parsePromNumber(m.sum),
          count: m.count === undefined ? Number.NaN : parsePromNumber(m.count),
        });
      }
      out.push({ name: fam.name, type: 'histogram', series });
      continue;
    }
    const type = fam.type === 'COUNTER' ? 'counter' : fam.type === 'GAUGE' ? 'gauge' : 'untyped';
    const samples: PromSample[] = [];
    for (const m of fam.metrics) {
      const value = m.value ?? m.count ?? m.sum;
      if (value === undefined) continue;
      samples.push({ labels: { ...(m.labels ?? {}) }, value: parsePromNumber(value) });
    }
    out.push({ name: fam.name, type, samples });
  }
  return out;
}
