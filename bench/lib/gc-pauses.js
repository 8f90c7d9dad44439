// The garbage collector's pauses in this process, as the gc performance entries report them: when (on the
// performance.now() clock), how long, and which kind. Benches use them to tell GC pauses from other stalls.
const { constants, PerformanceObserver } = require('node:perf_hooks');

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

/** Starts recording; `take()` returns the pauses since the previous call (or since the start). */
function recordGcPauses() {
  let pauses = [];
  const add = (entries) => {
    for (const e of entries)
      pauses.push({ start: e.startTime, end: e.startTime + e.duration, ms: e.duration, kind: KINDS[e.detail?.kind] });
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return {
    async take() {
      // Node queues a GC's entry from a setImmediate after the GC, so let one run first.
      await new Promise((resolve) => setImmediate(resolve));
      add(observer.takeRecords());
      const taken = pauses;
      pauses = [];
      return taken;
    },
    stop() {
      observer.disconnect();
    },
  };
}

/** Count, scavenges, total and longest pause (ms) of a list of pauses. */
function summarizeGcPauses(pauses) {
  return {
    count: pauses.length,
    scavenges: pauses.filter((p) => p.kind === 'scavenge').length,
    totalMs: pauses.reduce((sum, p) => sum + p.ms, 0),
    maxMs: pauses.reduce((max, p) => Math.max(max, p.ms), 0),
  };
}

module.exports = { recordGcPauses, summarizeGcPauses };
