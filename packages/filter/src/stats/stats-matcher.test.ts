import { isHfiError } from '@hfi/core';
import { istioInclusionPatterns, StatsMatcher, userInclusionPatterns } from './stats-matcher';

describe("Istio's default inclusion list", () => {
  it('orders the patterns the way the Istio bootstrap template writes them, user patterns in place', () => {
    const patterns = istioInclusionPatterns({ prefixes: ['http.'], suffixes: ['upstream_rq_time'], regexps: ['a.*'] });
    expect(patterns).toEqual([
      { prefix: 'reporter=' },
      { prefix: 'http.' },
      { prefix: 'cluster_manager' },
      { prefix: 'listener_manager' },
      { prefix: 'server' },
      { prefix: 'cluster.xds-grpc' },
      { prefix: 'wasm' },
      { suffix: 'upstream_rq_time' },
      { suffix: 'rbac.allowed' },
      { suffix: 'rbac.denied' },
      { suffix: 'shadow_allowed' },
      { suffix: 'shadow_denied' },
      { safe_regex: { regex: 'a.*' } },
      { safe_regex: { regex: 'vhost\\..*\\.route\\..*' } },
      { prefix: 'component' },
      { prefix: 'istio' },
    ]);
  });

  const matcher = new StatsMatcher(istioInclusionPatterns());

  it.each([
    'wasmcustom.wasmcustom.hfi_faults_aborts_total',
    'wasmcustom.hfi.faults.aborts_total',
    'server.live',
    'cluster.xds-grpc.upstream_cx_total',
    'vhost.api.route.r1.upstream_rq_total',
    'reporter=.=inbound;.;istio_requests_total',
  ])('keeps %s', (name) => {
    expect(matcher.rejects(name)).toBe(false);
  });

  it.each([
    'http.inbound_0.0.0.0_8080.fault.aborts_injected',
    'cluster.outbound|80||orders.shop.svc.cluster.local.upstream_rq_total',
    'listener.0.0.0.0_15006.downstream_cx_total',
    'xvhost.a.route.b', // safe_regex is a full match
  ])('rejects %s', (name) => {
    expect(matcher.rejects(name)).toBe(true);
  });
});

describe('a list without the defaults', () => {
  it('rejects everything when empty, as an empty Envoy inclusion list does', () => {
    const matcher = new StatsMatcher(userInclusionPatterns({}));
    expect(matcher.rejects('wasmcustom.wasmcustom.hfi_faults_aborts_total')).toBe(true);
    expect(matcher.rejects('server.live')).toBe(true);
  });

  it('keeps only what a user prefix names', () => {
    const matcher = new StatsMatcher(userInclusionPatterns({ prefixes: ['wasmcustom.wasmcustom.hfi_faults'] }));
    expect(matcher.rejects('wasmcustom.wasmcustom.hfi_faults_delays_total')).toBe(false);
    expect(matcher.rejects('wasmcustom.hfi.faults.delays_total')).toBe(true);
  });

  it('translates POSIX classes in RE2 regexes', () => {
    const matcher = new StatsMatcher(userInclusionPatterns({ regexps: ['http\\.[[:digit:]_.]+\\..*'] }));
    expect(matcher.rejects('http.10.0.0.1_8080.downstream_rq_total')).toBe(false);
    expect(matcher.rejects('http.admin.downstream_rq_total')).toBe(true);
  });

  it('reports an invalid regex with its field path', () => {
    let caught: unknown;
    try {
      new StatsMatcher(userInclusionPatterns({ prefixes: ['a'], regexps: ['('] }));
    } catch (err) {
      caught = err;
    }
    expect(isHfiError(caught, 'HFI_ERR_CONFIG')).toBe(true);
    expect((caught as { field?: string }).field).toBe('stats_matcher.inclusion_list.patterns[1].safe_regex.regex');
  });
});
