// Limits every write must respect. The filter relies on them to bound its memory and per-request work.

export const POLICY_LIMITS = {
  /** Rules per policy. */
  maxRules: 100,
  /** Header matchers per rule. */
  maxHeadersPerRule: 32,
  /** Any string field except `abort.body`, in characters (code points). */
  maxStringLength: 4096,
  /** `abort.body`, in UTF-8 bytes (64 KiB). */
  maxBodyBytes: 65536,
  /** Default upper bound for `fixed_delay_ms` and `start_delay_ms`; the control plane may configure another. */
  defaultMaxDelayMs: 30000,
  /** `duration_seconds` upper bound: one year. */
  maxDurationSeconds: 31536000,
  minNameLength: 3,
  maxNameLength: 63,
  minHttpStatus: 200,
  maxHttpStatus: 599,
} as const;
