// The seed's Problem 2 (metrics visible but not incrementing): is a policy applied, does its selector take this
// pod, has the sidecar applied it, does traffic reach the sidecar, and do the policy's match rules take that traffic.
import {
  findMatchingRule,
  type NodeStatus,
  type PolicyWithStatus,
  type RequestInfo,
  type Rule,
  ruleMatches,
  selectorMatches,
  type WorkloadIdentity,
} from '@hfi/core';
import type { NodeList } from '../../client/types';
import { formatSelector, mismatchReasons } from '../../window/targets';
import { hfiLogLines, hfiMetricsPresent, type SidecarFacts } from '../facts';
import { fixMatchRules, fixNoPolicy, fixNoTraffic, fixNotPolling, fixSelector } from '../fixes';
import type { CheckResult, RequestSpec } from '../types';
import { type CheckContext, type Finding, fold, noSidecars, podName } from './context';

function activeRules(policy: PolicyWithStatus): number {
  const rules = policy.spec.rules ?? [];
  return rules.filter((_, i) => {
    const status = policy.status?.rules?.[i];
    return status === undefined || (status.active !== false && status.remaining_ms !== 0);
  }).length;
}

/** Policies with at least one rule still in force. */
export function activePolicies(ctx: CheckContext): PolicyWithStatus[] | undefined {
  const list = ctx.controlPlane?.policies;
  if (list === undefined || 'error' in list) return undefined;
  return list.policies.filter((p) => activeRules(p) > 0);
}

export function checkPolicyApplied(ctx: CheckContext): CheckResult {
  const id = 'policy-applied';
  const title = 'Policy applied';
  const cp = ctx.controlPlane;
  if (cp === undefined) {
    return {
      id,
      title,
      status: 'unknown',
      detail:
        'no control plane given: pass --control-plane-addr URL (kubectl port-forward -n boifi svc/hfi-control-plane 8080)',
    };
  }
  if ('error' in cp.policies) {
    return {
      id,
      title,
      status: 'unknown',
      detail: `the control plane could not be read: ${cp.policies.error}`,
      unreachable: [cp.url],
    };
  }
  const { policies, revision } = cp.policies;
  if (policies.length === 0) {
    return {
      id,
      title,
      status: 'problem',
      seedProblem: 2,
      detail: `the control plane at ${cp.url} has no policy (revision ${revision})`,
      fix: fixNoPolicy(ctx.fix()),
    };
  }
  const active = policies.filter((p) => activeRules(p) > 0);
  if (active.length === 0) {
    return {
      id,
      title,
      status: 'problem',
      seedProblem: 2,
      detail: `every rule of the ${policies.length} policies has expired (duration_seconds): ${policies.map((p) => p.metadata.name).join(', ')}`,
      fix: fixNoPolicy(ctx.fix()),
    };
  }
  const names = active.map(
    (p) => `${p.metadata.name} (${activeRules(p)} active rule${activeRules(p) === 1 ? '' : 's'})`,
  );
  return {
    id,
    title,
    status: 'ok',
    detail: `${active.length} polic${active.length === 1 ? 'y' : 'ies'} in force at revision ${revision}: ${names.join(', ')}`,
  };
}

function identityOf(f: SidecarFacts): WorkloadIdentity | undefined {
  const { workload, namespace, labels } = f.identity;
  if (namespace === undefined || (workload === undefined && labels === undefined)) return undefined;
  return { workload: workload ?? '', namespace, labels: labels ?? {} };
}

function describeIdentity(identity: WorkloadIdentity): string {
  const labels = Object.entries(identity.labels ?? {})
    .filter(([k]) => k === 'app' || k === 'app.kubernetes.io/name')
    .map(([k, v]) => `${k}=${v}`);
  return `workload "${identity.workload}", namespace "${identity.namespace}"${labels.length ? `, ${labels.join(', ')}` : ''}`;
}

function asNode(identity: WorkloadIdentity): NodeStatus {
  return {
    instance: '',
    workload: identity.workload,
    namespace: identity.namespace,
    pod: '',
    labels: identity.labels ?? {},
    applied_revision: 0,
    last_seen: new Date().toISOString(),
    stale: false,
  };
}

export function checkPolicySelector(ctx: CheckContext): CheckResult {
  const id = 'policy-selector';
  const title = 'Policy selector matches the pod';
  const policies = activePolicies(ctx);
  if (policies === undefined || policies.length === 0) {
    return { id, title, status: 'unknown', detail: 'no policy in force to compare (see "Policy applied")' };
  }
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  const findings = ctx.sidecars.map((f): Finding => {
    const pod = podName(f);
    const identity = identityOf(f);
    if (identity === undefined) {
      return { pod, status: 'unknown', detail: 'its identity (workload, namespace, labels) could not be read' };
    }
    const selecting = policies.filter((p) => selectorMatches(p.spec.selector, identity));
    if (selecting.length > 0) {
      return {
        pod,
        status: 'ok',
        detail: `selected by ${selecting.map((p) => p.metadata.name).join(', ')} (${describeIdentity(identity)})`,
      };
    }
    const reasons = policies.map(
      (p) =>
        `${p.metadata.name} selects ${formatSelector(p.spec.selector ?? {})}: ${mismatchReasons(p.spec.selector ?? {}, asNode(identity)).join('; ')}`,
    );
    return {
      pod,
      status: 'problem',
      seedProblem: 2,
      fix: fixSelector(ctx.fix(f)),
      detail: `no policy selects this pod (${describeIdentity(identity)}): ${reasons.join(' | ')}`,
    };
  });
  return fold(id, title, findings, (n) => `every one of the ${n} sidecars is selected by a policy`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function checkPolicyAcked(ctx: CheckContext, ackWaitMs: number): Promise<CheckResult> {
  const id = 'policy-acked';
  const title = 'Sidecar applied the current revision';
  const cp = ctx.controlPlane;
  if (cp === undefined) return { id, title, status: 'unknown', detail: 'no control plane given' };
  if ('error' in cp.nodes) {
    return { id, title, status: 'unknown', detail: `GET /v1/nodes failed: ${cp.nodes.error}`, unreachable: [cp.url] };
  }
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  let nodes: NodeList = cp.nodes;
  const instancesOf = (f: SidecarFacts, list: NodeList) =>
    list.nodes.filter((n) => n.namespace === f.identity.namespace && n.pod === f.identity.pod);
  // Behind, or running the plugin without having been heard from yet: worth a moment to catch up.
  const waitable = (f: SidecarFacts, list: NodeList) => {
    const instances = instancesOf(f, list);
    if (instances.length === 0) return hfiMetricsPresent(f) || hfiLogLines(f);
    return instances.some((n) => n.stale || n.applied_revision < list.revision);
  };
  const deadline = Date.now() + ackWaitMs;
  while (ctx.sidecars.some((f) => waitable(f, nodes)) && Date.now() < deadline) {
    await sleep(200);
    const next = await cp.refreshNodes();
    if ('error' in next) break;
    nodes = next;
  }
  const findings = ctx.sidecars.map((f): Finding => {
    const pod = podName(f);
    if (f.identity.pod === undefined) {
      return {
        pod,
        status: 'unknown',
        detail: 'its pod name could not be read, so its control-plane instances cannot be found',
      };
    }
    const instances = instancesOf(f, nodes);
    if (instances.length === 0) {
      const loaded = f.newFamilies.length > 0 || f.oldFamilies.length > 0;
      return {
        pod,
        status: 'problem',
        seedProblem: 2,
        fix: fixNotPolling(ctx.fix(f)),
        detail:
          `pod ${f.identity.namespace}/${f.identity.pod} has never polled the control plane at ${cp.url}` +
          (loaded ? ' although its plugin runs: its control_plane_address points elsewhere' : ''),
      };
    }
    const stale = instances.filter((n) => n.stale);
    if (stale.length > 0) {
      return {
        pod,
        status: 'problem',
        seedProblem: 2,
        fix: fixNotPolling(ctx.fix(f)),
        detail: `${stale.length} of its ${instances.length} worker VMs stopped polling (last seen ${stale[0]?.last_seen})`,
      };
    }
    const lagging = instances.filter((n) => n.applied_revision < nodes.revision);
    if (lagging.length > 0) {
      return {
        pod,
        status: 'problem',
        seedProblem: 2,
        fix: fixNotPolling(ctx.fix(f)),
        detail: `${lagging.length} of its ${instances.length} worker VMs have applied revision ${lagging[0]?.applied_revision}, not the current ${nodes.revision}`,
      };
    }
    return {
      pod,
      status: 'ok',
      detail: `all ${instances.length} worker VMs applied the current revision ${nodes.revision}`,
    };
  });
  return fold(id, title, findings, (n) => `all ${n} sidecars applied the current revision ${nodes.revision}`);
}

export function checkTraffic(ctx: CheckContext): CheckResult {
  const id = 'traffic';
  const title = 'Traffic reaches the sidecar';
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  const findings = ctx.sidecars.map((f): Finding => {
    const pod = podName(f);
    const faults = (f.metrics?.aborts ?? 0) + (f.metrics?.delays ?? 0);
    if (f.requests !== undefined && f.requests.count > 0) {
      return { pod, status: 'ok', detail: `${f.requests.count} requests seen (${f.requests.source})` };
    }
    if (faults > 0) return { pod, status: 'ok', detail: `${faults} faults injected, so traffic reaches it` };
    const accessLogged = f.logs?.requests.length ?? 0;
    if (accessLogged > 0) return { pod, status: 'ok', detail: `${accessLogged} requests in its access log` };
    if (f.requests !== undefined) {
      return {
        pod,
        status: 'problem',
        seedProblem: 2,
        fix: fixNoTraffic(ctx.fix(f)),
        detail: `no request has reached this sidecar (${f.requests.source} is 0)`,
      };
    }
    if (f.promError !== undefined)
      return { pod, status: 'unknown', detail: `its stats could not be read: ${f.promError}` };
    return {
      pod,
      status: 'unknown',
      detail:
        `${f.metrics?.aborts === undefined ? 'its fault counters are not visible' : 'no fault injected yet'}, and this ` +
        'sidecar exposes no request counter (istio_requests_total, envoy_http_downstream_rq_total) and no access ' +
        'log to tell whether traffic arrives',
    };
  });
  return fold(id, title, findings, (n) => `traffic reaches all ${n} sidecars`);
}

function toRequestInfo(r: { method: string; path: string; headers?: [string, string][] }): RequestInfo {
  return { method: r.method, path: r.path, headers: r.headers ?? [] };
}

/** Why a rule does not take a request, part by part. */
export function ruleMismatch(rule: Rule, request: RequestInfo): string[] {
  const reasons: string[] = [];
  const match = rule.match ?? {};
  if (match.method && !ruleMatches({ match: { method: match.method }, fault: rule.fault }, request)) {
    reasons.push(`method ${request.method} does not match ${JSON.stringify(match.method)}`);
  }
  if (match.path && !ruleMatches({ match: { path: match.path }, fault: rule.fault }, request)) {
    reasons.push(`path ${request.path} does not match ${JSON.stringify(match.path)}`);
  }
  for (const header of match.headers ?? []) {
    if (ruleMatches({ match: { headers: [header] }, fault: rule.fault }, request)) continue;
    const present = request.headers.some(([n]) => n.toLowerCase() === header.name.toLowerCase());
    reasons.push(
      present
        ? `header ${header.name} does not match ${JSON.stringify({ ...header, name: undefined })}`
        : `header ${header.name} is not sent`,
    );
  }
  return reasons;
}

function describeRequest(r: RequestInfo): string {
  const headers = r.headers.map(([k, v]) => ` -H '${k}: ${v}'`).join('');
  return `${r.method} ${r.path}${headers}`;
}

function matchReport(policies: PolicyWithStatus[], identity: WorkloadIdentity, request: RequestInfo): string {
  const lines: string[] = [];
  for (const p of policies) {
    if (!selectorMatches(p.spec.selector, identity)) continue;
    (p.spec.rules ?? []).forEach((rule, i) => {
      lines.push(`${p.metadata.name} rule ${i}: ${ruleMismatch(rule, request).join(', ') || 'expired'}`);
    });
  }
  return lines.join(' | ');
}

export function checkPolicyMatch(ctx: CheckContext, request: RequestSpec | undefined): CheckResult {
  const id = 'policy-match';
  const title = 'Policy match rules take the traffic';
  const policies = activePolicies(ctx);
  if (policies === undefined || policies.length === 0) {
    return { id, title, status: 'unknown', detail: 'no policy in force to compare (see "Policy applied")' };
  }
  if (ctx.sidecars.length === 0) return noSidecars(id, title, ctx);
  const now = ctx.nowMs();
  const findings = ctx.sidecars.map((f): Finding => {
    const pod = podName(f);
    const identity = identityOf(f);
    if (identity === undefined) return { pod, status: 'unknown', detail: 'its identity could not be read' };
    if (!policies.some((p) => selectorMatches(p.spec.selector, identity))) {
      return { pod, status: 'unknown', detail: 'no policy selects this pod (see "Policy selector matches the pod")' };
    }
    if (request !== undefined) {
      const info = toRequestInfo(request);
      const hit = findMatchingRule(policies, identity, info, now);
      if (hit === null) {
        return {
          pod,
          status: 'problem',
          seedProblem: 2,
          fix: fixMatchRules(ctx.fix(f)),
          detail: `${describeRequest(info)} matches no rule: ${matchReport(policies, identity, info)}`,
        };
      }
      const rule = policies.find((p) => p.metadata.name === hit.policy)?.spec.rules[hit.rule];
      const pct = rule?.fault.percentage;
      return {
        pod,
        status: pct === 0 ? 'problem' : 'ok',
        ...(pct === 0 ? { seedProblem: 2 as const, fix: fixMatchRules(ctx.fix(f)) } : {}),
        detail: `${describeRequest(info)} matches ${hit.policy} rule ${hit.rule} (${pct}% of requests)${pct === 0 ? ', which injects nothing' : ''}`,
      };
    }
    const seen = f.logs?.requests ?? [];
    if (seen.length > 0) {
      const distinct = [...new Map(seen.map((r) => [`${r.method} ${r.path}`, r])).values()].slice(-20);
      const matching = distinct.filter((r) => findMatchingRule(policies, identity, toRequestInfo(r), now) !== null);
      if (matching.length === 0) {
        const sample = toRequestInfo(distinct[distinct.length - 1] as { method: string; path: string });
        return {
          pod,
          status: 'problem',
          seedProblem: 2,
          fix: fixMatchRules(ctx.fix(f)),
          detail:
            `none of the ${distinct.length} requests in its access log (${distinct
              .map((r) => `${r.method} ${r.path}`)
              .slice(0, 5)
              .join(', ')}) ` +
            `matches a rule (headers are not logged); e.g. ${describeRequest(sample)}: ${matchReport(policies, identity, sample)}`,
        };
      }
      return {
        pod,
        status: 'ok',
        detail: `${matching.length} of the ${distinct.length} request kinds in its access log match a rule`,
      };
    }
    const faults = (f.metrics?.aborts ?? 0) + (f.metrics?.delays ?? 0);
    if (faults > 0) return { pod, status: 'ok', detail: `${faults} faults injected, so the rules match its traffic` };
    return {
      pod,
      status: 'unknown',
      detail:
        "no request to compare: pass --request 'GET /path' [-H 'name: value'] with a request that should be faulted",
    };
  });
  return fold(id, title, findings, (n) => `the requests match a rule on all ${n} sidecars`);
}
