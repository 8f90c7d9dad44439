// What global setup hands to the test workers. Test files run in separate VM contexts (and usually separate
// processes) that cannot see the setup's globals, so everything goes through environment variables, which the
// workers inherit.
import { HfiError } from '@hfi/core';
import type { HfiMode, KubernetesMetricSourceKind } from '../config/types';

export const PUBLISHED_ENV = {
  mode: 'HFI_MODE',
  controlPlane: 'HFI_CONTROL_PLANE_ADDR',
  services: 'HFI_SERVICES_JSON',
  metrics: 'HFI_METRICS_JSON',
  ackTimeoutMs: 'HFI_ACK_TIMEOUT_MS',
  token: 'HFI_TOKEN',
  logDir: 'HFI_LOG_DIR',
} as const;

export interface PublishedService {
  name: string;
  namespace: string;
  /** local: the sidecar's pod name, its key in metric snapshots. (kubernetes: pods are found by labels.) */
  pod?: string;
  labels: Record<string, string>;
  /** Where tests send requests: the local sidecar's proxy, or the configured URL in kubernetes mode. */
  url?: string;
  /** local: the sidecar's admin endpoints (`/stats/prometheus`). */
  adminUrl?: string;
  /** local: the workload behind the sidecar. */
  upstream?: string;
}

export type PublishedMetrics =
  | { source: 'direct' }
  | { source: KubernetesMetricSourceKind; prometheusUrl?: string; kubeconfig?: string; context?: string };

export interface PresetRuntime {
  mode: HfiMode;
  controlPlane: string;
  token?: string;
  ackTimeoutMs: number;
  services: PublishedService[];
  metrics: PublishedMetrics;
  logDir?: string;
}

type Env = Record<string, string | undefined>;

/** Writes the runtime into `env`; returns the previous values so teardown can put them back. */
export function publishRuntime(runtime: PresetRuntime, env: Env = process.env): Record<string, string | undefined> {
  const previous: Record<string, string | undefined> = {};
  for (const name of Object.values(PUBLISHED_ENV)) previous[name] = env[name];
  const set = (name: string, value: string | undefined) => {
    if (value === undefined) delete env[name];
    else env[name] = value;
  };
  set(PUBLISHED_ENV.mode, runtime.mode);
  set(PUBLISHED_ENV.controlPlane, runtime.controlPlane);
  set(PUBLISHED_ENV.services, JSON.stringify(runtime.services));
  set(PUBLISHED_ENV.metrics, JSON.stringify(runtime.metrics));
  set(PUBLISHED_ENV.ackTimeoutMs, String(runtime.ackTimeoutMs));
  set(PUBLISHED_ENV.token, runtime.token);
  set(PUBLISHED_ENV.logDir, runtime.logDir);
  return previous;
}

export function restoreEnv(previous: Record<string, string | undefined>, env: Env = process.env): void {
  for (const [name, value] of Object.entries(previous)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
}

function parseJson(env: Env, name: string): unknown {
  try {
    return JSON.parse(env[name] as string) as unknown;
  } catch (cause) {
    throw new HfiError('HFI_ERR_PRESET_NOT_SET_UP', `${name} is not the JSON the preset's global setup writes`, {
      field: name,
      cause,
    });
  }
}

/** The runtime global setup published, read back in a test worker. */
export function readRuntime(env: Env = process.env): PresetRuntime {
  const missing = [PUBLISHED_ENV.services, PUBLISHED_ENV.controlPlane].filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new HfiError(
      'HFI_ERR_PRESET_NOT_SET_UP',
      `the hfi Jest preset's global setup has not run in this test process (${missing.join(' and ')} ${
        missing.length > 1 ? 'are' : 'is'
      } not set): add preset: '@hfi/jest-preset' to your Jest config, and keep its globalSetup if you set your own`,
      { details: { missing } },
    );
  }
  const services = parseJson(env, PUBLISHED_ENV.services);
  if (!Array.isArray(services)) {
    throw new HfiError('HFI_ERR_PRESET_NOT_SET_UP', `${PUBLISHED_ENV.services} must hold an array of services`, {
      field: PUBLISHED_ENV.services,
    });
  }
  const metrics = env[PUBLISHED_ENV.metrics] ? parseJson(env, PUBLISHED_ENV.metrics) : { source: 'direct' };
  const ackTimeoutMs = Number(env[PUBLISHED_ENV.ackTimeoutMs] ?? '');
  const mode = env[PUBLISHED_ENV.mode] === 'kubernetes' ? 'kubernetes' : 'local';
  return {
    mode,
    controlPlane: env[PUBLISHED_ENV.controlPlane] as string,
    ...(env[PUBLISHED_ENV.token] ? { token: env[PUBLISHED_ENV.token] as string } : {}),
    ackTimeoutMs: Number.isSafeInteger(ackTimeoutMs) && ackTimeoutMs > 0 ? ackTimeoutMs : 10_000,
    services: services as PublishedService[],
    metrics: metrics as PublishedMetrics,
    ...(env[PUBLISHED_ENV.logDir] ? { logDir: env[PUBLISHED_ENV.logDir] as string } : {}),
  };
}
