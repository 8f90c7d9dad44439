// What the matchers accept: a fault window (its metrics() is called) or a FaultDelta. Both are recognised by shape,
// not by class, so two installed copies of @hfi/sdk (or a delta read back from JSON) still work.
import type { NodeStatus, Policy, Selector } from '@hfi/core';
import type { FaultDelta } from '@hfi/sdk';

/** The parts of a FaultWindow the matchers use. */
export interface WindowLike {
  readonly name: string;
  readonly selector: Selector;
  readonly revision: number;
  readonly targets: readonly NodeStatus[];
  readonly closed: boolean;
  readonly policy: Policy;
  metrics(): Promise<FaultDelta>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function isFaultDelta(value: unknown): value is FaultDelta {
  if (!isObject(value)) return false;
  const h = value.delayHistogram;
  return (
    typeof value.aborts === 'number' &&
    typeof value.delays === 'number' &&
    Array.isArray(value.perPod) &&
    isObject(h) &&
    Array.isArray(h.buckets) &&
    Array.isArray(value.missingMetrics)
  );
}

export function isWindowLike(value: unknown): value is WindowLike {
  return (
    isObject(value) &&
    typeof value.metrics === 'function' &&
    typeof value.close === 'function' &&
    isObject(value.selector) &&
    typeof value.name === 'string'
  );
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The window's fault as configured (first rule; windows write one rule). */
export function windowFault(window: WindowLike): {
  percentage?: number;
  delayMs?: number;
  abortStatus?: number;
  match?: unknown;
} {
  const rule = window.policy?.spec?.rules?.[0];
  if (!rule) return {};
  return {
    percentage: rule.fault.percentage,
    ...(rule.fault.delay ? { delayMs: rule.fault.delay.fixed_delay_ms } : {}),
    ...(rule.fault.abort ? { abortStatus: rule.fault.abort.httpStatus } : {}),
    match: rule.match,
  };
}
