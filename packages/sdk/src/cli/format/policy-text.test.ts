import type { Policy, PolicyWithStatus, Rule } from '@hfi/core';
import { parseDurationMs } from '../duration';
import { describePolicy, policyTable, selectorText, summarizeFaults, summarizeMatches } from './policy-text';
import { renderTable } from './table';

const rule = (match: Rule['match'], fault: Partial<Rule['fault']> = {}): Rule => ({
  match,
  fault: { percentage: 100, abort: { httpStatus: 503 }, ...fault },
});

describe('summarizeMatches (the reference table MATCHES cell)', () => {
  it.each<[string, Rule[], string]>([
    ['exact method and path', [rule({ method: { exact: 'GET' }, path: { exact: '/' } })], 'method=GET,path=/'],
    ['path prefix with a star', [rule({ path: { prefix: '/api/' } })], 'path=/api/*'],
    ['path regex with a tilde', [rule({ path: { regex: '^/v[0-9]+/' } })], 'path~^/v[0-9]+/'],
    [
      'header count',
      [
        rule({
          headers: [
            { name: 'a', exact: '1' },
            { name: 'b', prefix: 'x' },
          ],
        }),
      ],
      'headers(2)',
    ],
    [
      'first rule and how many more',
      [rule({ path: { exact: '/a' } }), rule({ path: { exact: '/b' } }), rule({ path: { exact: '/c' } })],
      'path=/a (+2 more)',
    ],
    ['nothing to show', [], 'any'],
    ['method prefix (hfi addition)', [rule({ method: { prefix: 'P' } })], 'method=P*'],
  ])('%s', (_name, rules, expected) => {
    expect(summarizeMatches(rules)).toBe(expected);
  });
});

describe('summarizeFaults (the reference table FAULTS cell)', () => {
  it.each<[string, Rule[], string]>([
    ['delay at 100%', [rule({}, { abort: undefined, delay: { fixed_delay_ms: 1000 } })], 'delay(1000ms)@100%'],
    ['abort at 50%', [rule({}, { percentage: 50 })], 'abort(503)@50%'],
    ['no percentage suffix at 0%', [rule({}, { percentage: 0, abort: { httpStatus: 500 } })], 'abort(500)'],
    [
      'both faults of one rule',
      [rule({}, { percentage: 10, delay: { fixed_delay_ms: 5 } })],
      'delay(5ms)@10% (+1 more)',
    ],
    ['no rules', [], 'none'],
  ])('%s', (_name, rules, expected) => {
    expect(summarizeFaults(rules)).toBe(expected);
  });
});

const abortPolicy: Policy = {
  metadata: { name: 'abort-policy' },
  spec: {
    selector: { service: 'frontend', namespace: 'demo' },
    rules: [rule({ method: { exact: 'GET' }, path: { exact: '/' } })],
  },
};

describe('policyTable', () => {
  it('prints the four reference columns aligned, one row per policy', () => {
    const text = policyTable([
      abortPolicy,
      { metadata: { name: 'p2' }, spec: { rules: [rule({ path: { prefix: '/api/' } }, { percentage: 5 })] } },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines.map((line) => line.split(/ {3,}/))).toEqual([
      ['NAME', 'RULES', 'MATCHES', 'FAULTS'],
      ['abort-policy', '1', 'method=GET,path=/', 'abort(503)@100%'],
      ['p2', '1', 'path=/api/*', 'abort(503)@5%'],
    ]);
    expect(lines[1]?.indexOf('1')).toBe(lines[0]?.indexOf('RULES'));
  });

  it('prints the reference sentence for an empty list', () => {
    expect(policyTable([])).toBe('No fault injection policies found.\n');
  });
});

describe('selectorText', () => {
  it.each([
    [undefined, 'any'],
    [{ service: '*', namespace: '*' }, 'any'],
    [{ service: '*', namespace: 'demo' }, 'service=* namespace=demo'],
    [{ service: 'frontend', namespace: 'demo' }, 'service=frontend namespace=demo'],
  ])('%j → %s', (selector, expected) => {
    expect(selectorText(selector)).toBe(expected);
  });
});

describe('describePolicy', () => {
  it("prints the reference's detail lines plus selector and status", () => {
    const policy: PolicyWithStatus = {
      metadata: { name: 'timed' },
      spec: {
        selector: { service: 'frontend', namespace: 'demo' },
        rules: [
          {
            match: { method: { exact: 'POST' }, path: { prefix: '/api/' }, headers: [{ name: 'x-user', exact: 't' }] },
            fault: { percentage: 20, start_delay_ms: 500, duration_seconds: 60, delay: { fixed_delay_ms: 2000 } },
          },
        ],
      },
      status: {
        revision: 7,
        updated_at: '2030-01-01T00:00:00.000Z',
        rules: [{ active: true, expires_at: '2030-01-01T00:01:00.000Z', remaining_ms: 59_000 }],
      },
    };
    expect(describePolicy(policy).split('\n')).toEqual([
      'Name: timed',
      'Selector: service=frontend namespace=demo',
      'Revision: 7',
      'Updated: 2030-01-01T00:00:00.000Z',
      'Total Rules: 1',
      '',
      'Rule 1:',
      '  Match Conditions:',
      '    Method:',
      '      Exact: POST',
      '    Path:',
      '      Prefix: /api/',
      '    Headers:',
      '      x-user:',
      '        Exact: t',
      '  Fault Actions:',
      '    Percentage: 20%',
      '    Start Delay: 500 ms',
      '    Duration: 60 seconds',
      '    Delay: 2000 ms',
      '  Status: active (expires 2030-01-01T00:01:00.000Z, 59s left)',
      '',
      '',
    ]);
  });

  it('prints the abort status and zero defaults for absent timing fields', () => {
    const text = describePolicy(abortPolicy);
    expect(text).toContain('    Start Delay: 0 ms\n    Duration: 0 seconds\n    Abort HTTP Status: 503\n');
    expect(text).not.toContain('Status: active');
  });
});

describe('renderTable', () => {
  it('pads every column but the last and leaves no trailing spaces', () => {
    expect(renderTable(['A', 'LONG'], [['xxxx', 'y']])).toBe('A      LONG\nxxxx   y\n');
  });
});

describe('parseDurationMs (Go-style --timeout)', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['2h', 7_200_000],
    ['0', 0],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['30', 's', '5x', '1s2', '', '-1s'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});
