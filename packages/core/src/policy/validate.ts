// Policy validation. Issues come in two groups:
//  1. the reference control plane's checks, in its order and with its exact field paths and messages, together
//     with the type errors (and the removed string delay) that stand in the way of those checks;
//  2. hfi's own checks: unknown fields, name rules, ranges, limits, regex dialect.
// The first issue is what a single-message error reports; the list carries all of them (up to MAX_ISSUES).

import { HfiError } from '../errors';
import { POLICY_LIMITS } from './limits';
import { normalizePolicy } from './normalize';
import { checkRegex } from './regex';
import type { Policy } from './types';

export interface ValidationIssue {
  /** Field path in the input, e.g. `spec.rules[0].fault.percentage`; `policy` for the document itself. */
  field: string;
  message: string;
}

export interface ValidateOptions {
  /** Upper bound for `fixed_delay_ms` and `start_delay_ms` (default 30000). */
  maxDelayMs?: number;
}

export type ValidationResult = { ok: true; policy: Policy } | { ok: false; issues: ValidationIssue[] };

/** More issues than this are dropped: past a hundred, nobody reads on. */
export const MAX_ISSUES = 100;

type Json = Record<string, unknown>;

const MATCHER_KEYS = ['exact', 'prefix', 'regex'] as const;
// RFC 9110 token; a leading ':' admits the HTTP/2 pseudo-headers Envoy exposes (:authority, :path, ...).
const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NAME_CHARS = /[^A-Za-z0-9_-]/;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads an own property; null counts as absent, as Go's JSON decoder treats it. */
function prop(obj: Json | undefined, key: string): unknown {
  if (obj === undefined || !Object.hasOwn(obj, key)) return undefined;
  const value = obj[key];
  return value === null ? undefined : value;
}

function join(base: string, key: string): string {
  const part = PLAIN_KEY.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (base === '') return part.startsWith('[') ? `policy${part}` : part;
  return part.startsWith('[') ? `${base}${part}` : `${base}.${part}`;
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Type issue of a value that must be an integer, or null. */
function integerIssue(value: unknown): string | null {
  if (typeof value !== 'number') return 'must be a number';
  return Number.isInteger(value) ? null : 'must be an integer';
}

/** Milliseconds of the reference's old string delay ("500ms", "2s", "1m", bare number = ms), or null. */
function parseLegacyDelay(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
  if (typeof value !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(value.trim().toLowerCase());
  if (m === null) return null;
  const factor = m[2] === 's' ? 1000 : m[2] === 'm' ? 60000 : 1;
  return Math.round(Number(m[1]) * factor);
}

function legacyDelayMessage(value: unknown): string {
  const ms = parseLegacyDelay(value);
  const example = `e.g. fixed_delay_ms: ${ms ?? 500}`;
  if (typeof value === 'string' && ms !== null) {
    return `the string form ${JSON.stringify(value)} was replaced by fixed_delay_ms (integer milliseconds), ${example}`;
  }
  return `fixed_delay was replaced by fixed_delay_ms (integer milliseconds), ${example}`;
}

const squash = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The allowed key a misspelt one was probably meant to be (case, `_`/`-` and small typos forgiven). */
function guessKey(key: string, allowed: readonly string[]): string | undefined {
  const k = squash(key);
  if (k.length > 64) return undefined;
  return (
    allowed.find((a) => squash(a) === k) ??
    allowed.find((a) => k.length >= 4 && editDistance(squash(a), k) <= (k.length >= 7 ? 2 : 1))
  );
}

class Checker {
  private readonly reference: ValidationIssue[] = [];
  private readonly extra: ValidationIssue[] = [];

  constructor(private readonly maxDelayMs: number) {}

  issues(): ValidationIssue[] {
    const seen = new Set<string>();
    const out: ValidationIssue[] = [];
    for (const issue of [...this.reference, ...this.extra]) {
      const key = `${issue.field}\u0000${issue.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(issue);
      if (out.length === MAX_ISSUES) break;
    }
    return out;
  }

  private ref(field: string, message: string): void {
    this.reference.push({ field, message });
  }

  private add(field: string, message: string): void {
    this.extra.push({ field, message });
  }

  check(input: unknown): void {
    if (!isObject(input)) {
      this.ref('policy', 'must be an object');
      return;
    }
    const metadata = prop(input, 'metadata');
    const spec = prop(input, 'spec');
    const rules = this.referenceHead(metadata, spec);
    rules?.forEach((rule, i) => {
      this.referenceRule(rule, `spec.rules[${i}]`);
    });

    this.unknownKeys(input, '', ['metadata', 'spec'], ['apiVersion', 'kind', 'status']);
    if (isObject(metadata)) this.metadata(metadata);
    if (isObject(spec)) this.spec(spec);
    rules?.forEach((rule, i) => {
      this.rule(rule, `spec.rules[${i}]`);
    });
  }

  // --- the reference's checks, in its order ---

  /** Name and rules presence; returns the rules when they are an array to walk. */
  private referenceHead(metadata: unknown, spec: unknown): unknown[] | undefined {
    if (metadata !== undefined && !isObject(metadata)) {
      this.ref('metadata', 'must be an object');
    } else {
      const name = prop(metadata, 'name');
      if (name === undefined || name === '') this.ref('metadata.name', 'policy name is required');
      else if (typeof name !== 'string') this.ref('metadata.name', 'must be a string');
    }
    if (spec !== undefined && !isObject(spec)) {
      this.ref('spec', 'must be an object');
      return undefined;
    }
    const rules = prop(spec, 'rules');
    if (rules === undefined || (Array.isArray(rules) && rules.length === 0)) {
      this.ref('spec.rules', 'at least one rule is required');
      return undefined;
    }
    if (!Array.isArray(rules)) {
      this.ref('spec.rules', 'must be an array');
      return undefined;
    }
    return rules;
  }

  private referenceRule(rule: unknown, base: string): void {
    if (!isObject(rule)) {
      this.ref(base, 'must be an object');
      return;
    }
    this.referenceMatch(prop(rule, 'match'), `${base}.match`);

    const fault = prop(rule, 'fault');
    const fb = `${base}.fault`;
    if (fault !== undefined && !isObject(fault)) {
      this.ref(fb, 'must be an object');
      return;
    }
    let hasAction = false;
    const delay = prop(fault, 'delay');
    if (delay !== undefined && !isObject(delay)) this.ref(`${fb}.delay`, 'must be an object');
    else if (delay !== undefined) {
      const legacy = prop(delay, 'fixed_delay');
      if (legacy !== undefined) this.ref(`${fb}.delay.fixed_delay`, legacyDelayMessage(legacy));
      hasAction = this.referenceAction(prop(delay, 'fixed_delay_ms'), `${fb}.delay.fixed_delay_ms`);
    }
    const abort = prop(fault, 'abort');
    if (abort !== undefined && !isObject(abort)) this.ref(`${fb}.abort`, 'must be an object');
    else if (abort !== undefined) {
      hasAction = this.referenceAction(prop(abort, 'httpStatus'), `${fb}.abort.httpStatus`) || hasAction;
    }
    if (!hasAction) this.ref(fb, 'at least one fault action is required');

    const percentage = prop(fault, 'percentage');
    if (percentage !== undefined) {
      const f = `${fb}.percentage`;
      if (typeof percentage !== 'number') this.ref(f, 'must be a number');
      else if (Number.isNaN(percentage)) this.ref(f, 'must be a finite number');
      else if (percentage < 0 || percentage > 100) this.ref(f, 'percentage must be between 0 and 100');
    }
    for (const key of ['start_delay_ms', 'duration_seconds'] as const) {
      const value = prop(fault, key);
      if (value === undefined) continue;
      const f = `${fb}.${key}`;
      if (typeof value !== 'number') this.ref(f, 'must be a number');
      else if (value < 0) this.ref(f, `${key} must be non-negative (>= 0)`);
      else if (!Number.isInteger(value)) this.ref(f, 'must be an integer');
    }
  }

  /** An action's number (fixed_delay_ms, httpStatus): its type issue, and whether it is > 0. */
  private referenceAction(value: unknown, field: string): boolean {
    if (value === undefined) return false;
    const issue = integerIssue(value);
    if (issue !== null) {
      this.ref(field, issue);
      return false;
    }
    return (value as number) > 0;
  }

  private referenceMatch(match: unknown, mb: string): void {
    if (match !== undefined && !isObject(match)) {
      this.ref(mb, 'must be an object');
      return;
    }
    let hasCondition = false;
    for (const key of ['method', 'path'] as const) {
      const matcher = prop(match, key);
      if (matcher === undefined) continue;
      if (!isObject(matcher)) {
        this.ref(`${mb}.${key}`, 'must be an object');
        continue;
      }
      for (const k of MATCHER_KEYS) {
        const value = prop(matcher, k);
        if (value === undefined) continue;
        if (typeof value !== 'string') this.ref(`${mb}.${key}.${k}`, 'must be a string');
        else if (value !== '') hasCondition = true;
      }
    }
    const headers = prop(match, 'headers');
    if (headers !== undefined && !Array.isArray(headers)) this.ref(`${mb}.headers`, 'must be an array');
    else if (Array.isArray(headers) && headers.length > 0) hasCondition = true;
    if (!hasCondition) this.ref(mb, 'at least one match condition is required');
  }

  // --- hfi's checks ---

  private unknownKeys(obj: Json, base: string, allowed: readonly string[], ignored: readonly string[] = []): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key) || ignored.includes(key)) continue;
      const guess = guessKey(key, allowed);
      this.add(join(base, key), `unknown field "${key}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`);
    }
  }

  private string(value: unknown, field: string): value is string {
    if (value === undefined) return false;
    if (typeof value !== 'string') {
      this.add(field, 'must be a string');
      return false;
    }
    const max = POLICY_LIMITS.maxStringLength;
    if (value.length > max) {
      const length = codePointLength(value);
      if (length > max) this.add(field, `must be at most ${max} characters (got ${length})`);
    }
    return true;
  }

  private metadata(metadata: Json): void {
    this.unknownKeys(metadata, 'metadata', ['name', 'version']);
    const name = prop(metadata, 'name');
    if (typeof name === 'string' && name !== '') this.name(name);
    this.string(prop(metadata, 'version'), 'metadata.version');
  }

  private name(name: string): void {
    const { minNameLength: min, maxNameLength: max } = POLICY_LIMITS;
    const length = codePointLength(name);
    if (length < min || length > max) {
      this.add('metadata.name', `name must be ${min} to ${max} characters long (got ${length})`);
    }
    const bad = NAME_CHARS.exec(name);
    if (bad !== null) {
      this.add('metadata.name', `name may contain only letters, digits, "_" and "-" (found ${JSON.stringify(bad[0])})`);
    }
    if (name.startsWith('-') || name.endsWith('-')) this.add('metadata.name', 'name must not start or end with "-"');
  }

  private spec(spec: Json): void {
    this.unknownKeys(spec, 'spec', ['selector', 'rules']);
    const selector = prop(spec, 'selector');
    if (selector !== undefined && !isObject(selector)) this.add('spec.selector', 'must be an object');
    else if (selector !== undefined) {
      this.unknownKeys(selector, 'spec.selector', ['service', 'namespace']);
      this.string(prop(selector, 'service'), 'spec.selector.service');
      this.string(prop(selector, 'namespace'), 'spec.selector.namespace');
    }
    const rules = prop(spec, 'rules');
    if (Array.isArray(rules) && rules.length > POLICY_LIMITS.maxRules) {
      this.add('spec.rules', `at most ${POLICY_LIMITS.maxRules} rules are allowed (got ${rules.length})`);
    }
  }

  private rule(rule: unknown, base: string): void {
    if (!isObject(rule)) return;
    this.unknownKeys(rule, base, ['match', 'fault']);
    const match = prop(rule, 'match');
    if (isObject(match)) this.match(match, `${base}.match`);
    const fault = prop(rule, 'fault');
    if (isObject(fault)) this.fault(fault, `${base}.fault`);
  }

  private match(match: Json, mb: string): void {
    this.unknownKeys(match, mb, ['method', 'path', 'headers']);
    for (const key of ['method', 'path'] as const) {
      const matcher = prop(match, key);
      if (isObject(matcher)) this.matcher(matcher, `${mb}.${key}`, true);
    }
    const headers = prop(match, 'headers');
    if (!Array.isArray(headers)) return;
    const max = POLICY_LIMITS.maxHeadersPerRule;
    if (headers.length > max) {
      this.add(`${mb}.headers`, `at most ${max} header matchers are allowed per rule (got ${headers.length})`);
    }
    headers.forEach((header: unknown, j) => {
      const hb = `${mb}.headers[${j}]`;
      if (!isObject(header)) {
        this.add(hb, 'must be an object');
        return;
      }
      const name = prop(header, 'name');
      if (name === undefined || name === '') this.add(`${hb}.name`, 'header name is required');
      else if (this.string(name, `${hb}.name`) && !HEADER_NAME.test(name)) {
        const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
        this.add(`${hb}.name`, `must be an HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only), got ${shown}`);
      }
      this.matcher(header, hb, false);
    });
  }

  /** One of exact/prefix/regex; empty strings count as unset (the reference drops them). */
  private matcher(matcher: Json, mb: string, requireOne: boolean): void {
    this.unknownKeys(matcher, mb, requireOne ? MATCHER_KEYS : ['name', ...MATCHER_KEYS]);
    let set = 0;
    for (const key of MATCHER_KEYS) {
      const value = prop(matcher, key);
      const field = `${mb}.${key}`;
      if (!this.string(value, field) || value === '') continue;
      set++;
      if (key === 'regex') {
        const check = checkRegex(value);
        if (!check.ok) this.add(field, `invalid regex: ${check.message}`);
      }
    }
    if (set > 1) this.add(mb, 'only one of exact, prefix, regex may be set');
    if (set === 0 && requireOne) this.add(mb, 'one of exact, prefix, regex must be set (to a non-empty string)');
  }

  private fault(fault: Json, fb: string): void {
    this.unknownKeys(fault, fb, ['percentage', 'start_delay_ms', 'duration_seconds', 'delay', 'abort']);
    const startDelay = prop(fault, 'start_delay_ms');
    if (Number.isInteger(startDelay) && (startDelay as number) > this.maxDelayMs) {
      this.add(`${fb}.start_delay_ms`, this.tooLong('start_delay_ms'));
    }
    const duration = prop(fault, 'duration_seconds');
    const maxDuration = POLICY_LIMITS.maxDurationSeconds;
    if (Number.isInteger(duration) && (duration as number) > maxDuration) {
      this.add(`${fb}.duration_seconds`, `duration_seconds must be at most ${maxDuration} (one year)`);
    }

    const delay = prop(fault, 'delay');
    if (isObject(delay)) {
      this.unknownKeys(delay, `${fb}.delay`, ['fixed_delay_ms'], ['fixed_delay']);
      const ms = prop(delay, 'fixed_delay_ms');
      const f = `${fb}.delay.fixed_delay_ms`;
      if (ms === undefined) {
        if (prop(delay, 'fixed_delay') === undefined) this.add(f, 'fixed_delay_ms is required when delay is set');
      } else if (Number.isInteger(ms)) {
        if ((ms as number) < 0) this.add(f, 'fixed_delay_ms must be non-negative (>= 0)');
        else if ((ms as number) > this.maxDelayMs) this.add(f, this.tooLong('fixed_delay_ms'));
      }
    }

    const abort = prop(fault, 'abort');
    if (isObject(abort)) {
      this.unknownKeys(abort, `${fb}.abort`, ['httpStatus', 'body']);
      const status = prop(abort, 'httpStatus');
      const f = `${fb}.abort.httpStatus`;
      const { minHttpStatus: lo, maxHttpStatus: hi } = POLICY_LIMITS;
      if (status === undefined) this.add(f, 'httpStatus is required when abort is set');
      else if (Number.isInteger(status) && ((status as number) < lo || (status as number) > hi)) {
        this.add(f, `httpStatus must be between ${lo} and ${hi}`);
      }
      const body = prop(abort, 'body');
      if (body !== undefined && typeof body !== 'string') this.add(`${fb}.abort.body`, 'must be a string');
      else if (typeof body === 'string' && Buffer.byteLength(body, 'utf8') > POLICY_LIMITS.maxBodyBytes) {
        this.add(`${fb}.abort.body`, `body must be at most 64 KiB (${POLICY_LIMITS.maxBodyBytes} bytes of UTF-8)`);
      }
    }
  }

  private tooLong(key: string): string {
    return `${key} must be at most ${this.maxDelayMs} ms (the control plane's maximum delay)`;
  }
}

/**
 * Validates a decoded policy document. On success `policy` is the normalised policy (normalizePolicy); on
 * failure `issues` lists every problem, the reference control plane's first failing check first. Never throws.
 */
export function validatePolicy(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const checker = new Checker(options.maxDelayMs ?? POLICY_LIMITS.defaultMaxDelayMs);
  checker.check(input);
  const issues = checker.issues();
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, policy: normalizePolicy(input as Policy) };
}

export function formatIssue(issue: ValidationIssue): string {
  return `${issue.field}: ${issue.message}`;
}

/** validatePolicy, throwing HfiError HFI_ERR_POLICY_INVALID with the first issue as its message. */
export function assertValidPolicy(input: unknown, options?: ValidateOptions): Policy {
  const result = validatePolicy(input, options);
  if (result.ok) return result.policy;
  const [first] = result.issues;
  throw new HfiError('HFI_ERR_POLICY_INVALID', formatIssue(first), {
    field: first.field,
    details: { issues: result.issues },
  });
}
