// Randomized bad input against a running control plane: every malformed or invalid body gets a 4xx with a stable
// code and a location (field path, or line/column for syntax), nothing stored changes, and the server keeps serving.
// Set HFI_FUZZ_SEED to replay a run; the seed is printed in the test name.
import { parsePolicyDocuments, validatePolicy } from '@hfi/core';
import { request, startTestControlPlane } from '../__tests__/http';
import type { StartedControlPlane } from '../start';

const SEED = Number(process.env.HFI_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = 400;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = Record<string, unknown>;

function valid(name: string): Json {
  return {
    metadata: { name, version: '1.0.0' },
    spec: {
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [
        {
          match: { method: { exact: 'GET' }, path: { prefix: '/api/' }, headers: [{ name: 'x-user', exact: 'test' }] },
          fault: { percentage: 50, start_delay_ms: 0, duration_seconds: 60, abort: { httpStatus: 503 } },
        },
        { match: { path: { regex: '^/items/[0-9]+$' } }, fault: { percentage: 10, delay: { fixed_delay_ms: 200 } } },
      ],
    },
  };
}

// Values no validator may accept at these paths (paths relative to the policy root).
const BAD_VALUES: [string, unknown[]][] = [
  [
    'metadata.name',
    [
      'a/b',
      '..',
      '../etc/passwd',
      'a..b',
      'x',
      '',
      '-lead',
      'trail-',
      'white space',
      'ünïcode',
      'a'.repeat(64),
      42,
      ['abc'],
      {},
    ],
  ],
  ['metadata.version', [5, true, {}]],
  ['metadata', ['abc', [], 7]],
  ['spec', ['abc', [], 7]],
  ['spec.selector', ['frontend', 5, []]],
  ['spec.selector.service', [5, {}, []]],
  ['spec.rules', [{}, [], 'rule', [null], ['x']]],
  ['spec.rules[0].match', [[], 'GET', {}]],
  ['spec.rules[0].match.method', [{ exact: 5 }, { exact: '' }, 'GET', { regex: '(' }]],
  ['spec.rules[0].match.headers', [{}, 'x-user', [{ exact: 'x' }], [{ name: 'bad name', exact: 'x' }], [{ name: 5 }]]],
  ['spec.rules[0].fault', ['abort', [], {}, { percentage: 10 }]],
  ['spec.rules[0].fault.percentage', [-1, 100.0001, 101, 1e308, -1e308, -0.5, '50', true, [], {}]],
  ['spec.rules[0].fault.start_delay_ms', [-1, 30001, 'soon', 1e20, 1.5]],
  ['spec.rules[0].fault.duration_seconds', [-1, 31536001, 1e300, 'PT5M', 0.5]],
  ['spec.rules[0].fault.abort.httpStatus', [99, 600, 1e12, 503.5, '503', false]],
  ['spec.rules[1].fault.delay.fixed_delay_ms', [-1, 30001, 1e15, 1.5, '100ms', {}]],
  ['spec.rules[1].fault.delay', [{ fixed_delay: '200ms' }, '200ms', 200]],
];
const BAD_REGEXES = ['(', '[a-', 'a{2,1}', '(?=x)', '(?<=x)', '\\1', 'a**', 'a{1001}', '\\p{Foo}', '*a', '[z-a]', ')'];
const REGEX_PATHS = [
  'spec.rules[1].match.path.regex',
  'spec.rules[0].match.method.regex',
  'spec.rules[0].match.headers[0].regex',
];
const OBJECT_PATHS = [
  '',
  'metadata',
  'spec',
  'spec.selector',
  'spec.rules[0]',
  'spec.rules[0].match',
  'spec.rules[0].match.path',
  'spec.rules[0].fault',
  'spec.rules[0].fault.abort',
  'spec.rules[1].fault.delay',
  'spec.rules[0].match.headers[0]',
];
const UNKNOWN_KEYS = [
  'priority',
  'enabled',
  'Percentage',
  'httpstatus',
  'fixedDelayMs',
  'constructor',
  '__proto__',
  'x',
];
const REQUIRED_PATHS = [
  'metadata.name',
  'spec.rules',
  'spec.rules[0].match',
  'spec.rules[0].fault',
  'metadata',
  'spec',
];
const BAD_YAML = [
  'metadata: [unclosed\n',
  'metadata:\n  name: abc\n   spec: x\n',
  'a: b: c\n',
  'metadata: {name: abc\n',
  '"unterminated\n',
  '- a\nb: c\n',
  'key: &anchor\n  x: *missing\n',
  'metadata:\n\tname: abc\n',
];

function segments(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] as string)));
}

function setAt(root: Json, path: string, value: unknown, mode: 'set' | 'delete' = 'set'): void {
  const parts = segments(path);
  let node = root as Record<string | number, unknown>;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string | number, unknown>;
  }
  const last = parts[parts.length - 1] as string | number;
  if (mode === 'delete') delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
}

function getAt(root: Json, path: string): unknown {
  return segments(path).reduce<unknown>((n, p) => (n as Record<string | number, unknown>)?.[p], root);
}

interface Case {
  label: string;
  body: string;
  contentType: string;
  /** The field the problem is at (validation) — the answer must name it or a parent/child of it. */
  field?: string;
  /** A syntax error: the answer must carry line and column. */
  syntax?: boolean;
}

function makeCase(rand: () => number, name: string): Case | undefined {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const policy = valid(name);
  const asYaml = rand() < 0.3; // JSON is YAML: the same document through the YAML parser
  const contentType = asYaml ? 'application/yaml' : 'application/json';
  switch (Math.floor(rand() * 7)) {
    case 0:
    case 1: {
      const [path, values] = pick(BAD_VALUES);
      const value = pick(values);
      setAt(policy, path, value);
      return { label: `${path} = ${JSON.stringify(value)}`, body: JSON.stringify(policy), contentType, field: path };
    }
    case 2: {
      const path = pick(REGEX_PATHS);
      const regex = pick(BAD_REGEXES);
      setAt(policy, path, regex);
      return { label: `${path} = /${regex}/`, body: JSON.stringify(policy), contentType, field: path };
    }
    case 3: {
      const at = pick(OBJECT_PATHS);
      const key = pick(UNKNOWN_KEYS);
      const target = (at ? getAt(policy, at) : policy) as Json;
      Object.defineProperty(target, key, {
        value: { injected: true },
        enumerable: true,
        configurable: true,
        writable: true,
      });
      const field = at ? `${at}.${key}` : key;
      return { label: `unknown field ${at || '<root>'}.${key}`, body: JSON.stringify(policy), contentType, field };
    }
    case 4: {
      const path = pick(REQUIRED_PATHS);
      setAt(policy, path, undefined, 'delete');
      return { label: `missing ${path}`, body: JSON.stringify(policy), contentType, field: path };
    }
    case 5: {
      const text = JSON.stringify(policy, null, rand() < 0.5 ? 2 : undefined);
      const kind = Math.floor(rand() * 4);
      const at = 1 + Math.floor(rand() * (text.length - 2));
      const broken =
        kind === 0
          ? text.slice(0, at) // truncated
          : kind === 1
            ? `${text}}` // trailing garbage
            : kind === 2
              ? text.replace('"percentage":50', '"percentage":1e400').replace('"percentage": 50', '"percentage": 1e999')
              : `${text.slice(0, at)}\u0000${text.slice(at)}`; // a control character
      // 1e400 parses (as Infinity) and must then fail validation; the others are syntax errors.
      if (kind === 2)
        return {
          label: 'percentage 1e400',
          body: broken,
          contentType: 'application/json',
          field: 'spec.rules[0].fault.percentage',
        };
      return {
        label: `malformed JSON (${['truncated', 'trailing', '', 'control char'][kind]} at ${at})`,
        body: broken,
        contentType: 'application/json',
        syntax: true,
      };
    }
    default: {
      // YAML: a known-bad document, or the policy's YAML with a tab thrown into its indentation. Random damage can
      // leave a document that still parses, so the core library is asked what the server should say.
      const lines = yamlOf(policy).split('\n');
      const i = Math.floor(rand() * (lines.length - 1));
      lines[i] = `\t${lines[i]}`;
      const body = rand() < 0.5 ? pick(BAD_YAML) : lines.join('\n');
      let docs: unknown[];
      try {
        docs = parsePolicyDocuments(body, 'x.yaml');
      } catch {
        return {
          label: `malformed YAML ${JSON.stringify(body.slice(0, 30))}`,
          body,
          contentType: 'application/yaml',
          syntax: true,
        };
      }
      if (docs.length !== 1) return { label: 'YAML with several documents', body, contentType: 'application/yaml' };
      const result = validatePolicy(docs[0]);
      if (result.ok) return undefined;
      return {
        label: `invalid YAML document`,
        body,
        contentType: 'application/yaml',
        field: result.issues[0]?.field as string,
      };
    }
  }
}

function yamlOf(policy: Json): string {
  // A small block-style emitter is enough for this fixed shape.
  const emit = (value: unknown, indent: string): string => {
    if (Array.isArray(value)) return value.map((v) => `\n${indent}- ${emit(v, `${indent}  `).trimStart()}`).join('');
    if (value && typeof value === 'object') {
      return Object.entries(value as Json)
        .map(([k, v]) =>
          v && typeof v === 'object'
            ? `\n${indent}${k}:${emit(v, `${indent}  `)}`
            : `\n${indent}${k}: ${JSON.stringify(v)}`,
        )
        .join('');
    }
    return ` ${JSON.stringify(value)}`;
  };
  return `${emit(policy, '').trimStart()}\n`;
}

let cp: StartedControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane({ logLevel: 'silent' });
});
afterAll(async () => {
  await cp.close();
});

test(`randomized bad input (seed ${SEED}): 4xx with hfi_code and location, nothing stored changes`, async () => {
  const rand = prng(SEED);
  const seedPolicies = [valid('existing-one'), valid('existing-two')];
  for (const p of seedPolicies) expect((await request('POST', `${cp.url}/v1/policies`, { body: p })).status).toBe(201);
  // remaining_ms counts down by itself; everything else must stay exactly as it was.
  const stored = async () =>
    JSON.stringify((await request('GET', `${cp.url}/v1/policies`)).json, (k, v) =>
      k === 'remaining_ms' ? undefined : v,
    );
  const before = await stored();

  let sent = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const target = rand() < 0.5 ? 'existing-one' : 'existing-two';
    const c = makeCase(rand, target);
    if (!c) continue;
    const endpoint = Math.floor(rand() * 3);
    const [method, path] =
      endpoint === 0
        ? ['POST', '/v1/policies']
        : endpoint === 1
          ? ['POST', '/v1/policies/create']
          : ['PUT', `/v1/policies/${target}`];
    const res = await request(method, `${cp.url}${path}`, { raw: c.body, headers: { 'content-type': c.contentType } });
    const where = `${method} ${path} with ${c.label} → ${res.status} ${res.text}`;
    sent++;
    expect([where, res.status >= 400 && res.status < 500]).toEqual([where, true]);
    expect([where, res.json?.hfi_code]).toEqual([where, expect.stringMatching(/^HFI_ERR_[A-Z_]+$/)]);
    expect([where, res.json?.request_id]).toEqual([where, res.headers['x-request-id']]);
    if (c.syntax) {
      expect([where, res.json.hfi_code, typeof res.json.details?.line]).toEqual([
        where,
        'HFI_ERR_POLICY_PARSE',
        'number',
      ]);
    } else if (c.field !== undefined) {
      expect([where, res.json.hfi_code, res.json.code]).toEqual([where, 'HFI_ERR_POLICY_INVALID', 'validation_error']);
      const fields: string[] = res.json.details.issues.map((i: { field: string }) => i.field);
      const field = c.field;
      const related = fields.some(
        (f) => f.startsWith(field) || field.startsWith(f) || (f === 'policy' && field === ''),
      );
      expect([where, related]).toEqual([where, true]);
      expect([where, res.json.message.startsWith(`${res.json.details.field}: `)]).toEqual([where, true]);
    }
    if (round % 50 === 0) expect((await request('GET', `${cp.url}/v1/health`)).status).toBe(200);
  }
  expect(sent).toBeGreaterThan(ROUNDS * 0.8);
  expect(await stored()).toBe(before);
  // Still serving writes.
  expect((await request('POST', `${cp.url}/v1/policies`, { body: valid('after-the-storm') })).status).toBe(201);
}, 120_000);
