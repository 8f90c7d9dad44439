// Jest globalTeardown: stops what global setup started and fails the run, loudly, when a fault policy was left on
// the control plane: a fault that outlives its test makes the next test (or the next user of a shared mesh) fail for
// reasons nobody can see.
import type { PolicyWithStatus } from '@hfi/core';
import { HfiError } from '@hfi/core';
import { ControlPlaneClient } from '@hfi/sdk';
import { currentRun, type RunState, setRun } from './mesh/run-state';
import { restoreEnv } from './runtime/published-env';

function describePolicy(p: PolicyWithStatus): string {
  const selector = p.spec.selector ?? {};
  const target = `${selector.service || '*'}.${selector.namespace || '*'}`;
  const expires = p.spec.rules.some((r) => (r.fault.duration_seconds ?? 0) > 0)
    ? ' (with a lease: it would expire)'
    : '';
  return `${p.metadata.name} on ${target}${expires}`;
}

async function leftoverPolicies(run: RunState): Promise<{ left: PolicyWithStatus[]; error?: unknown }> {
  const client = new ControlPlaneClient({
    url: run.runtime.controlPlane,
    timeoutMs: 10_000,
    ...(run.runtime.token === undefined ? {} : { token: run.runtime.token }),
  });
  try {
    const { policies } = await client.listPolicies();
    const left = policies.filter((p) => !run.policiesBefore.has(p.metadata.name));
    // A shared control plane must not keep this run's faults: delete them (local mode stops its control plane anyway).
    if (run.config.mode === 'kubernetes') {
      await Promise.allSettled(left.map((p) => client.deletePolicy(p.metadata.name)));
    }
    return { left };
  } catch (error) {
    return { left: [], error };
  } finally {
    await client.close();
  }
}

export default async function globalTeardown(): Promise<void> {
  const run = currentRun();
  if (!run) return;
  run.users--;
  if (run.users > 0) return;
  setRun(undefined);
  const { left, error } = await leftoverPolicies(run);
  const keepLogs = left.length > 0 || error !== undefined || Boolean(process.env.HFI_KEEP_LOGS);
  try {
    await run.mesh?.close({ keepLogs });
  } finally {
    restoreEnv(run.previousEnv);
  }
  if (left.length > 0) {
    const where = run.config.mode === 'kubernetes' ? ' (deleted now)' : '';
    throw new HfiError(
      'HFI_ERR_PRESET_LEFTOVER',
      `${left.length} fault ${left.length === 1 ? 'policy was' : 'policies were'} left open on the control plane when the test run ended${where}:\n` +
        left.map((p) => `  - ${describePolicy(p)}`).join('\n') +
        '\nClose every fault window (windows opened inside a test are closed after it; windows opened in beforeAll are closed after the file) and delete every policy applied with hfi.applyPolicy.' +
        (run.mesh ? `\nSidecar and control-plane logs: ${run.mesh.logDir}` : ''),
      { details: { policies: left.map((p) => p.metadata.name), mode: run.config.mode } },
    );
  }
  if (error !== undefined && run.config.mode === 'kubernetes') {
    throw new HfiError(
      'HFI_ERR_PRESET_LEFTOVER',
      `could not check the control plane at ${run.runtime.controlPlane} for fault policies left open: ${(error as Error).message}`,
      { cause: error, details: { policies: [], mode: run.config.mode } },
    );
  }
}
