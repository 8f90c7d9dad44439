import { HfiError } from '@hfi/core';

// Drives requests at a service and sums them up: how many, how many succeeded, how many were served degraded (the
// shop's fallback), and the latency percentiles the hypothesis is written against.

export interface RequestSample {
  /** HTTP status, or 0 when no response arrived (connection error, client timeout). */
  status: number;
  ms: number;
  /** The shop's `x-shop-source` header: catalog, fallback or none. */
  source?: string;
  error?: string;
}

export interface TrafficSummary {
  sent: number;
  ok: number;
  failed: number;
  /** Answered 2xx from the fallback. */
  degraded: number;
  successRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Count per status (0 = no response). */
  statuses: Record<string, number>;
  /** Why requests got no response, with counts. */
  errors: Record<string, number>;
}

export interface TrafficOptions {
  url: string;
  /** Stop after this many requests… */
  requests?: number;
  /** …or after this long, whichever comes first (at least one of the two). */
  durationMs?: number;
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
  headers?: Record<string, string>;
  /** A request without an answer after this long counts as failed. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** Called after each request with every sample so far. */
  onSample?: (samples: readonly RequestSample[]) => void;
  signal?: AbortSignal;
}

async function one(url: string, headers: Record<string, string>, timeoutMs: number): Promise<RequestSample> {
  const started = performance.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started, source: res.headers.get('x-shop-source') ?? '' };
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail =
      typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
    const message = (err as Error).message ?? String(err);
    return { status: 0, ms: performance.now() - started, error: detail ? `${message} (${detail})` : message };
  }
}

export async function drive(options: TrafficOptions): Promise<RequestSample[]> {
  const { url, requests, durationMs, signal } = options;
  if (requests === undefined && durationMs === undefined) {
    throw new HfiError('HFI_ERR_CONFIG', 'drive() needs requests or durationMs', { field: 'requests' });
  }
  const deadline = durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + durationMs;
  const limit = requests ?? Number.POSITIVE_INFINITY;
  const samples: RequestSample[] = [];
  let started = 0;
  const worker = async () => {
    while (started < limit && performance.now() < deadline && !signal?.aborted) {
      started++;
      samples.push(await one(url, options.headers ?? {}, options.requestTimeoutMs ?? 5000));
      options.onSample?.(samples);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return samples;
}

/** Nearest-rank percentile of the samples' latencies (0 for no samples). */
export function percentile(sortedMs: readonly number[], q: number): number {
  if (sortedMs.length === 0) return 0;
  const rank = Math.min(sortedMs.length, Math.max(1, Math.ceil(q * sortedMs.length)));
  return sortedMs[rank - 1] as number;
}

export function summarize(samples: readonly RequestSample[]): TrafficSummary {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let ok = 0;
  let degraded = 0;
  for (const s of samples) {
    statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    if (s.error !== undefined) errors[s.error] = (errors[s.error] ?? 0) + 1;
    if (s.status >= 200 && s.status < 300) {
      ok++;
      if (s.source === 'fallback') degraded++;
    }
  }
  return {
    sent: samples.length,
    ok,
    failed: samples.length - ok,
    degraded,
    successRate: samples.length === 0 ? 0 : ok / samples.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? 0,
    statuses,
    errors,
  };
}
