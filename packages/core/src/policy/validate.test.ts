import { HfiError } from '../errors';
import type { Policy } from './types';
import { assertValidPolicy, formatIssue, MAX_ISSUES, type ValidationIssue, validatePolicy } from './validate';

/** A valid policy in canonical form; tests change one thing at a time. */
function base(): Policy {
  return {
    metadata: { name: 'checkout-abort', version: '' },
    spec: {
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [
        {
          match: { method: { exact: 'GET' }, path: { prefix: '/api/' } },
          fault: { percentage: 50, abort: { httpStatus: 503 } },
        },
      ],
    },
  };
}

type Mutable = Record<string, unknown>;
/** base() as a loose object, changed by `edit`. */
function edited(edit: (p: Mutable & { spec: Mutable & { rules: Mutable[] } }) => void): unknown {
  const p = JSON.parse(JSON.stringify(base()));
  edit(p);
  return p;
}
const rule0 = (p: { spec: { rules: Mutable[] } }) => p.spec.rules[0] as Mutable & { match: Mutable; fault: Mutable };

function issuesOf(input: unknown, options?: { maxDelayMs?: number }): ValidationIssue[] {
  const result = validatePolicy(input, options);
  if (result.ok) throw new Error(`expected issues, got a valid policy: ${JSON.stringify(result.policy)}`);
  return result.issues;
}

describe('validatePolicy: a valid policy', () => {
  it('accepts the canonical policy and returns it unchanged', () => {
    const result = validatePolicy(base());
    expect(result).toEqual({ ok: true, policy: base() });
  });

  it('normalises: version "" added, zero start/duration dropped, apiVersion/kind/status dropped', () => {
    const input = edited((p) => {
      p.apiVersion = 'hfi.dev/v1';
      p.kind = 'FaultInjectionPolicy';
      p.status = { revision: 4, updated_at: '2025-01-01T00:00:00Z', rules: [{ active: true }] };
      delete (p.metadata as Mutable).version;
      Object.assign(rule0(p).fault, { start_delay_ms: 0, duration_seconds: 0 });
    });
    expect(validatePolicy(input)).toEqual({ ok: true, policy: base() });
  });

  it('normalises key order to the reference serialisation', () => {
    const input = {
      spec: {
        rules: [
          {
            fault: { abort: { httpStatus: 503 }, duration_seconds: 60, percentage: 5, start_delay_ms: 10 },
            match: { headers: [{ exact: 'a', name: 'x-a' }], path: { prefix: '/' }, method: { exact: 'GET' } },
          },
        ],
        selector: { namespace: 'demo', service: 'frontend' },
      },
      metadata: { version: '1.0.0', name: 'ordered' },
    };
    const result = validatePolicy(input);
    expect(result.ok).toBe(true);
    expect(JSON.stringify(result.ok && result.policy)).toBe(
      JSON.stringify({
        metadata: { name: 'ordered', version: '1.0.0' },
        spec: {
          selector: { service: 'frontend', namespace: 'demo' },
          rules: [
            {
              match: { method: { exact: 'GET' }, path: { prefix: '/' }, headers: [{ name: 'x-a', exact: 'a' }] },
              fault: { percentage: 5, start_delay_ms: 10, duration_seconds: 60, abort: { httpStatus: 503 } },
            },
          ],
        },
      }),
    );
  });

  it('treats null as absent and drops empty strings, as the reference decoder and serialiser do', () => {
    const input = edited((p) => {
      (p.metadata as Mutable).version = null;
      p.spec.selector = { service: '', namespace: 'demo' };
      Object.assign(rule0(p).match, {
        method: { exact: 'GET', prefix: '' },
        headers: [{ name: 'x-canary', exact: '' }],
      });
      rule0(p).fault.delay = null;
    });
    const result = validatePolicy(input);
    expect(result.ok && result.policy).toEqual({
      metadata: { name: 'checkout-abort', version: '' },
      spec: {
        selector: { namespace: 'demo' },
        rules: [
          {
            match: { method: { exact: 'GET' }, path: { prefix: '/api/' }, headers: [{ name: 'x-canary' }] },
            fault: { percentage: 50, abort: { httpStatus: 503 } },
          },
        ],
      },
    });
  });

  it('defaults a missing percentage to 0 (the reference decodes it so) and keeps fractions', () => {
    const noPct = edited((p) => {
      delete rule0(p).fault.percentage;
    });
    const r1 = validatePolicy(noPct);
    expect(r1.ok && r1.policy.spec.rules[0].fault.percentage).toBe(0);
    const fraction = edited((p) => {
      rule0(p).fault.percentage = 0.1;
    });
    const r2 = validatePolicy(fraction);
    expect(r2.ok && r2.policy.spec.rules[0].fault.percentage).toBe(0.1);
  });

  it('accepts the limits exactly: 100 rules, 32 headers, 30000 ms, a year, status 200 and 599, 64 KiB body', () => {
    const input = edited((p) => {
      const r = rule0(p);
      r.match.headers = Array.from({ length: 32 }, (_, i) => ({ name: `x-h${i}` }));
      r.fault = {
        percentage: 100,
        start_delay_ms: 30000,
        duration_seconds: 31536000,
        delay: { fixed_delay_ms: 30000 },
        abort: { httpStatus: 599, body: 'x'.repeat(65536) },
      };
      p.spec.rules = Array.from({ length: 100 }, () => JSON.parse(JSON.stringify(r)));
      (p.spec.rules[1].fault as Mutable).abort = { httpStatus: 200 };
      (p.metadata as Mutable).name = 'a'.repeat(63);
    });
    expect(validatePolicy(input).ok).toBe(true);
  });

  it('lets maxDelayMs raise or lower the delay bound', () => {
    const input = edited((p) => {
      rule0(p).fault.delay = { fixed_delay_ms: 45000 };
    });
    expect(validatePolicy(input, { maxDelayMs: 60000 }).ok).toBe(true);
    expect(issuesOf(input, { maxDelayMs: 1000 })).toContainEqual({
      field: 'spec.rules[0].fault.delay.fixed_delay_ms',
      message: "fixed_delay_ms must be at most 1000 ms (the control plane's maximum delay)",
    });
  });
});

describe('validatePolicy: the reference checks, with their field paths and messages', () => {
  const cases: [string, unknown, ValidationIssue][] = [
    [
      'missing name',
      edited((p) => {
        p.metadata = {};
      }),
      { field: 'metadata.name', message: 'policy name is required' },
    ],
    [
      'empty name',
      edited((p) => {
        (p.metadata as Mutable).name = '';
      }),
      { field: 'metadata.name', message: 'policy name is required' },
    ],
    [
      'no metadata at all',
      edited((p) => {
        delete p.metadata;
      }),
      { field: 'metadata.name', message: 'policy name is required' },
    ],
    [
      'empty rules',
      edited((p) => {
        p.spec.rules = [];
      }),
      { field: 'spec.rules', message: 'at least one rule is required' },
    ],
    [
      'missing spec',
      edited((p) => {
        delete (p as Mutable).spec;
      }),
      { field: 'spec.rules', message: 'at least one rule is required' },
    ],
    [
      'empty match',
      edited((p) => {
        rule0(p).match = {};
      }),
      { field: 'spec.rules[0].match', message: 'at least one match condition is required' },
    ],
    [
      'match with only empty strings',
      edited((p) => {
        rule0(p).match = { method: { exact: '' }, path: { prefix: '' }, headers: [] };
      }),
      { field: 'spec.rules[0].match', message: 'at least one match condition is required' },
    ],
    [
      'no fault action',
      edited((p) => {
        rule0(p).fault = { percentage: 50 };
      }),
      { field: 'spec.rules[0].fault', message: 'at least one fault action is required' },
    ],
    [
      'zero delay and no abort',
      edited((p) => {
        rule0(p).fault = { percentage: 50, delay: { fixed_delay_ms: 0 } };
      }),
      { field: 'spec.rules[0].fault', message: 'at least one fault action is required' },
    ],
    [
      'percentage above 100',
      edited((p) => {
        rule0(p).fault.percentage = 101;
      }),
      { field: 'spec.rules[0].fault.percentage', message: 'percentage must be between 0 and 100' },
    ],
    [
      'negative percentage',
      edited((p) => {
        rule0(p).fault.percentage = -0.5;
      }),
      { field: 'spec.rules[0].fault.percentage', message: 'percentage must be between 0 and 100' },
    ],
    [
      'negative start_delay_ms',
      edited((p) => {
        rule0(p).fault.start_delay_ms = -1;
      }),
      { field: 'spec.rules[0].fault.start_delay_ms', message: 'start_delay_ms must be non-negative (>= 0)' },
    ],
    [
      'negative duration_seconds',
      edited((p) => {
        rule0(p).fault.duration_seconds = -5;
      }),
      { field: 'spec.rules[0].fault.duration_seconds', message: 'duration_seconds must be non-negative (>= 0)' },
    ],
  ];

  it.each(cases)('%s', (_label, input, expected) => {
    const issues = issuesOf(input);
    expect(issues[0]).toEqual(expected);
    expect(() => assertValidPolicy(input)).toThrow(formatIssue(expected));
  });

  it('reports the checks in the reference order, the first failing one first', () => {
    const input = {
      metadata: {},
      spec: {
        rules: [
          { match: {}, fault: { percentage: 200, start_delay_ms: -1, duration_seconds: -1 } },
          { match: { path: { exact: '/' } }, fault: { percentage: -1, abort: { httpStatus: 500 } } },
        ],
      },
    };
    expect(issuesOf(input)).toEqual([
      { field: 'metadata.name', message: 'policy name is required' },
      { field: 'spec.rules[0].match', message: 'at least one match condition is required' },
      { field: 'spec.rules[0].fault', message: 'at least one fault action is required' },
      { field: 'spec.rules[0].fault.percentage', message: 'percentage must be between 0 and 100' },
      { field: 'spec.rules[0].fault.start_delay_ms', message: 'start_delay_ms must be non-negative (>= 0)' },
      { field: 'spec.rules[0].fault.duration_seconds', message: 'duration_seconds must be non-negative (>= 0)' },
      { field: 'spec.rules[1].fault.percentage', message: 'percentage must be between 0 and 100' },
    ]);
  });

  it('puts the reference issue before hfi-only issues found earlier in the document', () => {
    const input = edited((p) => {
      p.extra = 1;
      (p.metadata as Mutable).name = 'x';
      rule0(p).fault.percentage = 150;
    });
    expect(issuesOf(input)).toEqual([
      { field: 'spec.rules[0].fault.percentage', message: 'percentage must be between 0 and 100' },
      { field: 'extra', message: 'unknown field "extra"' },
      { field: 'metadata.name', message: 'name must be 3 to 63 characters long (got 1)' },
    ]);
  });

  it('assertValidPolicy throws HfiError HFI_ERR_POLICY_INVALID with field and every issue', () => {
    const input = edited((p) => {
      p.metadata = {};
      rule0(p).fault.percentage = 101;
    });
    let thrown: unknown;
    try {
      assertValidPolicy(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HfiError);
    const error = thrown as HfiError;
    expect(error.code).toBe('HFI_ERR_POLICY_INVALID');
    expect(error.statusCode).toBe(400);
    expect(error.message).toBe('metadata.name: policy name is required');
    expect(error.field).toBe('metadata.name');
    expect(error.details.issues).toEqual([
      { field: 'metadata.name', message: 'policy name is required' },
      { field: 'spec.rules[0].fault.percentage', message: 'percentage must be between 0 and 100' },
    ]);
  });

  it('assertValidPolicy returns the normalised policy', () => {
    const input = edited((p) => {
      delete (p.metadata as Mutable).version;
    });
    expect(assertValidPolicy(input)).toEqual(base());
  });
});

describe('validatePolicy: types', () => {
  const cases: [string, (p: Mutable & { spec: Mutable & { rules: Mutable[] } }) => void, ValidationIssue][] = [
    [
      'name a number',
      (p) => ((p.metadata as Mutable).name = 42),
      { field: 'metadata.name', message: 'must be a string' },
    ],
    ['metadata a string', (p) => (p.metadata = 'x'), { field: 'metadata', message: 'must be an object' }],
    [
      'version a number',
      (p) => ((p.metadata as Mutable).version = 1),
      { field: 'metadata.version', message: 'must be a string' },
    ],
    ['spec an array', (p) => ((p as Mutable).spec = []), { field: 'spec', message: 'must be an object' }],
    ['rules an object', (p) => (p.spec.rules = {} as never), { field: 'spec.rules', message: 'must be an array' }],
    ['rule a string', (p) => (p.spec.rules = ['x'] as never), { field: 'spec.rules[0]', message: 'must be an object' }],
    ['selector a string', (p) => (p.spec.selector = '*'), { field: 'spec.selector', message: 'must be an object' }],
    [
      'selector.service a number',
      (p) => (p.spec.selector = { service: 1 }),
      { field: 'spec.selector.service', message: 'must be a string' },
    ],
    [
      'selector.namespace a list',
      (p) => (p.spec.selector = { namespace: ['a'] }),
      { field: 'spec.selector.namespace', message: 'must be a string' },
    ],
    [
      'match a list',
      (p) => ((rule0(p) as Mutable).match = []),
      { field: 'spec.rules[0].match', message: 'must be an object' },
    ],
    [
      'method a string',
      (p) => (rule0(p).match.method = 'GET'),
      { field: 'spec.rules[0].match.method', message: 'must be an object' },
    ],
    [
      'path.exact a number',
      (p) => (rule0(p).match.path = { exact: 1 }),
      { field: 'spec.rules[0].match.path.exact', message: 'must be a string' },
    ],
    [
      'headers an object',
      (p) => (rule0(p).match.headers = { name: 'x' }),
      { field: 'spec.rules[0].match.headers', message: 'must be an array' },
    ],
    [
      'header a string',
      (p) => (rule0(p).match.headers = ['x-a']),
      { field: 'spec.rules[0].match.headers[0]', message: 'must be an object' },
    ],
    [
      'header value a boolean',
      (p) => (rule0(p).match.headers = [{ name: 'x', exact: true }]),
      { field: 'spec.rules[0].match.headers[0].exact', message: 'must be a string' },
    ],
    [
      'fault a number',
      (p) => ((rule0(p) as Mutable).fault = 5),
      { field: 'spec.rules[0].fault', message: 'must be an object' },
    ],
    [
      'percentage a string',
      (p) => (rule0(p).fault.percentage = '50'),
      { field: 'spec.rules[0].fault.percentage', message: 'must be a number' },
    ],
    [
      'percentage NaN',
      (p) => (rule0(p).fault.percentage = Number.NaN),
      { field: 'spec.rules[0].fault.percentage', message: 'must be a finite number' },
    ],
    [
      'percentage Infinity',
      (p) => (rule0(p).fault.percentage = Number.POSITIVE_INFINITY),
      { field: 'spec.rules[0].fault.percentage', message: 'percentage must be between 0 and 100' },
    ],
    [
      'start_delay_ms a fraction',
      (p) => (rule0(p).fault.start_delay_ms = 1.5),
      { field: 'spec.rules[0].fault.start_delay_ms', message: 'must be an integer' },
    ],
    [
      'duration_seconds a string',
      (p) => (rule0(p).fault.duration_seconds = '60'),
      { field: 'spec.rules[0].fault.duration_seconds', message: 'must be a number' },
    ],
    [
      'delay a number',
      (p) => (rule0(p).fault.delay = 500),
      { field: 'spec.rules[0].fault.delay', message: 'must be an object' },
    ],
    [
      'fixed_delay_ms a string',
      (p) => (rule0(p).fault.delay = { fixed_delay_ms: '500' }),
      { field: 'spec.rules[0].fault.delay.fixed_delay_ms', message: 'must be a number' },
    ],
    [
      'fixed_delay_ms a fraction',
      (p) => (rule0(p).fault.delay = { fixed_delay_ms: 2.5 }),
      { field: 'spec.rules[0].fault.delay.fixed_delay_ms', message: 'must be an integer' },
    ],
    [
      'abort a boolean',
      (p) => (rule0(p).fault.abort = true),
      { field: 'spec.rules[0].fault.abort', message: 'must be an object' },
    ],
    [
      'httpStatus a string',
      (p) => (rule0(p).fault.abort = { httpStatus: '503' }),
      { field: 'spec.rules[0].fault.abort.httpStatus', message: 'must be a number' },
    ],
    [
      'httpStatus a fraction',
      (p) => (rule0(p).fault.abort = { httpStatus: 503.5 }),
      { field: 'spec.rules[0].fault.abort.httpStatus', message: 'must be an integer' },
    ],
    [
      'body a number',
      (p) => (rule0(p).fault.abort = { httpStatus: 503, body: 1 }),
      { field: 'spec.rules[0].fault.abort.body', message: 'must be a string' },
    ],
  ];

  it.each(cases)('%s', (_label, edit, expected) => {
    expect(issuesOf(edited(edit))).toContainEqual(expected);
  });

  it.each([
    ['a string', 'policy'],
    ['an array', []],
    ['null', null],
    ['a number', 7],
  ])('rejects a document that is %s', (_label, input) => {
    expect(issuesOf(input)).toEqual([{ field: 'policy', message: 'must be an object' }]);
  });
});

describe('validatePolicy: unknown fields', () => {
  it.each([
    ['top level', (p: Mutable) => (p.priority = 1), 'priority', 'unknown field "priority"'],
    ['metadata', (p: Mutable) => ((p.metadata as Mutable).labels = {}), 'metadata.labels', 'unknown field "labels"'],
    ['spec', (p: Mutable) => ((p.spec as Mutable).enabled = true), 'spec.enabled', 'unknown field "enabled"'],
    [
      'selector',
      (p: Mutable) => ((p.spec as Mutable).selector = { app: 'x' }),
      'spec.selector.app',
      'unknown field "app"',
    ],
    ['rule', (p: Mutable) => (rule0(p as never).name = 'r'), 'spec.rules[0].name', 'unknown field "name"'],
    [
      'match',
      (p: Mutable) => (rule0(p as never).match.query = {}),
      'spec.rules[0].match.query',
      'unknown field "query"',
    ],
    [
      'matcher',
      (p: Mutable) => (rule0(p as never).match.path = { suffix: '/x' }),
      'spec.rules[0].match.path.suffix',
      'unknown field "suffix"',
    ],
    [
      'header',
      (p: Mutable) => (rule0(p as never).match.headers = [{ name: 'a', present: true }]),
      'spec.rules[0].match.headers[0].present',
      'unknown field "present"',
    ],
    [
      'fault',
      (p: Mutable) => (rule0(p as never).fault.probability = 5),
      'spec.rules[0].fault.probability',
      'unknown field "probability"',
    ],
    [
      'abort',
      (p: Mutable) => (rule0(p as never).fault.abort = { httpStatus: 503, grpcStatus: 14 }),
      'spec.rules[0].fault.abort.grpcStatus',
      'unknown field "grpcStatus"',
    ],
    ['odd key', (p: Mutable) => (p['a.b'] = 1), 'policy["a.b"]', 'unknown field "a.b"'],
  ])('in %s', (_label, edit, field, message) => {
    expect(issuesOf(edited(edit as never))).toContainEqual({ field, message });
  });

  it('suggests the field a misspelt key was meant to be', () => {
    const input = edited((p) => {
      rule0(p).fault = { percentage: 10, abort: { http_status: 503, httpStatus: 503 }, duration_second: 5 };
      (p.metadata as Mutable).versoin = '1';
    });
    const issues = issuesOf(input);
    expect(issues).toContainEqual({
      field: 'spec.rules[0].fault.abort.http_status',
      message: 'unknown field "http_status" (did you mean "httpStatus"?)',
    });
    expect(issues).toContainEqual({
      field: 'spec.rules[0].fault.duration_second',
      message: 'unknown field "duration_second" (did you mean "duration_seconds"?)',
    });
    expect(issues).toContainEqual({
      field: 'metadata.versoin',
      message: 'unknown field "versoin" (did you mean "version"?)',
    });
  });

  it('does not treat an inherited property as a field', () => {
    const input = Object.assign(Object.create({ extra: 1, spec: {} }), base());
    expect(validatePolicy(input).ok).toBe(true);
  });
});

describe('validatePolicy: the removed string delay', () => {
  it.each([
    ['2000ms', 2000],
    ['2s', 2000],
    [' 1M ', 60000],
    ['750', 750],
  ])('"%s" is rejected with a message naming fixed_delay_ms: %d', (value, ms) => {
    const input = edited((p) => {
      rule0(p).fault = { percentage: 20, delay: { fixed_delay: value } };
    });
    const issues = issuesOf(input);
    expect(issues[0]).toEqual({
      field: 'spec.rules[0].fault.delay.fixed_delay',
      message: `the string form ${JSON.stringify(value)} was replaced by fixed_delay_ms (integer milliseconds), e.g. fixed_delay_ms: ${ms}`,
    });
    expect(issues[1]).toEqual({ field: 'spec.rules[0].fault', message: 'at least one fault action is required' });
  });

  it('names fixed_delay_ms for a non-string old value too, even next to an abort', () => {
    const input = edited((p) => {
      rule0(p).fault = { percentage: 20, delay: { fixed_delay: 300 }, abort: { httpStatus: 503 } };
    });
    expect(issuesOf(input)).toEqual([
      {
        field: 'spec.rules[0].fault.delay.fixed_delay',
        message: 'fixed_delay was replaced by fixed_delay_ms (integer milliseconds), e.g. fixed_delay_ms: 300',
      },
    ]);
  });
});

describe('validatePolicy: names', () => {
  it.each([
    ['ab', 'name must be 3 to 63 characters long (got 2)'],
    ['a'.repeat(64), 'name must be 3 to 63 characters long (got 64)'],
    ['team/policy', 'name may contain only letters, digits, "_" and "-" (found "/")'],
    ['..', 'name must be 3 to 63 characters long (got 2)'],
    ['...', 'name may contain only letters, digits, "_" and "-" (found ".")'],
    ['has space', 'name may contain only letters, digits, "_" and "-" (found " ")'],
    ['-leading', 'name must not start or end with "-"'],
    ['trailing-', 'name must not start or end with "-"'],
    ['ünïcode', 'name may contain only letters, digits, "_" and "-" (found "ü")'],
  ])('rejects %j', (name, message) => {
    const input = edited((p) => {
      (p.metadata as Mutable).name = name;
    });
    expect(issuesOf(input)).toContainEqual({ field: 'metadata.name', message });
  });

  it.each(['abc', 'A_b-9', '_x_', 'status', '123'])('accepts %j', (name) => {
    const input = edited((p) => {
      (p.metadata as Mutable).name = name;
    });
    expect(validatePolicy(input).ok).toBe(true);
  });
});

describe('validatePolicy: ranges and limits', () => {
  const f = 'spec.rules[0].fault';
  const cases: [string, (p: Mutable & { spec: Mutable & { rules: Mutable[] } }) => void, ValidationIssue][] = [
    [
      'fixed_delay_ms past the maximum',
      (p) => (rule0(p).fault.delay = { fixed_delay_ms: 30001 }),
      {
        field: `${f}.delay.fixed_delay_ms`,
        message: "fixed_delay_ms must be at most 30000 ms (the control plane's maximum delay)",
      },
    ],
    [
      'negative fixed_delay_ms next to an abort',
      (p) => (rule0(p).fault.delay = { fixed_delay_ms: -5 }),
      { field: `${f}.delay.fixed_delay_ms`, message: 'fixed_delay_ms must be non-negative (>= 0)' },
    ],
    [
      'delay without fixed_delay_ms',
      (p) => (rule0(p).fault.delay = {}),
      { field: `${f}.delay.fixed_delay_ms`, message: 'fixed_delay_ms is required when delay is set' },
    ],
    [
      'start_delay_ms past the maximum',
      (p) => (rule0(p).fault.start_delay_ms = 30001),
      {
        field: `${f}.start_delay_ms`,
        message: "start_delay_ms must be at most 30000 ms (the control plane's maximum delay)",
      },
    ],
    [
      'duration_seconds past a year',
      (p) => (rule0(p).fault.duration_seconds = 31536001),
      { field: `${f}.duration_seconds`, message: 'duration_seconds must be at most 31536000 (one year)' },
    ],
    [
      'httpStatus 199',
      (p) => (rule0(p).fault.abort = { httpStatus: 199 }),
      { field: `${f}.abort.httpStatus`, message: 'httpStatus must be between 200 and 599' },
    ],
    [
      'httpStatus 600',
      (p) => (rule0(p).fault.abort = { httpStatus: 600 }),
      { field: `${f}.abort.httpStatus`, message: 'httpStatus must be between 200 and 599' },
    ],
    [
      'httpStatus 0 next to a delay',
      (p) => (rule0(p).fault = { percentage: 1, delay: { fixed_delay_ms: 5 }, abort: { httpStatus: 0 } }),
      { field: `${f}.abort.httpStatus`, message: 'httpStatus must be between 200 and 599' },
    ],
    [
      'abort without httpStatus next to a delay',
      (p) => (rule0(p).fault = { percentage: 1, delay: { fixed_delay_ms: 5 }, abort: {} }),
      { field: `${f}.abort.httpStatus`, message: 'httpStatus is required when abort is set' },
    ],
    [
      'body over 64 KiB (in UTF-8 bytes)',
      (p) => (rule0(p).fault.abort = { httpStatus: 503, body: 'é'.repeat(32769) }),
      { field: `${f}.abort.body`, message: 'body must be at most 64 KiB (65536 bytes of UTF-8)' },
    ],
    [
      '101 rules',
      (p) => (p.spec.rules = Array.from({ length: 101 }, () => rule0(p))),
      { field: 'spec.rules', message: 'at most 100 rules are allowed (got 101)' },
    ],
    [
      '33 headers',
      (p) => (rule0(p).match.headers = Array.from({ length: 33 }, (_, i) => ({ name: `x-${i}` }))),
      { field: 'spec.rules[0].match.headers', message: 'at most 32 header matchers are allowed per rule (got 33)' },
    ],
    [
      'a 4097-character prefix',
      (p) => (rule0(p).match.path = { prefix: `/${'a'.repeat(4096)}` }),
      { field: 'spec.rules[0].match.path.prefix', message: 'must be at most 4096 characters (got 4097)' },
    ],
    [
      'a 4097-character version',
      (p) => ((p.metadata as Mutable).version = 'v'.repeat(4097)),
      { field: 'metadata.version', message: 'must be at most 4096 characters (got 4097)' },
    ],
    [
      'a 4097-character selector service',
      (p) => (p.spec.selector = { service: 's'.repeat(4097) }),
      { field: 'spec.selector.service', message: 'must be at most 4096 characters (got 4097)' },
    ],
  ];

  it.each(cases)('%s', (_label, edit, expected) => {
    expect(issuesOf(edited(edit))).toContainEqual(expected);
  });

  it('counts string length in code points', () => {
    const input = edited((p) => {
      rule0(p).match.path = { prefix: '😀'.repeat(4096) };
    });
    expect(validatePolicy(input).ok).toBe(true);
  });

  it('caps the issue list', () => {
    const input = edited((p) => {
      p.spec.rules = Array.from({ length: 300 }, () => ({ match: {}, fault: {} }));
    });
    expect(issuesOf(input)).toHaveLength(MAX_ISSUES);
  });
});

describe('validatePolicy: matchers', () => {
  const m = 'spec.rules[0].match';
  it.each([
    ['path exact and prefix', { path: { exact: '/', prefix: '/a' } }, `${m}.path`],
    ['method prefix and regex', { method: { prefix: 'G', regex: 'G' }, path: { exact: '/' } }, `${m}.method`],
    ['header exact and regex', { headers: [{ name: 'x', exact: 'a', regex: 'a' }] }, `${m}.headers[0]`],
  ])('%s: only one condition', (_label, match, field) => {
    const input = edited((p) => {
      rule0(p).match = match;
    });
    expect(issuesOf(input)).toContainEqual({ field, message: 'only one of exact, prefix, regex may be set' });
  });

  it('a method or path matcher must set one condition', () => {
    const input = edited((p) => {
      rule0(p).match = { method: {}, path: { exact: '/' } };
    });
    expect(issuesOf(input)).toEqual([
      { field: `${m}.method`, message: 'one of exact, prefix, regex must be set (to a non-empty string)' },
    ]);
  });

  it.each([
    ['', 'header name is required'],
    [undefined, 'header name is required'],
    ['x user', `must be an HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only), got "x user"`],
    ['x:y', `must be an HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only), got "x:y"`],
    ['ünï', `must be an HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only), got "ünï"`],
  ])('header name %j: %s', (name, message) => {
    const input = edited((p) => {
      rule0(p).match.headers = [{ name, exact: 'v' }];
    });
    expect(issuesOf(input)).toContainEqual({ field: `${m}.headers[0].name`, message });
  });

  it.each(['x-user-id', 'X-Custom_Header', ':authority', "!#$%&'*+-.^_`|~"])('accepts header name %j', (name) => {
    const input = edited((p) => {
      rule0(p).match.headers = [{ name }];
    });
    expect(validatePolicy(input).ok).toBe(true);
  });

  it.each([
    [
      'method',
      { method: { regex: '(?i)get' }, path: { exact: '/' } },
      `${m}.method.regex`,
      'inline flags "(?i)" at offset 0 is not supported',
    ],
    ['path', { path: { regex: '^/a(?=b)' } }, `${m}.path.regex`, 'lookahead "(?=" at offset 3 is not supported'],
    [
      'header',
      { headers: [{ name: 'x', regex: '(a)\\1' }] },
      `${m}.headers[0].regex`,
      'backreference "\\1" at offset 3 is not supported',
    ],
    [
      'path syntax',
      { path: { regex: '/users/(\\d+' } },
      `${m}.path.regex`,
      'unbalanced parenthesis: "(" at offset 7 is never closed',
    ],
  ])('checks the %s regex against the dialect', (_label, match, field, detail) => {
    const input = edited((p) => {
      rule0(p).match = match;
    });
    expect(issuesOf(input)).toContainEqual({ field, message: `invalid regex: ${detail}` });
  });

  it('accepts a regex of the dialect', () => {
    const input = edited((p) => {
      rule0(p).match = { path: { regex: '^/api/v[0-9]+/(?P<id>users|orders)/\\d{1,6}$' } };
    });
    expect(validatePolicy(input).ok).toBe(true);
  });
});

describe('formatIssue', () => {
  it('joins field and message', () => {
    expect(formatIssue({ field: 'spec.rules', message: 'at least one rule is required' })).toBe(
      'spec.rules: at least one rule is required',
    );
  });
});
