// The BOIFI policy schema, field for field. Casing is mixed on purpose: `httpStatus` is camelCase,
// the rest snake_case, exactly as the reference's wire format has it.

export interface StringMatch {
  exact?: string;
  prefix?: string;
  /** RE2-style subset, matched as an unanchored search (like the reference plugin); see docs/regex.md. */
  regex?: string;
}

export interface HeaderMatch extends StringMatch {
  /** Any header name; compared case-insensitively. */
  name: string;
}

export interface RuleMatch {
  method?: StringMatch;
  /** Compared against the path without its query string, as Envoy's route matching does. */
  path?: StringMatch;
  headers?: HeaderMatch[];
}

export interface DelayAction {
  fixed_delay_ms: number;
}

export interface AbortAction {
  httpStatus: number;
  /** Response body; the filter sends a default text when absent. */
  body?: string;
}

export interface FaultSpec {
  /** 0..100, fractions allowed (0.1 = one request in a thousand). */
  percentage: number;
  /** Per-request wait before the fault is applied. */
  start_delay_ms?: number;
  /** The rule stops being active this long after the policy was last written; 0/absent = no expiry. */
  duration_seconds?: number;
  delay?: DelayAction;
  abort?: AbortAction;
}

export interface Rule {
  match: RuleMatch;
  fault: FaultSpec;
}

export interface Selector {
  /** Workload name or `app` label; "" or "*" matches any. */
  service?: string;
  /** "" or "*" matches any. */
  namespace?: string;
}

export interface PolicyMetadata {
  name: string;
  /** Always present on output ("" when unset), as the reference serialises it. */
  version?: string;
}

export interface Policy {
  metadata: PolicyMetadata;
  spec: {
    selector?: Selector;
    rules: Rule[];
  };
}

/** Server-side state the control plane attaches to a policy on every read. */
export interface RuleStatus {
  /** false once the rule's duration has passed. */
  active: boolean;
  /** Absolute deadline (ISO 8601), absent when the rule never expires. */
  expires_at?: string;
  /** Milliseconds left at the moment the answer was written; absent when the rule never expires. */
  remaining_ms?: number;
}

export interface PolicyStatus {
  /** Store revision at which this policy was last written. */
  revision: number;
  /** When the policy was last written (ISO 8601); rule deadlines count from here. */
  updated_at: string;
  rules: RuleStatus[];
}

export interface PolicyWithStatus extends Policy {
  status: PolicyStatus;
}

/** Identity a sidecar reports on every watch request; the control plane keeps the last one per instance. */
export interface NodeIdentity {
  /** Unique per VM/worker instance (a sidecar with N workers reports N instances). */
  instance: string;
  workload: string;
  namespace: string;
  pod: string;
  /** Selected pod labels (app, app.kubernetes.io/name). */
  labels?: Record<string, string>;
}

export interface NodeStatus extends NodeIdentity {
  /** The revision this instance said it has applied on its latest request. */
  applied_revision: number;
  /** ISO 8601 time of the latest request. */
  last_seen: string;
  /** True when the instance has not been heard from for longer than the stale threshold. */
  stale: boolean;
}
