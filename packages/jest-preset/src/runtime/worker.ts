// What a test file sees: one HfiClient per test file (Jest gives every file its own global object, so the state
// lives there, under a registered symbol: the setup file and the test file share it even when they load two copies
// of this module), built on first use from what global setup published.
import { HfiError } from '@hfi/core';
import { type FaultWindow, HfiClient, type MetricSource } from '@hfi/sdk';
import { createMetricSource } from './metric-source';
import { type PresetRuntime, PUBLISHED_ENV, type PublishedService, readRuntime } from './published-env';

interface WorkerState {
  runtime?: PresetRuntime;
  client?: HfiClient;
  source?: MetricSource;
}

const STATE_KEY = Symbol.for('hfi.jest-preset.worker');

function state(): WorkerState {
  const holder = globalThis as unknown as Record<symbol, WorkerState | undefined>;
  let s = holder[STATE_KEY];
  if (s === undefined) {
    s = {};
    holder[STATE_KEY] = s;
  }
  return s;
}

/** What global setup published for this run (read once per test file). */
export function presetRuntime(): PresetRuntime {
  const s = state();
  s.runtime ??= readRuntime();
  return s.runtime;
}

/** The test file's client: the run's control plane, metrics from every configured service's sidecar. */
export function getHfi(): HfiClient {
  const s = state();
  if (s.client === undefined) {
    const runtime = presetRuntime();
    const source = createMetricSource(runtime);
    s.source = source;
    s.client = new HfiClient({
      controlPlane: runtime.controlPlane,
      metrics: source,
      ackTimeoutMs: runtime.ackTimeoutMs,
      ...(runtime.token === undefined ? {} : { token: runtime.token }),
    });
  }
  return s.client;
}

/** The windows this test file's client has open (none when it was never used). */
export function openWindows(): readonly FaultWindow[] {
  return state().client?.windows ?? [];
}

/** Forgets the runtime read from the environment (it is read again on next use). */
export function forgetRuntime(): void {
  state().runtime = undefined;
}

/** Closes the test file's client (and every window still open) and its metric source. */
export async function closeWorkerClient(): Promise<void> {
  const s = state();
  const { client, source } = s;
  s.client = undefined;
  s.source = undefined;
  try {
    await client?.close();
  } finally {
    await source?.close?.();
  }
}

/**
 * A ready HfiClient for the run's control plane and sidecars. It is created on first use, so importing this module
 * outside the preset (for the matchers alone) does not need the preset's global setup.
 */
export const hfi: HfiClient = new Proxy(Object.create(HfiClient.prototype) as HfiClient, {
  get(_target, prop) {
    const client = getHfi();
    const value: unknown = Reflect.get(client, prop, client);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(client) : value;
  },
  has(_target, prop) {
    return prop in getHfi();
  },
  set() {
    return false;
  },
});

export interface ServiceHandle {
  readonly name: string;
  readonly namespace: string;
  /** Where tests send requests so they pass through the sidecar (local) or reach the service (kubernetes). */
  readonly url: string;
  /** local: the sidecar's pod name, its key in metric snapshots. */
  readonly pod: string | undefined;
  /** local: the sidecar's admin endpoints, e.g. `${adminUrl}/stats/prometheus`. */
  readonly adminUrl: string | undefined;
  /** local: the workload behind the sidecar. */
  readonly upstream: string | undefined;
  /** `{ service, namespace }`, ready for `hfi.openFaultWindow({ selector: service('x').selector, ... })`. */
  readonly selector: { service: string; namespace: string };
}

function handle(service: PublishedService, runtime: PresetRuntime): ServiceHandle {
  return {
    name: service.name,
    namespace: service.namespace,
    get url(): string {
      if (service.url === undefined) {
        throw new HfiError(
          'HFI_ERR_PRESET_CONFIG',
          `service ${JSON.stringify(service.name)} has no url: in ${runtime.mode} mode give services[].url in hfi.config.json (how tests reach it)`,
          { field: 'services[].url', details: { service: service.name } },
        );
      }
      return service.url;
    },
    pod: service.pod,
    adminUrl: service.adminUrl,
    upstream: service.upstream,
    selector: { service: service.name, namespace: service.namespace },
  };
}

/** The configured service of that name. */
export function service(name: string): ServiceHandle {
  const runtime = presetRuntime();
  const found = runtime.services.find((s) => s.name === name);
  if (!found) {
    const known = runtime.services.map((s) => JSON.stringify(s.name)).join(', ');
    throw new HfiError(
      'HFI_ERR_UNKNOWN_SERVICE',
      `no service named ${JSON.stringify(name)} in the hfi config; configured: ${known || '(none)'}`,
      { field: 'name', details: { name, services: runtime.services.map((s) => s.name), env: PUBLISHED_ENV.services } },
    );
  }
  return handle(found, runtime);
}

/** Every configured service. */
export function services(): ServiceHandle[] {
  const runtime = presetRuntime();
  return runtime.services.map((s) => handle(s, runtime));
}
