// An open fault window: its policy is written and acked by every target, a baseline snapshot is taken, and a
// lease keeps the policy alive (and only alive) while the window is open.
import { HfiError, isHfiError, type NodeStatus, type Policy, type Selector } from '@hfi/core';
import type { NodeList, StoredPolicy } from '../client/types';
import { diffSnapshots } from '../metrics/delta';
import { waitForHistogramFlush } from '../metrics/flush';
import type { MetricSource } from '../metrics/source';
import type { FaultDelta, Snapshot } from '../metrics/types';
import { type NodesReader, waitForAcks, waitForTargets } from './acks';
import { type ExitClosable, trackForExit, untrackForExit } from './exit-hooks';
import { leaseStep, renewalIntervalMs } from './lease';
import type { WindowSpec } from './options';
import { buildWindowPolicy } from './policy';

/** What a window needs of the control-plane client. */
export interface WindowControlPlane extends NodesReader {
  applyPolicy(policy: Policy): Promise<StoredPolicy>;
  deletePolicy(name: string): Promise<void>;
  nodes(): Promise<NodeList>;
}

export interface WindowDeps {
  controlPlane: WindowControlPlane;
  metrics?: MetricSource;
  ackTimeoutMs: number;
  leaseMs: number;
  /** Bound on the wait for Envoy's histogram flush in metrics() and close(). */
  flushTimeoutMs: number;
  /** Called once the window is closed (the client stops tracking it). */
  onClosed?: (window: FaultWindow) => void;
}

/** A renewal that failed is tried again after this long (bounded by the lease it is trying to extend). */
const RENEW_RETRY_MS = 1_000;

function errorText(err: unknown): string {
  if (err instanceof Error) return isHfiError(err) ? `${err.message} (${err.code})` : err.message;
  return String(err);
}

export class FaultWindow implements AsyncDisposable, ExitClosable {
  /** The policy's name. */
  readonly name: string;
  readonly selector: Selector;
  /** When the window ends on its own (ms since epoch): the policy is not renewed past it. */
  readonly endsAtMs: number;

  readonly #spec: WindowSpec;
  readonly #deps: WindowDeps;
  #policy: Policy;
  #revision = 0;
  /** Server clock at the first write. */
  #writtenAtMs: number | undefined;
  /** Local clock at the first write. */
  #writtenLocalMs = 0;
  #targets: readonly NodeStatus[] = [];
  #baseline: Snapshot | undefined;
  readonly #notes: string[] = [];

  #firstWrite: Promise<unknown> | undefined;
  /** Set once a write succeeded: a window whose first write failed must not delete a namesake policy. */
  #wrote = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #stopped = false;
  #closing: Promise<FaultDelta | undefined> | undefined;
  #closed = false;
  #final: FaultDelta | undefined;

  private constructor(spec: WindowSpec, deps: WindowDeps, startedAtMs: number) {
    this.#spec = spec;
    this.#deps = deps;
    this.name = spec.name;
    this.selector = { ...spec.selector };
    this.endsAtMs = startedAtMs + spec.durationMs;
    this.#policy = buildWindowPolicy(spec, leaseStep(spec.durationMs, deps.leaseMs).durationSeconds);
  }

  /**
   * Finds the targets, writes the policy, waits for every target's ack and takes the baseline. On any failure
   * after the write, the policy is deleted again before the error is thrown.
   */
  static async open(spec: WindowSpec, deps: WindowDeps, track?: (w: FaultWindow) => void): Promise<FaultWindow> {
    const ackTimeoutMs = spec.ackTimeoutMs ?? deps.ackTimeoutMs;
    await waitForTargets(deps.controlPlane, {
      selector: spec.selector,
      ...(spec.expectTargets === undefined ? {} : { expected: spec.expectTargets }),
      timeoutMs: ackTimeoutMs,
    });
    const window = new FaultWindow(spec, deps, Date.now());
    // Tracked before the write, so an interrupt during the open still removes the policy.
    trackForExit(window);
    track?.(window);
    try {
      window.#firstWrite = window.#write();
      await window.#firstWrite;
      const { acked } = await waitForAcks(deps.controlPlane, {
        selector: spec.selector,
        revision: window.#revision,
        ...(window.#writtenAtMs === undefined ? {} : { writtenAtMs: window.#writtenAtMs }),
        timeoutMs: ackTimeoutMs,
        policy: spec.name,
      });
      window.#targets = acked;
      if (deps.metrics) window.#baseline = await deps.metrics.snapshot();
    } catch (err) {
      await window.closeOnExit();
      throw err;
    }
    return window;
  }

  /** The policy as last written (its `duration_seconds` is the current lease). */
  get policy(): Policy {
    return this.#policy;
  }

  /** Store revision of the latest write of the policy (renewals move it). */
  get revision(): number {
    return this.#revision;
  }

  /** The sidecar instances that acked the policy when the window opened. */
  get targets(): readonly NodeStatus[] {
    return this.#targets;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The snapshot taken once every target had acked; undefined without a metric source. */
  get baseline(): Snapshot | undefined {
    return this.#baseline;
  }

  /** Things that went wrong without failing the window (a renewal that had to be retried, a late ack on close). */
  get notes(): readonly string[] {
    return this.#notes;
  }

  /**
   * Fault counts since the baseline. When the window delays, waits (bounded) for Envoy's histogram flush so the
   * histogram agrees with delays_total; `notes` says so when it gave up.
   */
  async metrics(): Promise<FaultDelta> {
    if (this.#closed || this.#closing) {
      throw new HfiError(
        'HFI_ERR_WINDOW_CLOSED',
        `fault window ${this.name} is closed; use the delta close() returned`,
        {
          details: { window: this.name },
        },
      );
    }
    return this.#delta();
  }

  /**
   * Deletes the policy, waits (bounded) until the targets applied the deletion, takes the final snapshot and
   * returns the final delta (undefined without a metric source). Idempotent: later calls return the same result.
   * If the delete itself fails, the error is thrown and a later call tries again; the policy's lease is no longer
   * renewed either way.
   */
  close(): Promise<FaultDelta | undefined> {
    if (this.#closed) return Promise.resolve(this.#final);
    this.#closing ??= this.#close().catch((err: unknown) => {
      this.#closing = undefined;
      throw err;
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** For the exit hooks and failed opens: stop renewing and delete the policy, quickly. Never rejects. */
  async closeOnExit(): Promise<void> {
    if (this.#closed) return;
    if (this.#closing) {
      await this.#closing.catch(() => undefined);
      if (this.#closed) return;
    }
    try {
      await this.#stopRenewing();
      await this.#deletePolicy();
    } catch {
      // The lease ends the policy anyway.
    }
    this.#markClosed();
  }

  async #close(): Promise<FaultDelta | undefined> {
    await this.#stopRenewing();
    await this.#deletePolicy();
    // The store revision right after the delete is at least the delete's own.
    const { revision } = await this.#deps.controlPlane.nodes();
    try {
      await waitForAcks(this.#deps.controlPlane, {
        selector: this.selector,
        revision,
        ...(this.#writtenAtMs === undefined ? {} : { writtenAtMs: this.#writtenAtMs }),
        graceFromMs: this.#writtenLocalMs,
        timeoutMs: this.#spec.ackTimeoutMs ?? this.#deps.ackTimeoutMs,
        policy: this.name,
        what: `the deletion of policy ${JSON.stringify(this.name)}`,
      });
    } catch (err) {
      // Not fatal: the policy is gone from the store; a sidecar that lags behind picks the deletion up later.
      if (isHfiError(err, 'HFI_ERR_ACK_TIMEOUT')) this.#notes.push(err.message);
      else if (!isHfiError(err, 'HFI_ERR_NO_TARGETS')) throw err;
    }
    const final = this.#deps.metrics ? await this.#delta() : undefined;
    this.#final = final;
    this.#markClosed();
    return final;
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    untrackForExit(this);
    this.#deps.onClosed?.(this);
  }

  async #delta(): Promise<FaultDelta> {
    const source = this.#deps.metrics;
    if (!source || !this.#baseline) {
      throw new HfiError(
        'HFI_ERR_CONFIG',
        'this fault window has no metric source: pass metrics to new HfiClient({ metrics }) or to openFaultWindow',
        { field: 'metrics', details: { window: this.name } },
      );
    }
    let delta: FaultDelta;
    if (this.#spec.delay) {
      ({ delta } = await waitForHistogramFlush(source, this.#baseline, { timeoutMs: this.#deps.flushTimeoutMs }));
    } else {
      delta = diffSnapshots(this.#baseline, await source.snapshot());
    }
    delta.notes.push(...this.#notes);
    return delta;
  }

  async #deletePolicy(): Promise<void> {
    if (!this.#wrote) return;
    try {
      await this.#deps.controlPlane.deletePolicy(this.name);
    } catch (err) {
      // Already gone: expired at the end of the window, or deleted by someone else.
      if (!isHfiError(err, 'HFI_ERR_POLICY_NOT_FOUND')) throw err;
    }
  }

  /** Writes the policy with the lease that fits the time left; returns whether another write is due later. */
  async #write(): Promise<boolean> {
    // The first write always happens, however short the window; a renewal past the end does not.
    const remainingMs = Math.max(this.endsAtMs - Date.now(), this.#wrote ? 0 : 1);
    if (remainingMs <= 0) return false;
    const step = leaseStep(remainingMs, this.#deps.leaseMs);
    const policy = buildWindowPolicy(this.#spec, step.durationSeconds);
    const stored = await this.#deps.controlPlane.applyPolicy(policy);
    this.#wrote = true;
    this.#policy = policy;
    const status = 'status' in stored ? stored.status : undefined;
    this.#revision =
      typeof status?.revision === 'number' ? status.revision : (await this.#deps.controlPlane.nodes()).revision;
    if (this.#writtenLocalMs === 0) {
      // The first write: instances last seen before it and never acking since are a restarted pod's old ones.
      this.#writtenLocalMs = Date.now();
      const writtenAt = status?.updated_at === undefined ? Number.NaN : Date.parse(status.updated_at);
      this.#writtenAtMs = Number.isFinite(writtenAt) ? writtenAt : undefined;
    }
    if (step.renew) this.#scheduleRenewal(renewalIntervalMs(this.#deps.leaseMs));
    return step.renew;
  }

  #scheduleRenewal(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(() => {
      this.#renewTimer = undefined;
      this.#renewing = this.#renew().finally(() => {
        this.#renewing = undefined;
      });
    }, delayMs);
    // A lease timer must not keep a finished test process alive; the exit hooks close the window instead.
    this.#renewTimer.unref();
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#write();
    } catch (err) {
      if (this.#stopped) return;
      this.#notes.push(
        `renewing the lease of policy ${this.name} failed at ${new Date().toISOString()}: ${errorText(err)}`,
      );
      this.#scheduleRenewal(Math.min(RENEW_RETRY_MS, renewalIntervalMs(this.#deps.leaseMs)));
    }
  }

  /** No more writes after this resolves, so a delete cannot be overtaken by a renewal. */
  async #stopRenewing(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#renewTimer);
    this.#renewTimer = undefined;
    await this.#firstWrite?.catch(() => undefined);
    await this.#renewing;
  }
}
