// The likely cause of a failed assertion, when it is one the operators' troubleshooting guide lists: metric families
// absent (plugin not loaded, old metric names, a stats matcher), counts at zero (the selector or the match did not
// hit traffic, or no traffic reached the sidecar), a histogram behind its counter (no stats flush yet).
import { type FaultDelta, formatSelector } from '@hfi/sdk';
import { type WindowLike, windowFault } from './subject';

export type Focus = 'aborts' | 'delays' | 'histogram';

export interface CauseInput {
  delta: FaultDelta;
  window?: WindowLike;
  /** The quantities the assertion is about. */
  focus: readonly Focus[];
  /** The assertion expected some faults (a positive count), so zero is the surprise. */
  expectsFaults: boolean;
}

const list = (pods: readonly string[]) => pods.join(', ');

/** Whether the delta can be trusted at all: every pod scraped, every hfi family present. */
export function untrusted(delta: FaultDelta): string | undefined {
  if (delta.missingMetrics.length > 0) return `hfi metrics absent on ${list(delta.missingMetrics)}`;
  if (delta.scrapeErrors.length > 0) return `scrape failed on ${list(delta.scrapeErrors)}`;
  return undefined;
}

function focusCount(delta: FaultDelta, focus: readonly Focus[]): number {
  let n = 0;
  if (focus.includes('aborts')) n += delta.aborts;
  // A histogram that lags still has its counter: delays were injected even when the histogram shows none yet.
  if (focus.includes('delays') || focus.includes('histogram')) n += Math.max(delta.delays, delta.delayHistogram.count);
  return n;
}

export function likelyCauses(input: CauseInput): string[] {
  const { delta, window, focus } = input;
  const causes: string[] = [];
  if (delta.perPod.length === 0) {
    causes.push("the metric source found no sidecar to scrape: check the services' namespaces and labels");
  }
  if (delta.missingMetrics.length > 0) {
    causes.push(
      `the hfi metric families are absent on ${list(delta.missingMetrics)}: the Wasm plugin is not loaded there, ` +
        'or it is an old build exporting the old names (hfi.faults.* instead of wasmcustom.hfi_faults_*), ' +
        'or a stats matcher drops them (the inclusion list needs the "wasmcustom" prefix); the pod notes list the related metrics found',
    );
  }
  if (delta.scrapeErrors.length > 0) {
    causes.push(`the metrics scrape failed on ${list(delta.scrapeErrors)}, so their counts are not reliable`);
  }
  const zero = focusCount(delta, focus) === 0;
  if (input.expectsFaults && zero && delta.missingMetrics.length === 0 && delta.perPod.length > 0) {
    let text =
      'no fault was injected: the selector or the match did not hit traffic, or no traffic reached the sidecar';
    if (window) {
      const fault = windowFault(window);
      const pods = [...new Set(window.targets.map((t) => `${t.namespace}/${t.pod || t.instance}`))];
      text +=
        ` (the window selects ${formatSelector(window.selector)}, acked by ${pods.length === 0 ? 'no sidecar' : list(pods)}` +
        `, and matches ${JSON.stringify(fault.match ?? {})}); send the requests through the sidecar (service(name).url), not straight to the workload`;
    }
    causes.push(text);
  }
  if (focus.includes('histogram')) {
    const lagging = delta.perPod.filter((p) => p.histogramLagging).map((p) => p.pod);
    const timedOut = delta.notes.some((n) => n.includes('waiting for the delay histogram'));
    if (lagging.length > 0 || timedOut) {
      causes.push(
        `the delay histogram is behind delays_total${lagging.length > 0 ? ` on ${list(lagging)}` : ''}: ` +
          'Envoy refreshes histograms only at its stats flush (stats_flush_interval), and that flush has not happened yet; ' +
          'assert after the flush (win.metrics() waits for it up to flushTimeoutMs) or lower flushIntervalMs',
      );
    }
  }
  const resets = delta.perPod.filter((p) => p.reset).map((p) => p.pod);
  if (resets.length > 0) causes.push(`${list(resets)} restarted during the window: faults before the restart are lost`);
  const vanished = delta.perPod.filter((p) => p.vanished).map((p) => p.pod);
  if (vanished.length > 0) causes.push(`${list(vanished)} vanished during the window: their faults are lost`);
  if (window && !zero && (focus.includes('aborts') || focus.includes('delays'))) {
    const { percentage } = windowFault(window);
    if (percentage !== undefined && percentage < 100) {
      causes.push(
        `the window injects ${percentage}% of the matching requests, so the count is random (binomial): ` +
          `assert it with toHaveAbortRatio(${percentage / 100}, { requests })`,
      );
    }
  }
  return causes;
}
