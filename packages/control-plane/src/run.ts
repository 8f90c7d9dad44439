import type { Logger } from 'pino';
import type { ControlPlaneConfig } from './config';
import { createLogger } from './logger';
import { type StartedControlPlane, startControlPlane } from './start';

export interface RunningControlPlane extends StartedControlPlane {
  /** Resolves once a signal (or close()) has shut the control plane down. */
  readonly stopped: Promise<void>;
}

/** After a graceful close, the process gets this long to exit on its own before it is made to. */
const EXIT_GRACE_MS = 5000;

/**
 * Runs a control plane as a process (`hfi control-plane`): logs where it listens, and on SIGTERM or SIGINT stops
 * accepting, answers pending watches, closes the store and lets the process exit. A second signal exits at once.
 */
export async function runControlPlane(
  config: ControlPlaneConfig,
  options: { logger?: Logger } = {},
): Promise<RunningControlPlane> {
  const log = options.logger ?? createLogger(config.logLevel);
  const cp = await startControlPlane({
    listen: config.listen,
    store: config.store,
    ...(config.token ? { token: config.token } : {}),
    insecure: config.insecure,
    maxDelayMs: config.maxDelayMs,
    watchTimeoutMs: config.watchTimeoutMs,
    nodeStaleMs: config.nodeStaleMs,
    logger: log,
  });
  log.info(
    {
      url: cp.url,
      storage: cp.store.kind,
      auth: config.token ? 'bearer' : 'none',
      revision: cp.store.currentRevision(),
    },
    'control plane started',
  );

  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'control plane shutting down');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.once('SIGTERM', forceExit);
      process.once('SIGINT', forceExit);
      try {
        await cp.close();
        log.info('control plane stopped');
      } finally {
        process.off('SIGTERM', forceExit);
        process.off('SIGINT', forceExit);
        resolveStopped();
      }
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    stop(signal).then(
      () => {
        // Anything still holding the event loop (a stray socket) must not keep a stopped server alive.
        setTimeout(() => process.exit(0), EXIT_GRACE_MS).unref();
      },
      (err: unknown) => {
        log.error({ err }, 'control plane did not shut down cleanly');
        process.exit(1);
      },
    );
  };
  const forceExit = () => process.exit(1);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const close = () => stop('close()');
  return {
    url: cp.url,
    port: cp.port,
    store: cp.store,
    stopped,
    close,
    [Symbol.asyncDispose]: close,
  };
}
