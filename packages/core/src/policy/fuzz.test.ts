// Randomized tests with a seeded generator: a failure prints its seed and case number and replays exactly.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { HfiError } from '../errors';
import { parsePolicyDocuments } from './read';
import { checkRegex, compileRegex } from './regex';
import { assertValidPolicy, MAX_ISSUES, validatePolicy } from './validate';

/** mulberry32: small, fast, and good enough to drive mutations. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const SEED = 0x5eed_f1;
const EXAMPLES = path.resolve(__dirname, '../../../../examples/policies');

function seedPolicies(): unknown[] {
  const out: unknown[] = [];
  for (const dir of ['basic', 'advanced', 'legacy']) {
    for (const file of readdirSync(path.join(EXAMPLES, dir))) {
      out.push(...parsePolicyDocuments(readFileSync(path.join(EXAMPLES, dir, file), 'utf8'), file));
    }
  }
  out.push({
    metadata: { name: 'everything', version: '1.2.3' },
    spec: {
      selector: { service: 'frontend', namespace: '*' },
      rules: [
        {
          match: {
            method: { regex: '^(GET|HEAD)$' },
            path: { regex: '^/api/v[0-9]+/items/\\d{1,6}$' },
            headers: [{ name: 'x-canary' }, { name: 'x-user', prefix: 'test-' }],
          },
          fault: {
            percentage: 12.5,
            start_delay_ms: 100,
            duration_seconds: 60,
            delay: { fixed_delay_ms: 250 },
            abort: { httpStatus: 429, body: 'slow down' },
          },
        },
      ],
    },
  });
  return out;
}

const KEYS = [
  'metadata',
  'spec',
  'name',
  'version',
  'selector',
  'service',
  'namespace',
  'rules',
  'match',
  'fault',
  'method',
  'path',
  'headers',
  'exact',
  'prefix',
  'regex',
  'percentage',
  'start_delay_ms',
  'duration_seconds',
  'delay',
  'abort',
  'fixed_delay_ms',
  'fixed_delay',
  'httpStatus',
  'body',
  'apiVersion',
  'kind',
  'status',
  '__proto__',
  'constructor',
  'toString',
  '',
  'a.b',
  'x y',
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  99.999,
  100,
  100.0001,
  101,
  199,
  200,
  503,
  599,
  600,
  30000,
  30001,
  31536000,
  31536001,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
const STRINGS = [
  '',
  ' ',
  '*',
  '-',
  'a',
  'ab',
  'abc',
  'GET',
  '/',
  '/api/',
  'frontend',
  'demo',
  '..',
  '../etc',
  'a/b',
  '-abc',
  'abc-',
  'x'.repeat(63),
  'x'.repeat(64),
  'y'.repeat(4097),
  '2000ms',
  '1s',
  '😀',
  'é',
  '\u0000',
  '\n',
  ':authority',
  '(?=x)',
  '[z-a]',
  'a{1001}',
  '\\1',
  '(a{1000}){11}',
  '^/ok$',
  'true',
  '50',
  'null',
];
const REGEX_ALPHABET = [
  'a',
  'b',
  '.',
  '*',
  '+',
  '?',
  '(',
  ')',
  '[',
  ']',
  '^',
  '$',
  '|',
  '{',
  '}',
  ',',
  '2',
  '-',
  '\\',
  'd',
  'w',
  'x',
  '?:',
  '?<',
  '=',
  '!',
  'P',
  '<',
  '>',
  'é',
];

function randomString(rng: Rng): string {
  if (rng.next() < 0.6) return rng.pick(STRINGS);
  const length = rng.int(12);
  let s = '';
  for (let i = 0; i < length; i++)
    s += rng.next() < 0.7 ? rng.pick(REGEX_ALPHABET) : String.fromCodePoint(rng.int(0x3000));
  return s;
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 5 : 8)) {
    case 0:
      return rng.pick(NUMBERS);
    case 1:
      return randomString(rng);
    case 2:
      return rng.next() < 0.5;
    case 3:
      return null;
    case 4:
      return rng.int(1000) - 100;
    case 5:
      return Array.from({ length: rng.int(3) }, () => randomValue(rng, depth + 1));
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = rng.int(3); i > 0; i--) obj[rng.pick(KEYS)] = randomValue(rng, depth + 1);
      return obj;
    }
  }
}

/** Deep equality that also demands the same key order and tells -0 from 0 (and ignores which realm made it). */
function sameTree(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameTree((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

type Container = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/** Every container in the document (the document itself included). */
function containers(doc: unknown): Container[] {
  const out: Container[] = [];
  const walk = (v: unknown) => {
    if (!isContainer(v)) return;
    out.push(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child);
  };
  walk(doc);
  return out;
}

function mutate(doc: unknown, rng: Rng): unknown {
  const all = containers(doc);
  if (all.length === 0 || rng.next() < 0.02) return randomValue(rng);
  const target = rng.pick(all);
  const keys: (string | number)[] = Array.isArray(target) ? target.map((_, i) => i) : Object.keys(target);
  const key = keys.length > 0 ? rng.pick(keys) : undefined;
  const slot = target as Record<string | number, unknown>;
  switch (rng.int(7)) {
    case 0: // delete
      if (key === undefined) break;
      if (Array.isArray(target)) target.splice(key as number, 1);
      else delete slot[key];
      break;
    case 1: // wrong type or value
      if (key !== undefined) slot[key] = randomValue(rng);
      break;
    case 2: // a number at the edges
      if (key !== undefined) slot[key] = rng.pick(NUMBERS);
      break;
    case 3: // a string
      if (key !== undefined) slot[key] = randomString(rng);
      break;
    case 4: // an added field
      if (Array.isArray(target)) target.push(randomValue(rng));
      else
        Object.defineProperty(target, rng.pick(KEYS), {
          value: randomValue(rng),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      break;
    case 5: // duplicate an element many times (limits)
      if (Array.isArray(target) && target.length > 0 && target.length < 10) {
        const copies = rng.pick([1, 31, 32, 33, 99, 100, 101]);
        for (let i = 0; i < copies; i++) target.push(JSON.parse(JSON.stringify(target[0]) ?? 'null'));
      }
      break;
    default: // empty a container
      if (key !== undefined && isContainer(slot[key])) slot[key] = Array.isArray(slot[key]) ? [] : {};
  }
  return doc;
}

describe('validatePolicy under random mutation', () => {
  const CASES = 4000;

  it(`never throws, always answers with field paths, and normalises idempotently (${CASES} cases, seed ${SEED})`, () => {
    const rng = prng(SEED);
    const seeds = seedPolicies();
    let valid = 0;
    let invalid = 0;
    const fields = new Set<string>();
    for (let n = 0; n < CASES; n++) {
      let doc: unknown = structuredClone(rng.pick(seeds));
      for (let m = 1 + rng.int(4); m > 0; m--) doc = mutate(doc, rng);
      const label = { toString: () => `case ${n} (seed ${SEED}): ${JSON.stringify(doc)?.slice(0, 300)}` };

      let result: ReturnType<typeof validatePolicy>;
      try {
        result = validatePolicy(doc);
      } catch (error) {
        throw new Error(`validatePolicy threw on ${label}: ${error}`);
      }
      if (result.ok) {
        valid++;
        const again = validatePolicy(result.policy);
        if (!again.ok) throw new Error(`normalised policy is invalid on ${label}: ${JSON.stringify(again.issues)}`);
        // Idempotent, unchanged by the wire, and what assertValidPolicy returns too.
        const same = (other: unknown) => sameTree(other, result.policy);
        if (!same(again.policy) || !same(JSON.parse(JSON.stringify(result.policy))) || !same(assertValidPolicy(doc))) {
          throw new Error(`normalisation is not stable on ${label}: ${JSON.stringify(result.policy)}`);
        }
      } else {
        invalid++;
        if (result.issues.length === 0 || result.issues.length > MAX_ISSUES) {
          throw new Error(`bad issue count ${result.issues.length} on ${label}`);
        }
        for (const issue of result.issues) {
          if (
            typeof issue.field !== 'string' ||
            issue.field === '' ||
            typeof issue.message !== 'string' ||
            issue.message === ''
          ) {
            throw new Error(`issue without field or message on ${label}: ${JSON.stringify(issue)}`);
          }
          fields.add(issue.field.replace(/\[\d+\]/g, '[]'));
        }
        let thrown: unknown;
        try {
          assertValidPolicy(doc);
        } catch (error) {
          thrown = error;
        }
        if (!(thrown instanceof HfiError) || thrown.field !== result.issues[0].field) {
          throw new Error(`assertValidPolicy disagrees with validatePolicy on ${label}: ${thrown}`);
        }
      }
    }
    // The mutations must reach both outcomes and many different fields, or this test proves little.
    console.info(`[hfi core] fuzz: ${valid} valid, ${invalid} invalid, ${fields.size} distinct issue fields`);
    expect(valid).toBeGreaterThan(CASES / 20);
    expect(invalid).toBeGreaterThan(CASES / 2);
    expect(fields.size).toBeGreaterThan(30);
  });
});

describe('regex dialect under random patterns', () => {
  it('checkRegex never throws and compiles every pattern it accepts (20000 patterns)', () => {
    const rng = prng(SEED + 1);
    let accepted = 0;
    for (let n = 0; n < 20000; n++) {
      let pattern = '';
      for (let i = 1 + rng.int(10); i > 0; i--) pattern += rng.pick(REGEX_ALPHABET);
      const check = checkRegex(pattern);
      if (!check.ok) {
        if (check.construct === '' || !check.message.includes(`offset ${check.index}`)) {
          throw new Error(`${JSON.stringify(pattern)}: ${JSON.stringify(check)}`);
        }
        continue;
      }
      accepted++;
      const text = randomString(rng);
      if (typeof compileRegex(pattern).test(text) !== 'boolean')
        throw new Error(`${JSON.stringify(pattern)} on ${text}`);
    }
    expect(accepted).toBeGreaterThan(2000);
  });

  // Where the dialect and JavaScript's RegExp (u flag, no m/s flags) agree on meaning, they must agree on results.
  it('agrees with RegExp on a shared subset (5000 pattern/text pairs)', () => {
    const rng = prng(SEED + 2);
    const atoms = ['a', 'b', 'c', '.', '[ab]', '[^a]', '[a-c]', '\\d', '1', '\\.', '-', 'é'];
    const gen = (depth: number): string => {
      const r = rng.int(depth > 2 ? 2 : 6);
      if (r <= 1) return rng.pick(atoms);
      if (r === 2) return `(?:${gen(depth + 1)}|${gen(depth + 1)})`;
      if (r === 3) return `(${gen(depth + 1)})${rng.pick(['*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?'])}`;
      if (r === 4) return `${gen(depth + 1)}${gen(depth + 1)}`;
      return `${rng.pick(['', '^'])}${gen(depth + 1)}${rng.pick(['', '$'])}`;
    };
    const textAlphabet = ['a', 'b', 'c', '1', '.', '-', 'é', 'x', '\n'];
    let matched = 0;
    for (let n = 0; n < 5000; n++) {
      const pattern = gen(0);
      let text = '';
      for (let i = rng.int(8); i > 0; i--) text += rng.pick(textAlphabet);
      const ours = compileRegex(pattern).test(text);
      const theirs = new RegExp(pattern, 'u').test(text);
      if (ours !== theirs)
        throw new Error(`${JSON.stringify(pattern)} on ${JSON.stringify(text)}: ours ${ours}, RegExp ${theirs}`);
      if (ours) matched++;
    }
    expect(matched).toBeGreaterThan(500);
    expect(matched).toBeLessThan(4500);
  });
});
