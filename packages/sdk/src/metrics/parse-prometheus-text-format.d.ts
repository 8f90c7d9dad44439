// The library ships no typings. This describes what it returns: every number is a string.
declare module 'parse-prometheus-text-format' {
  interface RawSample {
    value?: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
    /** Histograms, flattened: `le` → cumulative count. Only for a series without labels other than `le`. */
    buckets?: Record<string, string>;
    /** Summaries, flattened: quantile → value. */
    quantiles?: Record<string, string>;
    sum?: string;
    count?: string;
  }
  interface RawFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: RawSample[];
  }
  function parsePrometheusTextFormat(text: string): RawFamily[];
  export = parsePrometheusTextFormat;
}
