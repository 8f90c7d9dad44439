// Every policy in examples/policies goes through the same path the CLI takes: read the file, validate each document.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { readPolicyInput } from './read';
import type { Policy, Rule } from './types';
import { assertValidPolicy, validatePolicy } from './validate';

const EXAMPLES = path.resolve(__dirname, '../../../../examples/policies');
const frontendDemo = { service: 'frontend', namespace: 'demo' };

function policy(name: string, selector: Policy['spec']['selector'] | null, rule: Rule): Policy {
  return {
    metadata: { name, version: '' },
    spec: selector === null ? { rules: [rule] } : { selector, rules: [rule] },
  };
}

// Section 2.4 of the reference facts, in hfi's canonical form.
const EXPECTED: Record<string, Policy[]> = {
  'basic/abort-policy.yaml': [
    policy('abort-policy', frontendDemo, {
      match: { method: { exact: 'GET' }, path: { exact: '/' } },
      fault: { percentage: 100, abort: { httpStatus: 503 } },
    }),
  ],
  'basic/delay-policy.yaml': [
    policy('delay-policy', frontendDemo, {
      match: { method: { exact: 'GET' }, path: { exact: '/' } },
      fault: { percentage: 100, delay: { fixed_delay_ms: 1000 } },
    }),
  ],
  'basic/percentage-policy.yaml': [
    policy('percentage-policy', frontendDemo, {
      match: { method: { exact: 'GET' }, path: { exact: '/' } },
      fault: { percentage: 50, delay: { fixed_delay_ms: 500 } },
    }),
  ],
  'advanced/header-policy.yaml': [
    policy('header-policy', frontendDemo, {
      match: { method: { exact: 'GET' }, path: { exact: '/' }, headers: [{ name: 'x-user-id', exact: 'test' }] },
      fault: { percentage: 100, delay: { fixed_delay_ms: 800 } },
    }),
  ],
  'advanced/late-stage-policy.yaml': [
    policy('late-stage-policy', frontendDemo, {
      match: { method: { exact: 'POST' }, path: { prefix: '/api/' } },
      fault: { percentage: 20, start_delay_ms: 500, delay: { fixed_delay_ms: 2000 } },
    }),
  ],
  'advanced/time-limited-policy.yaml': [
    policy('time-limited-policy', frontendDemo, {
      match: { method: { exact: 'GET' }, path: { prefix: '/api/' } },
      fault: { percentage: 50, duration_seconds: 300, delay: { fixed_delay_ms: 500 } },
    }),
  ],
  'advanced/service-targeted-policy.yaml': [
    policy('frontend-delay', frontendDemo, {
      match: { method: { exact: 'GET' }, path: { prefix: '/' } },
      fault: { percentage: 50, delay: { fixed_delay_ms: 500 } },
    }),
    policy(
      'global-abort',
      { service: '*', namespace: '*' },
      {
        match: { method: { exact: 'POST' }, path: { prefix: '/api/' } },
        fault: { percentage: 10, abort: { httpStatus: 500 } },
      },
    ),
    policy(
      'namespace-delay',
      { service: '*', namespace: 'demo' },
      { match: { path: { prefix: '/' } }, fault: { percentage: 5, delay: { fixed_delay_ms: 1000 } } },
    ),
    policy('legacy-policy', null, {
      match: { method: { exact: 'GET' }, path: { exact: '/health' } },
      fault: { percentage: 0, delay: { fixed_delay_ms: 100 } },
    }),
  ],
  'legacy/immediate-fault-policy.yaml': [
    policy('immediate-fault-policy', null, {
      match: { method: { exact: 'GET' }, path: { prefix: '/api/users' } },
      fault: { percentage: 10, abort: { httpStatus: 500 } },
    }),
  ],
  'legacy/delayed-timed-fault-policy.yaml': [
    policy('delayed-timed-fault-policy', null, {
      match: { method: { exact: 'POST' }, path: { exact: '/api/predict' } },
      fault: { percentage: 30, start_delay_ms: 200, duration_seconds: 60, abort: { httpStatus: 503 } },
    }),
  ],
};

const REJECTED: Record<string, { field: string; message: string }> = {
  'legacy/invalid-policy.yaml': { field: 'metadata.name', message: 'policy name is required' },
  'legacy/old-delay-format-policy.yaml': {
    field: 'spec.rules[0].fault.delay.fixed_delay',
    message:
      'the string form "2000ms" was replaced by fixed_delay_ms (integer milliseconds), e.g. fixed_delay_ms: 2000',
  },
};

describe('examples/policies', () => {
  it('has an expectation for every example file', () => {
    const files = ['basic', 'advanced', 'legacy'].flatMap((dir) =>
      readdirSync(path.join(EXAMPLES, dir))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => `${dir}/${f}`),
    );
    expect(files.sort()).toEqual([...Object.keys(EXPECTED), ...Object.keys(REJECTED)].sort());
  });

  it.each(Object.entries(EXPECTED))('%s validates and normalises to the expected policies', async (file, expected) => {
    const documents = await readPolicyInput(path.join(EXAMPLES, file));
    expect(documents).toHaveLength(expected.length);
    expect(documents.map((d) => assertValidPolicy(d))).toEqual(expected);
  });

  it('reads all four documents of service-targeted-policy.yaml', async () => {
    const documents = await readPolicyInput(path.join(EXAMPLES, 'advanced/service-targeted-policy.yaml'));
    expect(documents.map((d) => (d as Policy).metadata.name)).toEqual([
      'frontend-delay',
      'global-abort',
      'namespace-delay',
      'legacy-policy',
    ]);
  });

  it.each(Object.entries(REJECTED))('%s is rejected, naming the field', async (file, first) => {
    const documents = await readPolicyInput(path.join(EXAMPLES, file));
    expect(documents).toHaveLength(1);
    const result = validatePolicy(documents[0]);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues[0]).toEqual(first);
    expect(() => assertValidPolicy(documents[0])).toThrow(`${first.field}: ${first.message}`);
  });
});
