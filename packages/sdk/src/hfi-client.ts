// The entry point tests use: fault windows on top of the control-plane client, plus the client's policy calls.
import { HfiError, type Policy, type PolicyWithStatus } from '@hfi/core';
import { ControlPlaneClient } from './client/control-plane-client';
import type { CallOptions, NodeList, PolicyList, StoredPolicy } from './client/types';
import type { MetricSource } from './metrics/source';
import { FaultWindow } from './window/fault-window';
import { DEFAULT_LEASE_MS } from './window/lease';
import { type FaultWindowOptions, parseWindowOptions } from './window/options';
import { buildWindowPolicy, checkWindowPolicy } from './window/policy';

export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
export const DEFAULT_FLUSH_TIMEOUT_MS = 12_000;

export interface HfiClientOptions {
  /** Base URL of the control plane, e.g. `http://127.0.0.1:8080`. */
  controlPlane: string | URL;
  /** Bearer token for writes. */
  token?: string;
  /** Where window snapshots come from; without it, windows still inject faults but have no metrics(). */
  metrics?: MetricSource;
  /** How long to wait for targets to appear (with expectTargets) and for their acks. Default 10 000 ms. */
  ackTimeoutMs?: number;
  /**
   * The longest a window's policy lives without being renewed, so a killed test leaves a fault behind for at most
   * this long (plus a margin of up to 5 s). At least 1000 ms. Default 30 000 ms.
   */
  leaseMs?: number;
  /** Bound on the wait for Envoy's histogram flush in metrics() and close(). Default 12 000 ms. */
  flushTimeoutMs?: number;
  /** Limit for each control-plane call. Default 30 000 ms. */
  timeoutMs?: number;
}

function positive(field: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new HfiError('HFI_ERR_CONFIG', `${field} must be a number of at least ${min}, got ${String(value)}`, {
      field,
    });
  }
  return value;
}

/**
 * Opens fault windows against an hfi control plane and tracks them: `close()` closes every open window, and an
 * open window is also closed when the process exits on its own or on SIGINT/SIGTERM.
 */
export class HfiClient implements AsyncDisposable {
  /** The underlying `/v1` client. */
  readonly controlPlane: ControlPlaneClient;
  readonly metrics: MetricSource | undefined;
  readonly ackTimeoutMs: number;
  readonly leaseMs: number;
  readonly flushTimeoutMs: number;
  readonly #windows = new Set<FaultWindow>();
  #closed = false;

  constructor(options: HfiClientOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new HfiError('HFI_ERR_CONFIG', 'HfiClient needs options: { controlPlane }', { field: 'options' });
    }
    this.ackTimeoutMs = positive('ackTimeoutMs', options.ackTimeoutMs, DEFAULT_ACK_TIMEOUT_MS);
    this.leaseMs = positive('leaseMs', options.leaseMs, DEFAULT_LEASE_MS, 1000);
    this.flushTimeoutMs = positive('flushTimeoutMs', options.flushTimeoutMs, DEFAULT_FLUSH_TIMEOUT_MS, 0);
    this.metrics = options.metrics;
    this.controlPlane = new ControlPlaneClient({
      url: options.controlPlane,
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  /** The windows opened by this client and not closed yet. */
  get windows(): readonly FaultWindow[] {
    return [...this.#windows];
  }

  /**
   * Resolves once every sidecar the selector matches has applied the window's policy and the baseline snapshot is
   * taken. Fails with HFI_ERR_WINDOW_OPTIONS (bad options, nothing sent), HFI_ERR_NO_TARGETS (nothing written) or
   * HFI_ERR_ACK_TIMEOUT (the policy is deleted again).
   */
  async openFaultWindow(options: FaultWindowOptions): Promise<FaultWindow> {
    if (this.#closed) {
      throw new HfiError('HFI_ERR_WINDOW_CLOSED', 'this HfiClient is closed; create a new one to open windows');
    }
    const spec = parseWindowOptions(options);
    // The policy model's own checks (header names, regex dialect), with option paths, before anything is sent.
    checkWindowPolicy(buildWindowPolicy(spec, 1));
    const metrics = options.metrics ?? this.metrics;
    return FaultWindow.open(
      spec,
      {
        controlPlane: this.controlPlane,
        ...(metrics ? { metrics } : {}),
        ackTimeoutMs: this.ackTimeoutMs,
        leaseMs: this.leaseMs,
        flushTimeoutMs: this.flushTimeoutMs,
        onClosed: (w) => this.#windows.delete(w),
      },
      (w) => this.#windows.add(w),
    );
  }

  applyPolicy(policy: Policy, options?: CallOptions): Promise<StoredPolicy> {
    return this.controlPlane.applyPolicy(policy, options);
  }

  listPolicies(options?: CallOptions): Promise<PolicyList> {
    return this.controlPlane.listPolicies(options);
  }

  getPolicy(name: string, options?: CallOptions): Promise<PolicyWithStatus> {
    return this.controlPlane.getPolicy(name, options);
  }

  deletePolicy(name: string, options?: CallOptions): Promise<void> {
    return this.controlPlane.deletePolicy(name, options);
  }

  nodes(options?: CallOptions): Promise<NodeList> {
    return this.controlPlane.nodes(options);
  }

  /**
   * Closes every open window (each deletes its policy and waits for the acks), then the HTTP connections. The
   * metric source is the caller's and stays open. Rejects with the first window's error after trying them all.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const results = await Promise.allSettled([...this.#windows].map((w) => w.close()));
    await this.controlPlane.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
