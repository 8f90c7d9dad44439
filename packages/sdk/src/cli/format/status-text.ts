// Text views of `GET /v1/policies/status` and `GET /v1/nodes`.
import type { NodeList, PolicyStatusReport } from '../../client/types';
import { renderTable } from './table';

export const NO_NODES = 'No sidecars have reported to the control plane.';

export function policyStatusText(report: PolicyStatusReport): string {
  const { summary } = report;
  const head = [
    `Total Policies: ${summary.total_policies}`,
    `Abort Policies: ${summary.abort_policies}`,
    `Delay Policies: ${summary.delay_policies}`,
    `Active Policies: ${summary.active_policies}`,
  ].join('\n');
  if (report.policies.length === 0) return `${head}\n`;
  const table = renderTable(
    ['NAME', 'NAMESPACE', 'SERVICE', 'RULES', 'FAULT TYPES', 'ACTIVE'],
    report.policies.map((entry) => [
      entry.name,
      entry.namespace || '*',
      entry.target_service || '*',
      String(entry.rules_count),
      entry.fault_types.length > 0 ? entry.fault_types.join(',') : 'none',
      entry.active ? 'yes' : 'no',
    ]),
  );
  return `${head}\n\n${table}`;
}

/** Whether a node has applied the current revision, is behind, or has gone quiet. */
function syncState(applied: number, current: number, stale: boolean): string {
  if (stale) return 'stale';
  return applied >= current ? 'in sync' : 'behind';
}

export function nodesText(list: NodeList): string {
  const head = `Control plane revision: ${list.revision}`;
  if (list.nodes.length === 0) return `${head}\n${NO_NODES}\n`;
  const table = renderTable(
    ['POD', 'NAMESPACE', 'WORKLOAD', 'INSTANCE', 'APPLIED REVISION', 'STATE', 'LAST SEEN'],
    list.nodes.map((node) => [
      node.pod || '-',
      node.namespace || '-',
      node.workload || '-',
      node.instance,
      String(node.applied_revision),
      syncState(node.applied_revision, list.revision, node.stale),
      node.last_seen,
    ]),
  );
  return `${head}\n${table}`;
}
