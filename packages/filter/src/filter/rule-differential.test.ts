// Differential test of rule matching: random rule sets and requests, the compiled plugin against @hfi/core's
// findMatchingRule. The filter skips most rules with a quick test on the first 8 bytes of method and path, checks a
// regex's literal prefix before running it, and looks each header name up once per request; the values here sit
// around those edges (7, 8, 9 bytes; shared prefixes; multi-byte characters; repeated headers; query strings) so
// that a shortcut that rejects a rule the full check would accept shows up as a disagreement. Half the rule sets
// match on no header at all, which the filter serves by reading :path alone instead of the whole map, then :method
// only when a rule's quick test passes on the path; a quarter match on no method either.

import { findMatchingRule, type Policy } from '@hfi/core';
import { answerTo, CannedControlPlane, Random, startVm, type TestVm } from './__tests__/harness';

const PATHS = [
  '/',
  '/a',
  '/ab',
  '/api',
  '/api/',
  '/api/v1',
  '/api/v1/',
  '/api/v12',
  '/api/v1/x',
  '/apix',
  '/apiv/1',
  '/api/cart/12',
  '/abcdefg',
  '/abcdefgh',
  '/abcdefghi',
  '/é',
  '/éa',
  '/😀/x',
  '/API',
];
const METHODS = ['GET', 'GE', 'GETX', 'POST', 'PUT', 'OPTIONS', 'PROPFIND', 'MKCALENDAR', 'get'];
const HEADER_NAMES = ['x-a', 'x-canary', 'X-Canary', 'accept', 'x-user-id-long'];
const HEADER_VALUES = ['', 'a', 'ab', 'cohort-1', 'cohort-12', 'cohort-1,cohort-2', 'é', 'application/json'];
/** Pieces appended to a literal head to make anchored and unanchored patterns. */
const REGEX_TAILS = ['', '$', '.*', '[0-9]+', '?', '*', '+', '{2}', 'x?', '(?:a|b)', '/.*$', '\\d'];

type StringMatch = { exact?: string; prefix?: string; regex?: string };

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stringMatch(r: Random, values: readonly string[]): StringMatch {
  const value = r.pick(values);
  // Non-empty, so that a quantifier tail always has something to repeat (the patterns stay valid).
  const chars = Array.from(value); // by code point: a lone surrogate is no policy anyone can write
  const cut = chars.slice(0, 1 + r.int(chars.length)).join('');
  switch (r.int(5)) {
    case 0:
      return { exact: value };
    case 1:
      return { prefix: cut };
    case 2:
      return { regex: `^${escapeRegex(cut)}${r.pick(REGEX_TAILS)}` };
    case 3:
      return { regex: `${escapeRegex(cut)}${r.pick(REGEX_TAILS)}` };
    default:
      // Several conditions set: the first non-empty one counts.
      return { exact: r.chance(0.5) ? '' : value, prefix: cut, regex: '^/' };
  }
}

function rule(
  r: Random,
  policyIndex: number,
  ruleIndex: number,
  withHeaders: boolean,
  withMethods: boolean,
): Policy['spec']['rules'][number] {
  const match: Record<string, unknown> = {};
  if (withMethods && r.chance(0.5)) match.method = stringMatch(r, METHODS);
  if (r.chance(0.8)) match.path = stringMatch(r, PATHS);
  if (withHeaders && r.chance(0.35)) {
    match.headers = Array.from({ length: 1 + r.int(2) }, () => ({
      name: r.pick(HEADER_NAMES),
      ...stringMatch(
        r,
        HEADER_VALUES.filter((v) => v !== ''),
      ),
    }));
  }
  // The status names the rule, so the response says which one matched.
  return {
    match,
    fault: { percentage: 100, abort: { httpStatus: 400 + policyIndex * 10 + ruleIndex } },
  } as Policy['spec']['rules'][number];
}

function policies(r: Random, withHeaders: boolean, withMethods: boolean): Policy[] {
  const count = 1 + r.int(12);
  return Array.from({ length: count }, (_, p) => ({
    metadata: { name: `p${String(p).padStart(2, '0')}`, version: '' },
    spec: { rules: Array.from({ length: 1 + r.int(3) }, (_, i) => rule(r, p, i, withHeaders, withMethods)) },
  }));
}

const anyRule = (list: Policy[], test: (match: Record<string, unknown>) => boolean) =>
  list.some((p) => p.spec.rules.some((rule) => test((rule.match ?? {}) as Record<string, unknown>)));

function request(r: Random): { method: string; path: string; headers: [string, string][] } {
  let path = r.pick(PATHS);
  if (r.chance(0.3)) path += `?${r.pick(['', 'a=1', 'x=/api/v1'])}`;
  const headers: [string, string][] = [];
  const n = r.int(4);
  for (let i = 0; i < n; i++) headers.push([r.pick(HEADER_NAMES).toLowerCase(), r.pick(HEADER_VALUES)]);
  return { method: r.pick(METHODS), path, headers };
}

describe('rule matching: plugin.wasm agrees with @hfi/core on random rules around the quick-test edges', () => {
  let cp: CannedControlPlane;
  let t: TestVm;

  beforeAll(async () => {
    cp = await new CannedControlPlane().start();
    t = await startVm({ controlPlane: cp, pluginConfig: { log_level: 'info' }, logLevel: 'info', maxLogRecords: 100 });
  });

  afterAll(async () => {
    await t.close();
    await cp.close();
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: 150 rule sets × 25 requests', async (seed) => {
    const r = new Random(seed * 7919);
    let matched = 0;
    let checked = 0;
    const sets = { withHeaderRules: 0, methodAndPathOnly: 0, pathOnly: 0 };
    for (let set = 0; set < 150; set++) {
      const withHeaders = r.chance(0.5);
      const list = policies(r, withHeaders, withHeaders || r.chance(0.5));
      if (anyRule(list, (m) => Array.isArray(m.headers) && m.headers.length > 0)) sets.withHeaderRules++;
      else if (anyRule(list, (m) => m.method !== undefined)) sets.methodAndPathOnly++;
      else sets.pathOnly++;
      const revision = cp.publish(list);
      await t.waitForLog((m) => m.startsWith(`hfi: applied revision ${revision}:`));
      for (let i = 0; i < 25; i++) {
        const req = request(r);
        const expected = findMatchingRule(list, { workload: 'frontend', namespace: 'demo' }, req);
        const { answer } = answerTo(t.vm, [
          [':method', req.method],
          [':path', req.path],
          [':authority', 'frontend.demo'],
          ...req.headers,
        ]);
        const got = answer === null ? null : { policy: answer.policy, rule: (answer.status - 400) % 10 };
        const want = expected === null ? null : { policy: expected.policy, rule: expected.rule };
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          throw new Error(
            `seed ${seed}, set ${set}: plugin ${JSON.stringify(got)}, core ${JSON.stringify(want)}\n` +
              `request ${JSON.stringify(req)}\npolicies ${JSON.stringify(list)}`,
          );
        }
        checked++;
        if (want !== null) matched++;
      }
    }
    expect(t.vm.trapped).toBe(false);
    expect(checked).toBe(150 * 25);
    expect(sets.withHeaderRules).toBeGreaterThan(30);
    expect(sets.methodAndPathOnly).toBeGreaterThan(15);
    expect(sets.pathOnly).toBeGreaterThan(15);
    // Both outcomes must be well represented, or the comparison says little.
    expect(matched).toBeGreaterThan(checked * 0.15);
    expect(matched).toBeLessThan(checked * 0.9);
  });
});
