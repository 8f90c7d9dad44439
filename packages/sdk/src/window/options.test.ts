import { HfiError, validatePolicy } from '@hfi/core';
import { leaseStep, renewalIntervalMs } from './lease';
import { type FaultWindowOptions, parseWindowOptions } from './options';
import { buildWindowPolicy, checkWindowPolicy } from './policy';

const base: FaultWindowOptions = {
  selector: { service: 'frontend', namespace: 'demo' },
  abort: { httpStatus: 503 },
  percentage: 30,
  duration: 60_000,
};

function optionsError(options: unknown): HfiError {
  try {
    const spec = parseWindowOptions(options);
    checkWindowPolicy(buildWindowPolicy(spec, 60));
  } catch (err) {
    expect(err).toBeInstanceOf(HfiError);
    return err as HfiError;
  }
  throw new Error('expected the options to be rejected');
}

describe('parseWindowOptions', () => {
  it('fills in a valid default name and keeps the rest', () => {
    const spec = parseWindowOptions(base);
    expect(spec.name).toMatch(/^hfi-window-[a-z0-9]{8}$/);
    expect(spec).toMatchObject({ percentage: 30, durationMs: 60_000, selector: { service: 'frontend' } });
    const other = parseWindowOptions(base);
    expect(other.name).not.toBe(spec.name);
  });

  it.each([
    ['60s', 60_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    [1500, 1500],
  ])('reads the duration %p as %d ms', (duration, ms) => {
    expect(parseWindowOptions({ ...base, duration }).durationMs).toBe(ms);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['a percentage above 100', { percentage: 150 }, 'percentage', /percentage must be between 0 and 100/],
    ['a negative percentage', { percentage: -1 }, 'percentage', /between 0 and 100/],
    ['no percentage', { percentage: undefined }, 'percentage', /required/],
    ['neither abort nor delay', { abort: undefined }, 'abort', /needs abort, delay or both/],
    ['an unparsable duration', { duration: 'soon' }, 'duration', /cannot parse "soon" as a duration/],
    ['a zero duration', { duration: 0 }, 'duration', /positive/],
    ['no duration', { duration: undefined }, 'duration', /required/],
    ['a fractional delay', { delay: { fixedDelayMs: 1.5 } }, 'delay.fixedDelayMs', /integer/],
    ['a status outside 200..599', { abort: { httpStatus: 700 } }, 'abort.httpStatus', /between 200 and 599/],
    ['a name too short', { name: 'ab' }, 'name', /3 to 63/],
    ['a name with a dot', { name: 'my.window' }, 'name', /3 to 63/],
    ['a name ending in "-"', { name: 'window-' }, 'name', /not starting or ending/],
    ['no selector', { selector: undefined }, 'selector', /required/],
    ['a misspelt option', { percent: 30 }, 'percent', /unknown option/],
    ['a negative start delay', { startDelayMs: -5 }, 'startDelayMs', /at least 0/],
    ['expectTargets of 0', { expectTargets: 0 }, 'expectTargets', /at least 1/],
    ['a header without a name', { match: { headers: [{ exact: 'x' }] } }, 'match.headers[0].name', /required/],
    [
      'a header name the policy model refuses',
      { match: { headers: [{ name: 'x user', exact: 'test' }] } },
      'match.headers[0].name',
      /HTTP header name/,
    ],
    ['a regex outside the dialect', { match: { path: { regex: '(?=x)' } } }, 'match.path.regex', /invalid regex/],
    ['two conditions in one matcher', { match: { path: { exact: '/a', prefix: '/' } } }, 'match.path', /only one/],
  ])('rejects %s with HFI_ERR_WINDOW_OPTIONS and the option path', (_what, patch, field, message) => {
    const err = optionsError({ ...base, ...patch });
    expect(err.code).toBe('HFI_ERR_WINDOW_OPTIONS');
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it('reports every problem, not only the first', () => {
    const err = optionsError({ ...base, percentage: 101, duration: 'later', name: 'x' });
    expect((err.details.issues as { field: string }[]).map((i) => i.field).sort()).toEqual([
      'duration',
      'name',
      'percentage',
    ]);
  });
});

describe('buildWindowPolicy', () => {
  it('translates a window into one BOIFI rule with its duration', () => {
    const spec = parseWindowOptions({
      ...base,
      name: 'checkout-window',
      match: { method: 'GET', path: { prefix: '/api' }, headers: [{ name: 'x-user', exact: 'test' }] },
      abort: { httpStatus: 503, body: 'injected' },
      delay: { fixedDelayMs: 120 },
      startDelayMs: 40,
    });
    const policy = buildWindowPolicy(spec, 30);
    expect(policy).toEqual({
      metadata: { name: 'checkout-window' },
      spec: {
        selector: { service: 'frontend', namespace: 'demo' },
        rules: [
          {
            match: { method: { exact: 'GET' }, path: { prefix: '/api' }, headers: [{ name: 'x-user', exact: 'test' }] },
            fault: {
              percentage: 30,
              start_delay_ms: 40,
              duration_seconds: 30,
              delay: { fixed_delay_ms: 120 },
              abort: { httpStatus: 503, body: 'injected' },
            },
          },
        ],
      },
    });
    expect(validatePolicy(policy).ok).toBe(true);
  });

  it('matches every request when the window names no condition', () => {
    const policy = buildWindowPolicy(parseWindowOptions({ ...base, match: {} }), 5);
    expect(policy.spec.rules[0]?.match).toEqual({ path: { prefix: '/' } });
    expect(validatePolicy(policy).ok).toBe(true);
  });
});

describe('leaseStep', () => {
  it('bounds a short window by its own end, rounded up to whole seconds, with no renewal', () => {
    expect(leaseStep(2_000, 30_000)).toEqual({ durationSeconds: 2, renew: false });
    expect(leaseStep(2_001, 30_000)).toEqual({ durationSeconds: 3, renew: false });
    expect(leaseStep(30_000, 30_000)).toEqual({ durationSeconds: 30, renew: false });
    expect(leaseStep(10, 30_000)).toEqual({ durationSeconds: 1, renew: false });
  });

  it('bounds a long window by the lease plus a margin, and asks for renewal', () => {
    expect(leaseStep(600_000, 30_000)).toEqual({ durationSeconds: 35, renew: true });
    expect(leaseStep(60_000, 2_000)).toEqual({ durationSeconds: 3, renew: true });
  });

  it('renews three times per lease', () => {
    expect(renewalIntervalMs(30_000)).toBe(10_000);
    expect(renewalIntervalMs(600)).toBe(250);
  });
});
