// Reading, checking and adjusting the policies `hfi policy apply` sends.
import type { Readable } from 'node:stream';
import { formatIssue, HfiError, type Policy, readPolicyInput, validatePolicy } from '@hfi/core';

/**
 * Every document of the file (or stdin for `-`), each checked with the control plane's rules before anything is
 * sent. The first problem is thrown as HFI_ERR_POLICY_INVALID: `invalid policy: <field>: <message>`.
 */
export async function loadValidPolicies(pathOrDash: string, stdin: Readable): Promise<Policy[]> {
  const source = pathOrDash === '-' ? '<stdin>' : pathOrDash;
  const documents = await readPolicyInput(pathOrDash, { stdin });
  if (documents.length === 0) {
    throw new HfiError('HFI_ERR_POLICY_INVALID', `invalid policy: ${source} holds no policy`, { details: { source } });
  }
  const policies: Policy[] = [];
  for (const [index, document] of documents.entries()) {
    // The delay ceiling is the server's to enforce: it may run with a higher --max-delay-ms than the default.
    const result = validatePolicy(document, { maxDelayMs: Number.MAX_SAFE_INTEGER });
    if (!result.ok) {
      const [issue] = result.issues;
      const where = documents.length > 1 ? ` (document ${index + 1} of ${source})` : '';
      throw new HfiError('HFI_ERR_POLICY_INVALID', `invalid policy: ${formatIssue(issue)}${where}`, {
        field: issue.field,
        details: { source, document: index + 1, issues: result.issues },
      });
    }
    policies.push(result.policy);
  }
  return policies;
}

export interface RuleOverrides {
  startDelayMs?: number;
  durationSeconds?: number;
}

/** A copy of `policy` with each positive override set on every rule (the reference changed only rules[0]). */
export function applyOverrides(policy: Policy, overrides: RuleOverrides): Policy {
  const { startDelayMs, durationSeconds } = overrides;
  const setStart = startDelayMs !== undefined && startDelayMs > 0;
  const setDuration = durationSeconds !== undefined && durationSeconds > 0;
  if (!setStart && !setDuration) return policy;
  return {
    ...policy,
    spec: {
      ...policy.spec,
      rules: policy.spec.rules.map((rule) => ({
        ...rule,
        fault: {
          ...rule.fault,
          ...(setStart ? { start_delay_ms: startDelayMs } : {}),
          ...(setDuration ? { duration_seconds: durationSeconds } : {}),
        },
      })),
    },
  };
}
