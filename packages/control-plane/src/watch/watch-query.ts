import { HfiError, type NodeIdentity } from '@hfi/core';

export const DEFAULT_WATCH_TIMEOUT_MS = 25_000;
export const MAX_WATCH_TIMEOUT_MS = 300_000;

export interface ListQuery {
  watch: boolean;
  /** The revision the caller has (and, for a sidecar, has applied); absent = answer at once. */
  revision?: number;
  timeoutMs: number;
  /** Present when the caller identified itself (`instance`, or at least `pod`): its request is an ack. */
  identity?: NodeIdentity;
}

type RawQuery = Record<string, string | string[] | undefined>;

/** Parses `GET /v1/policies` query parameters; bad values are 400s naming the parameter. */
export function parseListQuery(query: RawQuery, defaultTimeoutMs: number): ListQuery {
  const watchText = first(query, 'watch');
  const watch = watchText !== undefined && watchText !== 'false' && watchText !== '0';
  const revisionText = first(query, 'revision');
  const revision = revisionText === undefined || revisionText === '' ? undefined : integer('revision', revisionText);
  const timeoutText = first(query, 'timeout_ms');
  const timeoutMs =
    timeoutText === undefined || timeoutText === ''
      ? defaultTimeoutMs
      : Math.min(integer('timeout_ms', timeoutText), MAX_WATCH_TIMEOUT_MS);
  const instance = first(query, 'instance') || first(query, 'pod');
  const out: ListQuery = { watch, timeoutMs };
  if (revision !== undefined) out.revision = revision;
  if (instance) {
    out.identity = {
      instance,
      workload: first(query, 'workload') ?? '',
      namespace: first(query, 'namespace') ?? '',
      pod: first(query, 'pod') ?? '',
      labels: parseLabels(first(query, 'labels') ?? ''),
    };
  }
  return out;
}

/** `app=frontend,version=v1` → `{ app: 'frontend', version: 'v1' }`. */
export function parseLabels(text: string): Record<string, string> {
  const labels: [string, string][] = [];
  for (const pair of text.split(',')) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new HfiError('HFI_ERR_BAD_REQUEST', `labels: expected comma-separated key=value pairs, got "${pair}"`, {
        field: 'labels',
        details: { field: 'labels' },
      });
    }
    labels.push([pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()]);
  }
  // fromEntries defines own properties, so a key like `__proto__` stays a plain label.
  return Object.fromEntries(labels);
}

function first(query: RawQuery, key: string): string | undefined {
  const value = query[key];
  return Array.isArray(value) ? value[0] : value;
}

function integer(field: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new HfiError('HFI_ERR_BAD_REQUEST', `${field}: must be a non-negative integer, got "${text}"`, {
      field,
      details: { field },
    });
  }
  return n;
}
