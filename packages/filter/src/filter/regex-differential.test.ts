// Differential test of the regex dialect: random patterns and texts, the filter's AssemblyScript engine (through
// plugin.wasm) against @hfi/core's checker and matcher. Both must accept the same patterns and give the same answer.

import { compileRegex } from '@hfi/core';
import { CannedControlPlane, Random, startVm, type TestVm } from './__tests__/harness';

/** Tokens that combine into valid patterns most of the time... */
const COMMON = [
  'a',
  'b',
  'c',
  'é',
  '😀',
  ' ',
  '.',
  '\\d',
  '\\D',
  '\\w',
  '\\W',
  '\\s',
  '\\S',
  '[ab]',
  '[^a]',
  '[a-c]',
  '[]a]',
  '[^]b]',
  '[a-]',
  '[\\d-]',
  '[\\w.]',
  '[[]',
  '[é-😀]',
  '^',
  '$',
  '(?:a|b)',
  '(a|)',
  '*',
  '+',
  '?',
  '*?',
  '{2}',
  '{1,3}',
  '{0,}',
  '\\x61',
  '\\.',
  '\\-',
  '\\ ',
  '\\<',
  '\\n',
  '}',
  ']',
];
/** ...and tokens that are often errors (unbalanced, unsupported, malformed). */
const EXOTIC = [
  '(',
  ')',
  '(?:',
  '(?P<x>',
  '(?<y>',
  '|',
  '+?',
  '??',
  '{0}',
  '{2,1}',
  '{',
  '[',
  '\\',
  '\\x6',
  '\\b',
  '\\1',
  '\\0',
  '\\q',
  '(?=',
  '(?i)',
  '\\p{L}',
  '[[:alpha:]]',
  '[z-a]',
  '[a-\\d]',
  '{1001}',
];
const TEXT_CHARS = ['a', 'b', 'c', 'é', '😀', ' ', '.', '1', '_', '-', 'A', ']', '\t', '\n'];

function pattern(r: Random): string {
  let s = '';
  const n = 1 + r.int(8);
  for (let i = 0; i < n; i++) s += r.pick(r.chance(0.85) ? COMMON : EXOTIC);
  return s;
}

function text(r: Random): string {
  let s = '';
  const n = r.int(7);
  for (let i = 0; i < n; i++) s += r.pick(TEXT_CHARS);
  return s;
}

function reference(p: string): ((s: string) => boolean) | null {
  try {
    const re = compileRegex(p);
    return (s) => re.test(s);
  } catch {
    return null;
  }
}

describe('regex dialect: plugin.wasm agrees with @hfi/core', () => {
  let cp: CannedControlPlane;
  let t: TestVm;

  beforeAll(async () => {
    cp = await new CannedControlPlane().start();
    t = await startVm({
      controlPlane: cp,
      pluginConfig: { log_level: 'warn' },
      logLevel: 'warn',
      maxLogRecords: 1_000_000,
    });
  });

  afterAll(async () => {
    await t.close();
    await cp.close();
  });

  test.each([101, 202, 303, 404, 505])('random patterns and texts (seed %i)', async (seed) => {
    const r = new Random(seed);
    const patterns = Array.from({ length: 200 }, () => pattern(r));
    // Rule i matches header x-r<i> only, so a request carrying that one header asks about pattern i alone.
    const name = `regex-${seed}`;
    const revision = cp.publish([
      {
        metadata: { name, version: '' },
        spec: {
          rules: patterns.map((p, i) => ({
            match: { headers: [{ name: `x-r${i}`, regex: p }] },
            fault: { percentage: 100, abort: { httpStatus: 503 } },
          })),
        },
        status: { revision: 1, updated_at: new Date().toISOString(), rules: patterns.map(() => ({ active: true })) },
      },
    ]);
    await cp.acked(revision);
    const rejectedByFilter = new Set(
      t.vm.logs
        .map((l) => new RegExp(`policy "${name}" rule (\\d+) header`).exec(l.message))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1])),
    );
    const mismatches: string[] = [];
    let accepted = 0;
    let matched = 0;
    patterns.forEach((p, i) => {
      const ref = reference(p);
      if (ref !== null) accepted++;
      if ((ref === null) !== rejectedByFilter.has(i)) {
        mismatches.push(`${JSON.stringify(p)}: core ${ref === null ? 'rejects' : 'accepts'}, filter does not`);
        return;
      }
      for (let k = 0; k < 6; k++) {
        const value = text(r);
        const stream = t.vm.newStream();
        stream.onRequestHeaders(
          [
            [':method', 'GET'],
            [':path', '/'],
            [':authority', 'svc'],
            [`x-r${i}`, value],
          ],
          true,
        );
        const filterSays = stream.localResponse !== undefined;
        stream.done();
        const coreSays = ref === null ? false : ref(value);
        if (coreSays) matched++;
        if (filterSays !== coreSays) {
          mismatches.push(`${JSON.stringify(p)} on ${JSON.stringify(value)}: core ${coreSays}, filter ${filterSays}`);
        }
      }
    });
    expect(mismatches).toEqual([]);
    // the generator exercises both sides of each question
    expect(accepted).toBeGreaterThan(20);
    expect(accepted).toBeLessThan(patterns.length);
    expect(matched).toBeGreaterThan(10);
    expect(t.vm.trapped).toBe(false);
  });
});
