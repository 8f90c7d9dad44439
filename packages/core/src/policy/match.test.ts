import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { findMatchingRule, type RequestInfo, ruleMatches, selectorMatches, type WorkloadIdentity } from './match';
import type { Policy, PolicyWithStatus } from './types';
import { validatePolicy } from './validate';

interface MatchVector {
  name: string;
  policies: (Policy | PolicyWithStatus)[];
  identity: WorkloadIdentity;
  request: RequestInfo;
  expect: { policy: string | null; rule?: number } | null;
}

const PACKAGES = path.resolve(__dirname, '../../..');
const CORE_VECTORS = path.join(PACKAGES, 'core/test-vectors/match.json');
const FILTER_VECTORS = path.join(PACKAGES, 'filter/test-vectors/match.json');

const load = (file: string): MatchVector[] => JSON.parse(readFileSync(file, 'utf8'));
const expected = (v: MatchVector) =>
  v.expect === null || v.expect.policy === null || v.expect.policy === undefined
    ? null
    : { policy: v.expect.policy, rule: v.expect.rule ?? 0 };

describe('match vectors: packages/core/test-vectors/match.json', () => {
  const vectors = load(CORE_VECTORS);

  it('has vectors with unique names', () => {
    expect(vectors.length).toBeGreaterThan(40);
    expect(new Set(vectors.map((v) => v.name)).size).toBe(vectors.length);
  });

  it('holds only valid policies (so the filter can run them unchanged)', () => {
    for (const v of vectors) {
      for (const p of v.policies) {
        const result = validatePolicy(p);
        expect({ vector: v.name, issues: result.ok ? [] : result.issues }).toEqual({ vector: v.name, issues: [] });
      }
    }
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(findMatchingRule(v.policies, v.identity, v.request)).toEqual(expected(v));
  });
});

// The filter helper owns this file; until it exists there is nothing to agree with.
const filterVectors = existsSync(FILTER_VECTORS) ? load(FILTER_VECTORS) : [];
if (filterVectors.length === 0) {
  console.info(`[hfi core] ${path.relative(PACKAGES, FILTER_VECTORS)} not found: skipping the filter's match vectors`);
}
(filterVectors.length > 0 ? describe : describe.skip)('match vectors: packages/filter/test-vectors/match.json', () => {
  it.each(filterVectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(findMatchingRule(v.policies, v.identity, v.request)).toEqual(expected(v));
  });
});

describe('selectorMatches', () => {
  const id: WorkloadIdentity = { workload: 'checkout-v2', namespace: 'shop', labels: { app: 'checkout' } };
  it.each([
    [undefined, true],
    [{}, true],
    [{ service: '', namespace: '' }, true],
    [{ service: '*', namespace: '*' }, true],
    [{ service: 'checkout-v2' }, true],
    [{ service: 'checkout' }, true],
    [{ service: 'checkout', namespace: 'shop' }, true],
    [{ service: 'checkout', namespace: 'other' }, false],
    [{ service: 'cart' }, false],
    [{ namespace: 'shop' }, true],
    [{ namespace: 'Shop' }, false],
  ])('%j → %s', (selector, result) => {
    expect(selectorMatches(selector, id)).toBe(result);
  });

  it('matches app.kubernetes.io/name and tolerates missing labels', () => {
    const k8s = { workload: 'w', namespace: 'n', labels: { 'app.kubernetes.io/name': 'shop-ui' } };
    expect(selectorMatches({ service: 'shop-ui' }, k8s)).toBe(true);
    expect(selectorMatches({ service: 'shop-ui' }, { workload: 'w', namespace: 'n' })).toBe(false);
  });
});

describe('findMatchingRule', () => {
  const id: WorkloadIdentity = { workload: 'frontend', namespace: 'demo' };
  const request: RequestInfo = { method: 'GET', path: '/api/items?page=2', headers: [['X-Env', 'test']] };
  const policy = (name: string, path: string): PolicyWithStatus => ({
    metadata: { name, version: '' },
    spec: { rules: [{ match: { path: { prefix: path } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }] },
    status: {
      revision: 1,
      updated_at: '2025-01-01T00:00:00.000Z',
      rules: [{ active: true, expires_at: '2025-01-01T00:01:00.000Z', remaining_ms: 60000 }],
    },
  });

  it('does not depend on the order it is given', () => {
    const a = policy('a-first', '/api/');
    const b = policy('b-second', '/');
    expect(findMatchingRule([b, a], id, request)).toEqual({ policy: 'a-first', rule: 0 });
    expect(findMatchingRule([a, b], id, request)).toEqual({ policy: 'a-first', rule: 0 });
  });

  it('skips a rule whose expires_at is at or before nowMs, when nowMs is given', () => {
    const p = policy('timed', '/');
    const deadline = Date.parse('2025-01-01T00:01:00.000Z');
    expect(findMatchingRule([p], id, request)).toEqual({ policy: 'timed', rule: 0 });
    expect(findMatchingRule([p], id, request, deadline - 1)).toEqual({ policy: 'timed', rule: 0 });
    expect(findMatchingRule([p], id, request, deadline)).toBeNull();
  });

  it('never matches a regex outside the dialect (unvalidated input)', () => {
    const rule = { match: { path: { regex: '(?=x)' } }, fault: { percentage: 100, abort: { httpStatus: 503 } } };
    expect(ruleMatches(rule, { method: 'GET', path: '/x', headers: [] })).toBe(false);
  });

  it('uses exact before prefix before regex when several are set (unvalidated input)', () => {
    const rule = {
      match: { path: { exact: '/a', prefix: '/', regex: '.' } },
      fault: { percentage: 100, abort: { httpStatus: 503 } },
    };
    expect(ruleMatches(rule, { method: 'GET', path: '/b', headers: [] })).toBe(false);
    expect(ruleMatches(rule, { method: 'GET', path: '/a', headers: [] })).toBe(true);
  });
});
