// Policies as the filter keeps them: compiled once when an answer arrives (selector applied, matchers and regexes
// built, deadlines fixed), so a request only walks a flat list of rules.

import { asciiLower, headerSafe, utf8Bytes } from './bytes';
import { getArray, getBool, getNumber, getObject, getString, JValue } from './json';
import { compileRegex, Regex } from './regex';

export const M_ANY: i32 = 0; // no (non-empty) condition: matches whenever the value is present
export const M_EXACT: i32 = 1;
export const M_PREFIX: i32 = 2;
export const M_REGEX: i32 = 3;
export const M_NEVER: i32 = 4; // invalid matcher (bad regex, wrong type): never matches

/** The longest delay the filter applies: one day. */
export const MAX_DELAY_MS: f64 = 86400000;
export const DEFAULT_ABORT_BODY = 'Fault injection: Service unavailable';

export class Identity {
  workload: string = '';
  namespace: string = '';
  pod: string = '';
  app: string = '';
  appName: string = ''; // app.kubernetes.io/name
}

export class StringMatcher {
  kind: i32 = M_ANY;
  /** The exact value, the prefix, or a regex's literal prefix. */
  bytes: ArrayBuffer = new ArrayBuffer(0);
  regex: Regex | null = null;

  matches(ptr: usize, len: i32): bool {
    const k = this.kind;
    if (k == M_ANY) return true;
    if (k == M_NEVER) return false;
    const n = this.bytes.byteLength;
    if (k == M_EXACT) return len == n && memory.compare(ptr, changetype<usize>(this.bytes), <usize>n) == 0;
    if (len < n || memory.compare(ptr, changetype<usize>(this.bytes), <usize>n) != 0) return false;
    if (k == M_PREFIX) return true;
    const re = this.regex;
    return re !== null && re.isMatch(ptr, len);
  }

  /** Mask and word for the quick test (see quickWords): the first bytes any accepted value must have. */
  quickMask(): u64 {
    const k = this.kind;
    const n = this.bytes.byteLength;
    if (k == M_EXACT && n < 8) return byteMask(n + 1); // the zero padding after a short value is part of it
    if (k == M_EXACT || k == M_PREFIX || k == M_REGEX) return byteMask(n < 8 ? n : 8);
    return 0;
  }

  quickWord(): u64 {
    const n = this.bytes.byteLength;
    return wordOf(changetype<usize>(this.bytes), n) & this.quickMask();
  }
}

function byteMask(n: i32): u64 {
  return n >= 8 ? <u64>-1 : ((<u64>1) << (<u64>(n * 8))) - 1;
}

/** The first (up to) 8 bytes at `ptr` as a little-endian word, zero-padded. */
export function wordOf(ptr: usize, len: i32): u64 {
  if (len >= 8) return load<u64>(ptr); // little-endian: byte i lands at bits 8i, as the loop puts it
  const n = len;
  let w: u64 = 0;
  for (let i = 0; i < n; i++) w |= (<u64>load<u8>(ptr + <usize>i)) << (<u64>(i * 8));
  return w;
}

export class HeaderMatcher {
  /** ASCII lower-case name bytes. */
  name: ArrayBuffer;
  value: StringMatcher;
  /** Index of the name among the distinct names of the answer: a request looks each name up once. */
  slot: i32;

  constructor(name: ArrayBuffer, value: StringMatcher, slot: i32) {
    this.name = name;
    this.value = value;
    this.slot = slot;
  }
}

export class CompiledRule {
  policy: string = '';
  /** Index of the rule inside its policy's spec.rules. */
  index: i32 = 0;
  /** True when the rule itself is malformed: it never matches. */
  broken: bool = false;
  method: StringMatcher | null = null;
  path: StringMatcher | null = null;
  headers: Array<HeaderMatcher> = [];
  /** Local deadline (ms since epoch); Infinity when the rule never expires. */
  deadline: f64 = Infinity;
  percentage: f64 = 0;
  startDelayMs: u32 = 0;
  delayMs: u32 = 0;
  abortStatus: u32 = 0;
  abortBody: ArrayBuffer = new ArrayBuffer(0);
  /** Value of the x-hfi-policy response header. */
  policyHeader: string = '';
}

export class CompileResult {
  rules: Array<CompiledRule> = [];
  /** Per rule, the quick test: method mask, method word, path mask, path word (see quickWords). */
  quick: StaticArray<u64> = new StaticArray<u64>(0);
  /** Distinct header names the rules match on (ASCII lower case). */
  headerNames: Array<ArrayBuffer> = [];
  revision: f64 = 0;
  hasRevision: bool = false;
  policiesTotal: i32 = 0;
  policiesApplied: i32 = 0;
  warnings: Array<string> = [];
}

function selectorApplies(selector: JValue | null, id: Identity): bool {
  if (selector === null) return true;
  const service = getString(selector, 'service');
  if (service !== null && service.length > 0 && service != '*') {
    const hit =
      service == id.workload ||
      (id.app.length > 0 && service == id.app) ||
      (id.appName.length > 0 && service == id.appName);
    if (!hit) return false;
  }
  const namespace = getString(selector, 'namespace');
  if (namespace !== null && namespace.length > 0 && namespace != '*') {
    if (namespace != id.namespace) return false;
  }
  return true;
}

function compileString(spec: JValue, where: string, out: CompileResult): StringMatcher {
  const m = new StringMatcher();
  // The first non-empty condition counts (an empty string is no condition, as the reference's omitempty makes it).
  let exact = getString(spec, 'exact');
  let prefix = getString(spec, 'prefix');
  let regex = getString(spec, 'regex');
  if (exact !== null && exact.length == 0) exact = null;
  if (prefix !== null && prefix.length == 0) prefix = null;
  if (regex !== null && regex.length == 0) regex = null;
  if (exact !== null) {
    m.kind = M_EXACT;
    m.bytes = utf8Bytes(exact);
  } else if (prefix !== null) {
    m.kind = M_PREFIX;
    m.bytes = utf8Bytes(prefix);
  } else if (regex !== null) {
    const compiled = compileRegex(regex);
    if (compiled.regex === null) {
      m.kind = M_NEVER;
      out.warnings.push(
        where + ': regex ' + JSON_quote(regex) + ' does not compile (' + compiled.error + '); it never matches',
      );
    } else {
      m.kind = M_REGEX;
      m.regex = compiled.regex;
      m.bytes = compiled.regex!.literalPrefix;
    }
  }
  return m;
}

function headerSlot(names: Array<ArrayBuffer>, name: ArrayBuffer): i32 {
  const n = name.byteLength;
  for (let i = 0; i < names.length; i++) {
    const known = names[i];
    if (known.byteLength == n && memory.compare(changetype<usize>(known), changetype<usize>(name), <usize>n) == 0)
      return i;
  }
  names.push(name);
  return names.length - 1;
}

/**
 * The quick test: per rule, four words such that a request whose method and path start with bytes `mw` and `pw`
 * (wordOf) can match only if (mw & mask) == word for both. A necessary condition, never a sufficient one: it lets
 * a request skip most rules that cannot match with two compares, before the full check.
 */
export function quickWords(rules: Array<CompiledRule>): StaticArray<u64> {
  const q = new StaticArray<u64>(rules.length * 4);
  for (let i = 0; i < rules.length; i++) {
    const m = rules[i].method;
    const p = rules[i].path;
    if (m !== null) {
      q[i * 4] = m.quickMask();
      q[i * 4 + 1] = m.quickWord();
    }
    if (p !== null) {
      q[i * 4 + 2] = p.quickMask();
      q[i * 4 + 3] = p.quickWord();
    }
  }
  return q;
}

function JSON_quote(s: string): string {
  const shown = s.length > 80 ? s.substring(0, 80) + '...' : s;
  return '"' + headerSafe(shown) + '"';
}

function toMs(v: f64): u32 {
  if (!(v > 0)) return 0;
  if (v > MAX_DELAY_MS) return <u32>MAX_DELAY_MS;
  return <u32>Math.floor(v);
}

function compileRule(
  policy: string,
  index: i32,
  ruleJson: JValue,
  status: JValue | null,
  arrival: f64,
  out: CompileResult,
): CompiledRule {
  const rule = new CompiledRule();
  rule.policy = policy;
  rule.index = index;
  rule.policyHeader = headerSafe(policy);
  const where = 'policy ' + JSON_quote(policy) + ' rule ' + index.toString();
  if (!ruleJson.isObject()) {
    rule.broken = true;
    out.warnings.push(where + ': not an object; it never matches');
    return rule;
  }
  // Status: skip inactive rules; remaining_ms becomes a local deadline.
  if (status !== null) {
    if (!getBool(status, 'active', true)) rule.deadline = -Infinity;
    else {
      const remaining = getNumber(status, 'remaining_ms', -1);
      if (remaining >= 0) rule.deadline = arrival + remaining;
    }
  }
  const match = ruleJson.get('match');
  if (match !== null && !match.isObject() && match.kind != 0) {
    rule.broken = true;
    out.warnings.push(where + ': match is not an object; it never matches');
    return rule;
  }
  if (match !== null && match.isObject()) {
    const method = match.get('method');
    if (method !== null && method.kind != 0) {
      if (method.isObject()) rule.method = compileString(method, where + ' method', out);
      else rule.broken = true;
    }
    const path = match.get('path');
    if (path !== null && path.kind != 0) {
      if (path.isObject()) rule.path = compileString(path, where + ' path', out);
      else rule.broken = true;
    }
    const headers = match.get('headers');
    if (headers !== null && headers.kind != 0) {
      if (!headers.isArray()) rule.broken = true;
      else {
        for (let i = 0; i < headers.items.length; i++) {
          const h = headers.items[i];
          const name = getString(h, 'name');
          if (!h.isObject() || name === null || name.length == 0) {
            rule.broken = true;
            break;
          }
          const value = compileString(h, where + ' header ' + JSON_quote(name), out);
          const lower = asciiLower(utf8Bytes(name));
          rule.headers.push(new HeaderMatcher(lower, value, headerSlot(out.headerNames, lower)));
        }
      }
    }
    if (rule.broken) out.warnings.push(where + ': malformed match; it never matches');
  }
  const fault = getObject(ruleJson, 'fault');
  if (fault === null) {
    rule.broken = true;
    out.warnings.push(where + ': no fault; it never matches');
    return rule;
  }
  const pct = getNumber(fault, 'percentage', 0);
  rule.percentage = pct > 0 ? pct : 0;
  rule.startDelayMs = toMs(getNumber(fault, 'start_delay_ms', 0));
  rule.delayMs = toMs(getNumber(getObject(fault, 'delay'), 'fixed_delay_ms', 0));
  const abort = getObject(fault, 'abort');
  if (abort !== null) {
    const status = getNumber(abort, 'httpStatus', 0);
    if (status >= 1) {
      // Proxies only send final statuses; anything else becomes 503.
      rule.abortStatus = status >= 200 && status <= 599 ? <u32>Math.floor(status) : 503;
      const body = getString(abort, 'body');
      rule.abortBody = utf8Bytes(body !== null ? body : DEFAULT_ABORT_BODY);
    }
  }
  return rule;
}

class NamedPolicy {
  name: string;
  json: JValue;
  order: i32;
  constructor(name: string, json: JValue, order: i32) {
    this.name = name;
    this.json = json;
    this.order = order;
  }
}

/** Compiles a watch/poll answer `{"revision": N, "policies": [...]}` (or a bare array) for this identity.
 *  Returns null when the answer is not usable at all. */
export function compileAnswer(answer: JValue, id: Identity, arrival: f64): CompileResult | null {
  let list: JValue | null = null;
  const out = new CompileResult();
  if (answer.isArray()) {
    list = answer;
  } else if (answer.isObject()) {
    list = getArray(answer, 'policies');
    const rev = answer.get('revision');
    if (rev !== null && rev.isNumber() && isFinite(rev.num)) {
      out.revision = rev.num;
      out.hasRevision = true;
    }
    // A server may answer `"policies": null` for an empty list.
    if (list === null) {
      const p = answer.get('policies');
      if (p === null || p.kind != 0) return null;
      return out;
    }
  }
  if (list === null) return null;
  // Policies in name order (code unit order, stable for equal names).
  const named = new Array<NamedPolicy>();
  for (let i = 0; i < list.items.length; i++) {
    const p = list.items[i];
    out.policiesTotal++;
    const name = getString(getObject(p, 'metadata'), 'name');
    if (name === null) {
      out.warnings.push('policy #' + i.toString() + ' has no metadata.name; ignored');
      continue;
    }
    named.push(new NamedPolicy(name, p, i));
  }
  for (let i = 1; i < named.length; i++) {
    const item = named[i];
    let j = i - 1;
    while (j >= 0 && named[j].name > item.name) {
      named[j + 1] = named[j];
      j--;
    }
    named[j + 1] = item;
  }
  for (let i = 0; i < named.length; i++) {
    const p = named[i];
    const spec = getObject(p.json, 'spec');
    if (!selectorApplies(getObject(spec, 'selector'), id)) continue;
    out.policiesApplied++;
    const rules = getArray(spec, 'rules');
    if (rules === null) continue;
    const statusRules = getArray(getObject(p.json, 'status'), 'rules');
    for (let r = 0; r < rules.items.length; r++) {
      let st: JValue | null = null;
      if (statusRules !== null && r < statusRules.items.length && statusRules.items[r].isObject())
        st = statusRules.items[r];
      out.rules.push(compileRule(p.name, r, rules.items[r], st, arrival, out));
    }
  }
  out.quick = quickWords(out.rules);
  return out;
}
