// The Envoy node a plugin sees through `node.*` properties, shaped like the one Istio's agent writes for a sidecar.

import type { EnvoyNode } from './properties';

export interface NodeIdentity {
  /** Istio's WORKLOAD_NAME (usually the Deployment's name). */
  workload: string;
  namespace: string;
  /** The pod name (NAME); defaults to `<workload>-local`. */
  pod?: string;
  /** Pod labels (LABELS). */
  labels?: Record<string, string>;
  /** `node.cluster`; Istio uses `<workload>.<namespace>`. */
  cluster?: string;
  /** The pod IP in `node.id` and INSTANCE_IPS; defaults to 127.0.0.1. */
  ip?: string;
  /** Extra metadata keys, merged over the generated ones. */
  metadata?: Record<string, unknown>;
}

export function istioNode(identity: NodeIdentity): EnvoyNode {
  const pod = identity.pod ?? `${identity.workload}-local`;
  const ip = identity.ip ?? '127.0.0.1';
  const ns = identity.namespace;
  return {
    id: `sidecar~${ip}~${pod}.${ns}~${ns}.svc.cluster.local`,
    cluster: identity.cluster ?? `${identity.workload}.${ns}`,
    metadata: {
      NAME: pod,
      NAMESPACE: ns,
      WORKLOAD_NAME: identity.workload,
      LABELS: { ...(identity.labels ?? {}) },
      CLUSTER_ID: 'Kubernetes',
      INSTANCE_IPS: ip,
      INTERCEPTION_MODE: 'REDIRECT',
      MESH_ID: 'cluster.local',
      SERVICE_ACCOUNT: 'default',
      OWNER: `kubernetes://apis/apps/v1/namespaces/${ns}/deployments/${identity.workload}`,
      ...(identity.metadata ?? {}),
    },
  };
}

/** A node with no identity, as a bare Envoy without Istio metadata would have. */
export const EMPTY_NODE: EnvoyNode = { id: '', cluster: '', metadata: {} };
