// Jest globalSetup: reads hfi.config.*, starts the local mesh (local mode) or checks the cluster's control plane
// (kubernetes mode), and publishes the addresses to the test workers through process.env.
import { HfiError } from '@hfi/core';
import { ControlPlaneClient } from '@hfi/sdk';
import { loadConfig } from './config/load-config';
import type { HfiPresetConfig } from './config/types';
import { startLocalMesh } from './mesh/local-mesh';
import { currentRun, type RunState, setRun } from './mesh/run-state';
import { type PresetRuntime, publishRuntime } from './runtime/published-env';

/** The parts of Jest's global and project configs this uses. */
export interface JestConfigLike {
  rootDir?: string;
}

async function kubernetesRun(config: HfiPresetConfig): Promise<Omit<RunState, 'previousEnv' | 'users'>> {
  const controlPlane = config.controlPlane as string;
  const client = new ControlPlaneClient({
    url: controlPlane,
    timeoutMs: config.startupTimeoutMs,
    ...(config.token === undefined ? {} : { token: config.token }),
  });
  let names: string[];
  try {
    names = (await client.listPolicies()).policies.map((p) => p.metadata.name);
  } catch (cause) {
    throw new HfiError(
      'HFI_ERR_CONTROL_PLANE_UNREACHABLE',
      `kubernetes mode: the control plane at ${controlPlane} did not answer: ${(cause as Error).message}`,
      { cause, field: 'controlPlane', details: { url: controlPlane } },
    );
  } finally {
    await client.close();
  }
  const runtime: PresetRuntime = {
    mode: 'kubernetes',
    controlPlane,
    ...(config.token === undefined ? {} : { token: config.token }),
    ackTimeoutMs: config.ackTimeoutMs,
    services: config.services.map((s) => ({
      name: s.name,
      namespace: s.namespace,
      labels: s.labels,
      ...(s.url === undefined ? {} : { url: s.url }),
    })),
    metrics: config.metrics ?? { source: 'kubernetes' },
  };
  return { config, runtime, policiesBefore: new Set(names) };
}

export default async function globalSetup(
  globalConfig?: JestConfigLike,
  projectConfig?: JestConfigLike,
): Promise<void> {
  const existing = currentRun();
  if (existing) {
    // A multi-project run calls this once per project: they share one mesh.
    existing.users++;
    return;
  }
  const rootDir = projectConfig?.rootDir ?? globalConfig?.rootDir ?? process.cwd();
  const config = await loadConfig(rootDir);
  let run: Omit<RunState, 'previousEnv' | 'users'>;
  if (config.mode === 'local') {
    const mesh = await startLocalMesh(config);
    run = { config, runtime: mesh.runtime, mesh, policiesBefore: new Set() };
  } else {
    run = await kubernetesRun(config);
  }
  const previousEnv = publishRuntime(run.runtime);
  setRun({ ...run, previousEnv, users: 1 });
}
