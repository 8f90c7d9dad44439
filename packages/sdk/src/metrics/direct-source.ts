// Scrapes `<admin>/stats/prometheus` on given addresses: local sidecars, Istio's :15090, a port-forward.
import { HfiError } from '@hfi/core';
import { Agent, request } from 'undici';
import { parsePodMetrics } from './pod-metrics';
import type { MetricSource } from './source';
import type { PodSample, Snapshot } from './types';

export interface DirectTarget {
  /** Admin base URL (`http://127.0.0.1:15000`) or the full stats URL (`http://10.0.0.7:15090/stats/prometheus`). */
  url: string;
  /** The key deltas are matched by; defaults to `url`. */
  pod?: string;
  labels?: Record<string, string>;
}

export interface DirectSourceOptions {
  /** Scrapes in flight at once. Default 8. */
  concurrency?: number;
  /** Per-target limit for the whole request, body included. Default 5000 ms. */
  timeoutMs?: number;
}

const STATS_PATH = '/stats/prometheus';

function statsUrl(raw: string, field: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new HfiError('HFI_ERR_CONFIG', `not a URL: ${JSON.stringify(raw)}`, { field, cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HfiError('HFI_ERR_CONFIG', `metrics target must be http(s): ${raw}`, { field });
  }
  if (!url.pathname.endsWith(STATS_PATH)) url.pathname = `${url.pathname.replace(/\/+$/, '')}${STATS_PATH}`;
  return url.toString();
}

// Duck-typed: the abort reason is a DOMException, which is not an `Error` of every realm (Jest's vm contexts).
function describeError(err: unknown, timeoutMs: number): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { name, message, code, cause } = err as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const causeMessage = (cause as { message?: unknown } | undefined)?.message;
  const detail = typeof causeMessage === 'string' && causeMessage !== message ? ` (${causeMessage})` : '';
  return `${typeof code === 'string' ? `${code}: ` : ''}${String(message ?? err)}${detail}`;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class DirectSource implements MetricSource {
  private readonly targets: { url: string; pod: string; labels?: Record<string, string> }[];
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly agent: Agent;

  constructor(targets: readonly (string | DirectTarget)[], options: DirectSourceOptions = {}) {
    if (targets.length === 0)
      throw new HfiError('HFI_ERR_CONFIG', 'DirectSource needs at least one URL', { field: 'urls' });
    this.targets = targets.map((t, i) => {
      const target = typeof t === 'string' ? { url: t } : t;
      const url = statsUrl(target.url, `urls[${i}]`);
      return { url, pod: target.pod ?? target.url, ...(target.labels ? { labels: { ...target.labels } } : {}) };
    });
    const seen = new Set<string>();
    for (const [i, t] of this.targets.entries()) {
      if (seen.has(t.pod))
        throw new HfiError('HFI_ERR_CONFIG', `two targets share the key ${t.pod}`, { field: `urls[${i}]` });
      seen.add(t.pod);
    }
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.agent = new Agent({ connections: this.concurrency, keepAliveTimeout: 10_000 });
  }

  describe(): string {
    return `direct: ${this.targets.map((t) => t.url).join(', ')}`;
  }

  async snapshot(): Promise<Snapshot> {
    const takenAtMs = Date.now();
    const pods = await mapLimit(this.targets, this.concurrency, (t) => this.scrape(t));
    if (pods.every((p) => p.error !== undefined)) {
      throw new HfiError(
        'HFI_ERR_METRICS_SCRAPE',
        `every metrics scrape failed: ${pods.map((p) => `${p.pod}: ${p.error}`).join('; ')}`,
        {
          details: { source: this.describe(), errors: Object.fromEntries(pods.map((p) => [p.pod, p.error])) },
        },
      );
    }
    return { takenAtMs, pods };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async scrape(target: { url: string; pod: string; labels?: Record<string, string> }): Promise<PodSample> {
    const base = { pod: target.pod, ...(target.labels ? { labels: target.labels } : {}) };
    const failed = (error: string): PodSample => ({
      ...base,
      scrapedAtMs: Date.now(),
      metrics: { aborts: undefined, delays: undefined, delayHistogram: undefined },
      error,
    });
    try {
      const res = await request(target.url, {
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'text/plain' },
      });
      // Kept as bytes: the extractor searches them directly and decodes only the few lines it keeps.
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200) {
        return failed(`HTTP ${res.statusCode} from ${target.url}: ${body.toString('utf8', 0, 200).trim()}`);
      }
      return { ...base, scrapedAtMs: Date.now(), metrics: parsePodMetrics(body) };
    } catch (err) {
      return failed(describeError(err, this.timeoutMs));
    }
  }
}
