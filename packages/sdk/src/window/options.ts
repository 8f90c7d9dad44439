// What a caller may pass to openFaultWindow, and the checks that run before anything is sent: every problem is
// reported with its option path (e.g. `match.headers[0].name`), never with the policy path it would become.
import { type HeaderMatch, HfiError, type Selector, type StringMatch } from '@hfi/core';
import { parseDurationMs } from '../cli/duration';
import type { MetricSource } from '../metrics/source';

export interface FaultWindowMatch {
  /** `'GET'` means `{ exact: 'GET' }`. */
  method?: string | StringMatch;
  path?: StringMatch;
  headers?: HeaderMatch[];
}

export interface FaultWindowOptions {
  /** Policy name; default `hfi-window-<random>`. 3 to 63 of `[A-Za-z0-9_-]`, not starting or ending with `-`. */
  name?: string;
  /** Which sidecars: `service` = workload or `app` label, `namespace`; `''`/`'*'` match any. */
  selector: Selector;
  /** Which requests; omitted or empty = every request (`path: { prefix: '/' }`). */
  match?: FaultWindowMatch;
  abort?: { httpStatus: number; body?: string };
  delay?: { fixedDelayMs: number };
  /** 0..100 of the matching requests, fractions allowed. */
  percentage: number;
  /** Per-request wait before the fault is applied. */
  startDelayMs?: number;
  /** Milliseconds, or a Go-style duration string (`'60s'`, `'1m30s'`). */
  duration: number | string;
  /** Wait (up to the ack timeout) until this many sidecars match, instead of failing when none does yet. */
  expectTargets?: number;
  /** Overrides the client's metric source for this window. */
  metrics?: MetricSource;
  /** Overrides the client's ackTimeoutMs for this window. */
  ackTimeoutMs?: number;
}

/** The options after checking, with defaults filled in. */
export interface WindowSpec {
  name: string;
  selector: Selector;
  match: { method?: StringMatch; path?: StringMatch; headers?: HeaderMatch[] };
  abort?: { httpStatus: number; body?: string };
  delay?: { fixedDelayMs: number };
  percentage: number;
  startDelayMs?: number;
  durationMs: number;
  expectTargets?: number;
  ackTimeoutMs?: number;
}

export interface OptionIssue {
  field: string;
  message: string;
}

const OPTION_KEYS = [
  'name',
  'selector',
  'match',
  'abort',
  'delay',
  'percentage',
  'startDelayMs',
  'duration',
  'expectTargets',
  'metrics',
  'ackTimeoutMs',
] as const;

/** One year, the policy model's limit on duration_seconds. */
const MAX_DURATION_MS = 31_536_000_000;
const NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{1,61})[A-Za-z0-9_]$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A random policy name that passes the policy model's name rules. */
export function defaultWindowName(): string {
  return `hfi-window-${Math.random().toString(36).slice(2, 10).padEnd(8, '0')}`;
}

/** An HfiError HFI_ERR_WINDOW_OPTIONS for the first issue, carrying all of them. */
export function windowOptionsError(issues: OptionIssue[]): HfiError {
  const first = issues[0] as OptionIssue;
  return new HfiError('HFI_ERR_WINDOW_OPTIONS', `${first.field}: ${first.message}`, {
    field: first.field,
    details: { field: first.field, issues },
  });
}

class OptionChecker {
  readonly issues: OptionIssue[] = [];

  add(field: string, message: string): void {
    this.issues.push({ field, message });
  }

  string(value: unknown, field: string): value is string {
    if (typeof value === 'string') return true;
    this.add(field, 'must be a string');
    return false;
  }

  integer(value: unknown, field: string, min: number): value is number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.add(field, 'must be a finite number');
    else if (!Number.isInteger(value)) this.add(field, 'must be an integer');
    else if (value < min) this.add(field, `must be at least ${min}`);
    else return true;
    return false;
  }

  unknownKeys(obj: Json, base: string, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.add(base === '' ? key : `${base}.${key}`, `unknown option (expected one of ${allowed.join(', ')})`);
      }
    }
  }

  stringMatch(value: unknown, field: string, extraKeys: readonly string[] = []): StringMatch | undefined {
    if (!isObject(value)) {
      this.add(field, 'must be an object like { exact }, { prefix } or { regex }');
      return undefined;
    }
    this.unknownKeys(value, field, [...extraKeys, 'exact', 'prefix', 'regex']);
    const out: StringMatch = {};
    for (const key of ['exact', 'prefix', 'regex'] as const) {
      const v = value[key];
      if (v !== undefined && this.string(v, `${field}.${key}`)) out[key] = v;
    }
    return out;
  }
}

/** Checks the options and fills in defaults; throws HFI_ERR_WINDOW_OPTIONS listing every problem. */
export function parseWindowOptions(options: unknown): WindowSpec {
  const c = new OptionChecker();
  if (!isObject(options)) throw windowOptionsError([{ field: 'options', message: 'must be an object' }]);
  c.unknownKeys(options, '', OPTION_KEYS);

  let name = defaultWindowName();
  if (options.name !== undefined && c.string(options.name, 'name')) {
    name = options.name;
    if (!NAME.test(name)) {
      c.add(
        'name',
        `must be 3 to 63 of A-Z a-z 0-9 _ -, not starting or ending with "-" (got ${JSON.stringify(name)})`,
      );
    }
  }

  const selector: Selector = {};
  if (options.selector === undefined)
    c.add('selector', 'selector is required (use { service: "*" } for every sidecar)');
  else if (!isObject(options.selector)) c.add('selector', 'must be an object like { service, namespace }');
  else {
    c.unknownKeys(options.selector, 'selector', ['service', 'namespace']);
    for (const key of ['service', 'namespace'] as const) {
      const v = options.selector[key];
      if (v !== undefined && c.string(v, `selector.${key}`)) selector[key] = v;
    }
  }

  const match: WindowSpec['match'] = {};
  if (options.match !== undefined) {
    if (!isObject(options.match)) c.add('match', 'must be an object like { method, path, headers }');
    else {
      c.unknownKeys(options.match, 'match', ['method', 'path', 'headers']);
      const { method, path, headers } = options.match;
      if (typeof method === 'string') {
        if (method !== '') match.method = { exact: method };
      } else if (method !== undefined) {
        const m = c.stringMatch(method, 'match.method');
        if (m) match.method = m;
      }
      if (path !== undefined) {
        const p = c.stringMatch(path, 'match.path');
        if (p) match.path = p;
      }
      if (headers !== undefined) {
        if (!Array.isArray(headers)) c.add('match.headers', 'must be an array of { name, exact | prefix | regex }');
        else {
          match.headers = [];
          headers.forEach((header: unknown, i) => {
            const field = `match.headers[${i}]`;
            const m = c.stringMatch(header, field, ['name']);
            if (m === undefined) return;
            const headerName = (header as Json).name;
            if (headerName === undefined || headerName === '') c.add(`${field}.name`, 'header name is required');
            else if (c.string(headerName, `${field}.name`)) match.headers?.push({ name: headerName, ...m });
          });
        }
      }
    }
  }

  let abort: WindowSpec['abort'];
  if (options.abort !== undefined) {
    if (!isObject(options.abort)) c.add('abort', 'must be an object like { httpStatus: 503 }');
    else {
      c.unknownKeys(options.abort, 'abort', ['httpStatus', 'body']);
      const { httpStatus, body } = options.abort;
      if (httpStatus === undefined) c.add('abort.httpStatus', 'httpStatus is required when abort is set');
      else if (c.integer(httpStatus, 'abort.httpStatus', 200)) {
        if (httpStatus > 599) c.add('abort.httpStatus', 'httpStatus must be between 200 and 599');
        else abort = { httpStatus };
      }
      if (body !== undefined && c.string(body, 'abort.body') && abort) abort.body = body;
    }
  }

  let delay: WindowSpec['delay'];
  if (options.delay !== undefined) {
    if (!isObject(options.delay)) c.add('delay', 'must be an object like { fixedDelayMs: 120 }');
    else {
      c.unknownKeys(options.delay, 'delay', ['fixedDelayMs']);
      const { fixedDelayMs } = options.delay;
      if (fixedDelayMs === undefined) c.add('delay.fixedDelayMs', 'fixedDelayMs is required when delay is set');
      else if (c.integer(fixedDelayMs, 'delay.fixedDelayMs', 1)) delay = { fixedDelayMs };
    }
  }
  if (options.abort === undefined && options.delay === undefined) {
    c.add('abort', 'a fault window needs abort, delay or both');
  }

  let percentage = 0;
  if (options.percentage === undefined) c.add('percentage', 'percentage is required (0 to 100)');
  else if (typeof options.percentage !== 'number' || !Number.isFinite(options.percentage)) {
    c.add('percentage', 'must be a finite number');
  } else if (options.percentage < 0 || options.percentage > 100) {
    c.add('percentage', 'percentage must be between 0 and 100');
  } else percentage = options.percentage;

  let startDelayMs: number | undefined;
  if (options.startDelayMs !== undefined && c.integer(options.startDelayMs, 'startDelayMs', 0)) {
    startDelayMs = options.startDelayMs;
  }

  let durationMs = 0;
  const duration = options.duration;
  if (duration === undefined) c.add('duration', 'duration is required (milliseconds, or a string like "60s")');
  else if (typeof duration === 'string') {
    const ms = parseDurationMs(duration);
    if (ms === undefined) {
      c.add('duration', `cannot parse ${JSON.stringify(duration)} as a duration (e.g. "500ms", "60s", "1m30s")`);
    } else durationMs = ms;
  } else if (typeof duration !== 'number' || !Number.isFinite(duration)) {
    c.add('duration', 'must be milliseconds (a number) or a string like "60s"');
  } else durationMs = duration;
  if (typeof duration === 'number' || typeof duration === 'string') {
    if (durationMs <= 0 && c.issues.every((i) => i.field !== 'duration'))
      c.add('duration', 'duration must be positive');
    else if (durationMs > MAX_DURATION_MS) c.add('duration', 'duration must be at most one year');
  }

  let expectTargets: number | undefined;
  if (options.expectTargets !== undefined && c.integer(options.expectTargets, 'expectTargets', 1)) {
    expectTargets = options.expectTargets;
  }
  let ackTimeoutMs: number | undefined;
  if (options.ackTimeoutMs !== undefined && c.integer(options.ackTimeoutMs, 'ackTimeoutMs', 1)) {
    ackTimeoutMs = options.ackTimeoutMs;
  }
  if (options.metrics !== undefined && typeof (options.metrics as { snapshot?: unknown })?.snapshot !== 'function') {
    c.add('metrics', 'must be a MetricSource (an object with snapshot())');
  }

  if (c.issues.length > 0) throw windowOptionsError(c.issues);
  return {
    name,
    selector,
    match,
    ...(abort ? { abort } : {}),
    ...(delay ? { delay } : {}),
    percentage,
    ...(startDelayMs === undefined ? {} : { startDelayMs }),
    durationMs,
    ...(expectTargets === undefined ? {} : { expectTargets }),
    ...(ackTimeoutMs === undefined ? {} : { ackTimeoutMs }),
  };
}
