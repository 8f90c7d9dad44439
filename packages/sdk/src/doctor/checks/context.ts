// What every check gets, and the helpers that fold per-sidecar findings into one result.
import type { NodeList, PolicyList } from '../../client/types';
import type { KubernetesFacts } from '../collect-kubernetes';
import type { SidecarFacts } from '../facts';
import type { FixContext } from '../fixes';
import type { CheckId, CheckResult, CheckStatus, PodFinding, RequestSpec, SeedProblem } from '../types';

export interface ControlPlaneView {
  url: string;
  policies: PolicyList | { error: string };
  nodes: NodeList | { error: string };
  /** Reads the nodes again (the ack check waits for a sidecar that is behind). */
  refreshNodes(): Promise<NodeList | { error: string }>;
}

export interface CheckContext {
  mode: 'local' | 'k8s';
  sidecars: SidecarFacts[];
  /** Why no sidecar could be read at all (k8s: no pod, API refused). */
  collectError?: string;
  k8s?: KubernetesFacts;
  controlPlane?: ControlPlaneView;
  request?: RequestSpec;
  fix(sidecar?: SidecarFacts): FixContext;
  nowMs(): number;
}

export interface Finding extends PodFinding {
  seedProblem?: SeedProblem;
  fix?: string;
  unreachable?: string;
}

/**
 * One result from per-sidecar findings: a problem anywhere is the check's problem (with the first problem's seed
 * reference and fix), all ok is ok, anything else could not be checked.
 */
export function fold(id: CheckId, title: string, findings: Finding[], okDetail: (n: number) => string): CheckResult {
  const problems = findings.filter((f) => f.status === 'problem');
  const unknown = findings.filter((f) => f.status === 'unknown');
  const unreachable = [...new Set(findings.flatMap((f) => (f.unreachable ? [f.unreachable] : [])))];
  const pods = findings.map(({ pod, status, detail }) => ({ pod, status, detail }));
  let status: CheckStatus;
  let detail: string;
  if (problems.length > 0) {
    status = 'problem';
    detail = findings.length === 1 ? (problems[0] as Finding).detail : summary(problems, findings.length);
  } else if (findings.length > 0 && unknown.length === 0) {
    status = 'ok';
    detail = findings.length === 1 ? (findings[0] as Finding).detail : okDetail(findings.length);
  } else {
    status = 'unknown';
    detail =
      findings.length === 0
        ? 'no sidecar could be read'
        : findings.length === 1
          ? (unknown[0] as Finding).detail
          : summary(unknown, findings.length);
  }
  const first = problems[0];
  return {
    id,
    title,
    status,
    detail,
    ...(first?.fix ? { fix: first.fix } : {}),
    ...(first?.seedProblem ? { seedProblem: first.seedProblem } : {}),
    pods,
    ...(unreachable.length > 0 ? { unreachable } : {}),
  };
}

/** `http://b: <detail>`, or `2 of 3 sidecars (a, b); a: <detail>` — the first finding speaks for the rest. */
function summary(findings: Finding[], total: number): string {
  const first = findings[0] as Finding;
  if (findings.length === 1) return `${first.pod}: ${first.detail}`;
  return `${findings.length} of ${total} sidecars (${findings.map((f) => f.pod).join(', ')}); ${first.pod}: ${first.detail}`;
}

export function podName(f: SidecarFacts): string {
  return f.evidence.name;
}

/** A check that cannot look at any sidecar: the collection failed. */
export function noSidecars(id: CheckId, title: string, ctx: CheckContext): CheckResult {
  const why = ctx.collectError ?? 'no sidecar could be read';
  return { id, title, status: 'unknown', detail: why, unreachable: [why] };
}
