// local mode: the control plane (memory store) and one local sidecar per service, each running the bundled
// plugin.wasm, all on ephemeral loopback ports.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import { HfiError, isHfiError } from '@hfi/core';
import { type StartedSidecar, startSidecar } from '@hfi/filter';
import { ControlPlaneClient } from '@hfi/sdk';
import type { HfiPresetConfig, HfiServiceConfig } from '../config/types';
import type { PresetRuntime, PublishedService } from '../runtime/published-env';
import { LogSink } from './log-sinks';
import { waitForSidecars } from './wait-for-sidecars';

/** Plugin VMs per local sidecar (Istio's default --concurrency for a sidecar is 2). */
export const LOCAL_WORKERS = 2;

export interface LocalMesh {
  readonly controlPlane: StartedControlPlane;
  readonly sidecars: readonly { service: HfiServiceConfig; sidecar: StartedSidecar }[];
  readonly logDir: string;
  readonly runtime: PresetRuntime;
  /** Stops the sidecars, then the control plane; removes the log directory unless `keepLogs`. */
  close(options?: { keepLogs?: boolean }): Promise<void>;
}

export async function startLocalMesh(config: HfiPresetConfig): Promise<LocalMesh> {
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'hfi-jest-'));
  const sinks: LogSink[] = [];
  const sidecars: { service: HfiServiceConfig; sidecar: StartedSidecar }[] = [];
  let controlPlane: StartedControlPlane | undefined;
  const stop = async (keepLogs: boolean) => {
    await Promise.allSettled(sidecars.map(({ sidecar }) => sidecar.close()));
    await controlPlane?.close().catch(() => undefined);
    await Promise.allSettled(sinks.map((s) => s.close()));
    if (!keepLogs) await rm(logDir, { recursive: true, force: true });
  };

  try {
    const cpLog = new LogSink(logDir, 'control-plane', config.logLevel);
    sinks.push(cpLog);
    controlPlane = await startControlPlane({
      listen: '127.0.0.1:0',
      store: 'memory',
      logger: createLogger(config.logLevel === 'debug' ? 'debug' : 'info', cpLog),
      ...(config.token === undefined ? {} : { token: config.token }),
    });
    const cpUrl = controlPlane.url;
    const started = await Promise.allSettled(
      config.services.map(async (service) => {
        const sink = new LogSink(logDir, `sidecar-${service.name}`, config.logLevel);
        sinks.push(sink);
        try {
          const sidecar = await startSidecar({
            listen: '127.0.0.1:0',
            admin: '127.0.0.1:0',
            upstream: service.upstream as string,
            controlPlane: cpUrl,
            workload: service.name,
            namespace: service.namespace,
            pod: service.pod,
            labels: service.labels,
            workers: LOCAL_WORKERS,
            flushIntervalMs: config.flushIntervalMs,
            logSink: sink.line,
          });
          sidecars.push({ service, sidecar });
        } catch (cause) {
          const why = cause instanceof Error ? cause.message : String(cause);
          throw new HfiError(
            isHfiError(cause) ? cause.code : 'HFI_ERR_SIDECAR_START',
            `the local sidecar for service ${JSON.stringify(service.name)} did not start: ${why}`,
            { cause, field: `services[${config.services.indexOf(service)}]`, details: { service: service.name } },
          );
        }
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const client = new ControlPlaneClient({ url: cpUrl, timeoutMs: 5000 });
    try {
      await waitForSidecars({
        nodes: () => client.nodes(),
        sidecars: config.services.map((s) => ({ ...s, workers: LOCAL_WORKERS })),
        timeoutMs: config.startupTimeoutMs,
        logDir,
      });
    } finally {
      await client.close();
    }
  } catch (err) {
    await stop(true);
    throw err;
  }

  const byName = new Map(sidecars.map((s) => [s.service.name, s.sidecar]));
  const services: PublishedService[] = config.services.map((s) => {
    const sidecar = byName.get(s.name) as StartedSidecar;
    return {
      name: s.name,
      namespace: s.namespace,
      pod: s.pod,
      labels: s.labels,
      url: sidecar.url,
      adminUrl: sidecar.adminUrl,
      ...(s.upstream === undefined ? {} : { upstream: s.upstream }),
    };
  });
  const runtime: PresetRuntime = {
    mode: 'local',
    controlPlane: controlPlane.url,
    ...(config.token === undefined ? {} : { token: config.token }),
    ackTimeoutMs: config.ackTimeoutMs,
    services,
    metrics: { source: 'direct' },
    logDir,
  };
  let closing: Promise<void> | undefined;
  return {
    controlPlane,
    sidecars,
    logDir,
    runtime,
    close: (options = {}) => {
      closing ??= stop(options.keepLogs === true);
      return closing;
    },
  };
}
