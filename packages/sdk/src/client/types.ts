// Shapes of the control plane's /v1 answers, as the client returns them.
import type { NodeIdentity, NodeStatus, Policy, PolicyWithStatus } from '@hfi/core';

export interface ControlPlaneClientOptions {
  /** Base URL of the control plane, e.g. `http://localhost:8080` (a path prefix is kept). */
  url: string | URL;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Limit for each call, connect to last body byte. Default 30 000 ms. */
  timeoutMs?: number;
  /** Default `hfi-sdk/<version>`. */
  userAgent?: string;
  /** Keep-alive connections kept open to the control plane. Default 4. */
  connections?: number;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Aborting rejects the call with the signal's reason, as fetch does. */
  signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
}

/** `GET /v1/health`. */
export interface HealthStatus {
  status: string;
}

/** `GET /v1/ready`: a 503 "not ready" answer is returned, not thrown, so callers can poll. */
export type ReadyStatus =
  | { status: 'ready'; storage: string; [key: string]: unknown }
  | { status: 'not_ready'; reason?: string; error?: string; [key: string]: unknown };

/** `GET /v1/policies`. */
export interface PolicyList {
  /** Sorted by name. */
  policies: PolicyWithStatus[];
  /** Store revision the list was read at. */
  revision: number;
}

/** One entry of `GET /v1/policies/status`. */
export interface PolicyStatusEntry {
  name: string;
  /** `*` when the policy has no selector. */
  namespace?: string;
  /** `*` when the policy has no selector. */
  target_service?: string;
  rules_count: number;
  fault_types: ('abort' | 'delay')[];
  active: boolean;
}

/** `GET /v1/policies/status`; `policies` is always an array here (the reference sends null when empty). */
export interface PolicyStatusReport {
  summary: {
    total_policies: number;
    abort_policies: number;
    delay_policies: number;
    active_policies: number;
  };
  policies: PolicyStatusEntry[];
}

/** `GET /v1/nodes`: every sidecar instance that has polled recently. */
export interface NodeList {
  nodes: NodeStatus[];
  /** Current store revision, to compare with each node's applied_revision. */
  revision: number;
}

export interface WatchPoliciesOptions extends CallOptions {
  /** The revision the caller already has; the answer comes once the store moves past it (or at timeout). */
  revision: number;
  /** How long the server may hold the request. Default 30 000 ms. */
  timeoutMs?: number;
  /** Reported to the control plane as an ack of `revision` (what sidecars do); omit for a plain watch. */
  identity?: NodeIdentity;
}

export interface WatchResult extends PolicyList {
  /** False when the server answered because the wait timed out with nothing new. */
  changed: boolean;
}

/** What the write calls return: the policy as the server stored it. */
export type StoredPolicy = Policy | PolicyWithStatus;
