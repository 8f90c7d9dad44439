// Closing open windows when the process ends on its own (beforeExit) or is asked to (SIGINT, SIGTERM). The
// handlers exist only while a window is open, never keep the process alive, and after cleaning up a signal is
// raised again so the process ends the way it would have without us. A SIGKILL or a crash runs none of this;
// the policy's own duration covers those.

/** What the hooks need of a window. */
export interface ExitClosable {
  /** Deletes the window's policy quickly, without waiting for acks or metrics. Never rejects. */
  closeOnExit(): Promise<void>;
}

/** A signal handler gives up on cleaning after this long and lets the signal through. */
export const SIGNAL_CLEANUP_LIMIT_MS = 5_000;

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type ExitSignal = (typeof SIGNALS)[number];

const open = new Set<ExitClosable>();
let installed = false;
let signalled: ExitSignal | undefined;

function closeAll(): Promise<void> {
  return Promise.all([...open].map((w) => w.closeOnExit())).then(() => undefined);
}

function onBeforeExit(): void {
  // Pending requests keep the loop alive until they finish; then, with no window left, beforeExit comes again and
  // finds no handler.
  void closeAll();
}

function reraise(signal: ExitSignal): void {
  uninstall();
  // Someone else listens too: they got the same signal and decide what it means.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function onSignal(signal: ExitSignal): void {
  if (signalled !== undefined) {
    // A second signal while cleaning up: stop waiting.
    reraise(signal);
    return;
  }
  signalled = signal;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SIGNAL_CLEANUP_LIMIT_MS);
  });
  void Promise.race([closeAll(), limit]).then(() => {
    clearTimeout(timer);
    signalled = undefined;
    reraise(signal);
  });
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('beforeExit', onBeforeExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('beforeExit', onBeforeExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

export function trackForExit(window: ExitClosable): void {
  open.add(window);
  install();
}

export function untrackForExit(window: ExitClosable): void {
  open.delete(window);
  // While a signal is being handled, the handlers stay until it is raised again.
  if (open.size === 0 && signalled === undefined) uninstall();
}

/** Whether process handlers are installed (for tests). */
export function exitHooksInstalled(): boolean {
  return installed;
}
