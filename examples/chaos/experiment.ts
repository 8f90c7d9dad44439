// Runs an experiment: the steady-state hypothesis is measured before any fault; then each step opens a fault
// window, drives traffic through it, checks the hypothesis during the fault and closes the window (the rollback:
// `await using` closes it however the step ends, and the window's lease removes the policy even if this process
// dies); finally the hypothesis is measured again after the last rollback. A deviation stops the remaining steps.
import type { FaultDelta, FaultWindowOptions, HfiClient } from '@hfi/sdk';
import { checkHypothesis, type HypothesisResult, type SteadyStateHypothesis } from './hypothesis';
import type { Progress } from './progress';
import { drive, summarize, type TrafficSummary } from './traffic';

export interface FaultStep {
  /** Policy-name stem, e.g. `catalog-abort`. */
  id: string;
  /** What the step does, in words. */
  title: string;
  /** The window without its duration: the experiment closes it when the step's traffic is done. */
  fault: Omit<FaultWindowOptions, 'duration' | 'name' | 'metrics'>;
  /** How long traffic runs through the open window. */
  trafficMs: number;
}

export interface Experiment {
  title: string;
  hypothesis: SteadyStateHypothesis;
  /** Requests for the before and after checks. */
  steadyStateRequests: number;
  /** Requests sent first and not measured (connections, JIT): the steady state is about the service, not start-up. */
  warmupRequests: number;
  /** Requests in flight at once. */
  concurrency: number;
  steps: FaultStep[];
}

export interface PhaseReport {
  label: string;
  traffic: TrafficSummary;
  hypothesis: HypothesisResult;
}

export interface WindowReport extends PhaseReport {
  index: number;
  step: FaultStep;
  /** The policy the window wrote. */
  policy?: string;
  /** Pods whose sidecars acked the policy, with their worker count. */
  targets: { pod: string; instances: number }[];
  /** The window's final delta (faults injected per pod, histogram). */
  delta?: FaultDelta;
  /** Aborts plus delays injected while the window was open. */
  injected: number;
  /** The step could not run (no targets, ack timeout, …). */
  error?: string;
}

/**
 * held: the hypothesis held before, during every window and after.
 * deviated: it broke during a window or after the rollback.
 * not-steady: it did not hold before any fault, so nothing was injected.
 * inconclusive: a window injected no fault, so it proves nothing; or a step failed to run.
 * interrupted: stopped by a signal.
 */
export type Verdict = 'held' | 'deviated' | 'not-steady' | 'inconclusive' | 'interrupted';

export interface ExperimentReport {
  experiment: Experiment;
  before?: PhaseReport;
  windows: WindowReport[];
  /** Steps not run because an earlier one deviated, failed or was interrupted. */
  skipped: FaultStep[];
  after?: PhaseReport;
  verdict: Verdict;
  reason: string;
  durationMs: number;
}

export interface ExperimentContext {
  /** Opens the windows; its metric source supplies the deltas. */
  hfi: HfiClient;
  /** Where the traffic goes: the service the hypothesis is about, as its callers reach it. */
  url: string;
  progress: Progress;
  signal: AbortSignal;
}

/** The window lives this much longer than its traffic, so a slow close cannot race its expiry. */
const WINDOW_MARGIN_MS = 30_000;

function unique(id: string): string {
  return `chaos-${id}-${Date.now().toString(36)}`.slice(0, 63);
}

function describeError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

export async function runExperiment(experiment: Experiment, ctx: ExperimentContext): Promise<ExperimentReport> {
  const started = performance.now();
  const { progress, signal } = ctx;
  const windows: WindowReport[] = [];
  const skipped: FaultStep[] = [];
  const finish = (verdict: Verdict, reason: string, before?: PhaseReport, after?: PhaseReport): ExperimentReport => ({
    experiment,
    ...(before ? { before } : {}),
    windows,
    skipped,
    ...(after ? { after } : {}),
    verdict,
    reason,
    durationMs: performance.now() - started,
  });

  const steadyState = async (label: string): Promise<PhaseReport> => {
    progress.step(`${label}: measuring the steady state (${experiment.steadyStateRequests} requests)`);
    const samples = await drive({
      url: ctx.url,
      requests: experiment.steadyStateRequests,
      concurrency: experiment.concurrency,
      signal,
      onSample: (s) => progress.traffic(label, s),
    });
    const traffic = summarize(samples);
    progress.trafficDone(label, traffic);
    const hypothesis = checkHypothesis(experiment.hypothesis, traffic);
    progress.step(`${label}: hypothesis ${hypothesis.ok ? 'held' : 'BROKEN'}`);
    return { label, traffic, hypothesis };
  };

  if (experiment.warmupRequests > 0) {
    progress.step(`warming up (${experiment.warmupRequests} requests, not measured)`);
    await drive({ url: ctx.url, requests: experiment.warmupRequests, concurrency: experiment.concurrency, signal });
  }
  const before = await steadyState('before');
  if (signal.aborted) return finish('interrupted', 'interrupted before any fault was injected', before);
  if (!before.hypothesis.ok) {
    skipped.push(...experiment.steps);
    return finish('not-steady', 'the hypothesis did not hold before any fault, so no fault was injected', before);
  }

  let verdict: Verdict = 'held';
  let reason = `the hypothesis held before, during ${experiment.steps.length} fault windows and after`;
  for (const [i, step] of experiment.steps.entries()) {
    if (verdict !== 'held' || signal.aborted) {
      skipped.push(step);
      continue;
    }
    const report = await runStep(experiment, step, i + 1, ctx);
    windows.push(report);
    if (signal.aborted) {
      verdict = 'interrupted';
      reason = `interrupted during window ${i + 1}; its fault was rolled back`;
    } else if (report.error !== undefined) {
      verdict = 'inconclusive';
      reason = `window ${i + 1} (${step.title}) could not run: ${report.error}`;
    } else if (!report.hypothesis.ok) {
      verdict = 'deviated';
      reason = `the hypothesis broke during window ${i + 1} (${step.title})`;
    } else if (report.injected === 0) {
      verdict = 'inconclusive';
      reason = `window ${i + 1} (${step.title}) injected no fault, so it proves nothing: check its selector and match`;
    }
  }
  if (verdict === 'interrupted') return finish(verdict, reason, before);

  const after = await steadyState('after');
  if (signal.aborted) return finish('interrupted', 'interrupted while measuring after the rollback', before, after);
  if (!after.hypothesis.ok && verdict === 'held') {
    verdict = 'deviated';
    reason = 'the hypothesis held during the faults but not after they were rolled back';
  } else if (!after.hypothesis.ok) {
    reason += '; it did not recover after the rollback either';
  } else if (verdict === 'deviated') {
    reason += '; it held again after the rollback';
  }
  return finish(verdict, reason, before, after);
}

async function runStep(
  experiment: Experiment,
  step: FaultStep,
  index: number,
  ctx: ExperimentContext,
): Promise<WindowReport> {
  const { progress, signal } = ctx;
  const label = `window ${index}/${experiment.steps.length}`;
  const base = { index, step, label, targets: [] as WindowReport['targets'], injected: 0 };
  progress.step(`${label}: ${step.title} — opening`);
  let traffic = summarize([]);
  try {
    await using win = await ctx.hfi.openFaultWindow({
      ...step.fault,
      name: unique(step.id),
      duration: step.trafficMs + WINDOW_MARGIN_MS,
    });
    const pods = new Map<string, number>();
    for (const t of win.targets) pods.set(t.pod || t.instance, (pods.get(t.pod || t.instance) ?? 0) + 1);
    const targets = [...pods].map(([pod, instances]) => ({ pod, instances }));
    progress.step(
      `${label}: policy ${win.name} acked by ${targets.map((t) => `${t.pod} (${t.instances} workers)`).join(', ')}`,
    );
    const samples = await drive({
      url: ctx.url,
      durationMs: step.trafficMs,
      concurrency: experiment.concurrency,
      signal,
      onSample: (s) => progress.traffic(label, s),
    });
    traffic = summarize(samples);
    progress.trafficDone(label, traffic);
    const hypothesis = checkHypothesis(experiment.hypothesis, traffic);
    progress.step(`${label}: hypothesis ${hypothesis.ok ? 'held' : 'BROKEN'}; rolling back`);
    const delta = await win.close();
    progress.step(`${label}: rolled back (policy ${win.name} deleted)`);
    return {
      ...base,
      policy: win.name,
      targets,
      traffic,
      hypothesis,
      ...(delta ? { delta, injected: delta.aborts + delta.delays } : {}),
    };
  } catch (err) {
    progress.step(`${label}: failed: ${describeError(err)}`);
    return {
      ...base,
      traffic,
      hypothesis: checkHypothesis(experiment.hypothesis, traffic),
      error: describeError(err),
    };
  }
}
