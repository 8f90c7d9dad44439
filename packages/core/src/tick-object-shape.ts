// Node 20's process.nextTick builds each queued tick as an object literal with computed keys. V8 keeps the literal's
// hidden classes (maps) alive only through live tick objects, and records them in nextTick's inline caches. When a
// full GC runs while the tick queue is empty, those maps are freed; the next tick builds new ones, the caches see a
// map they did not record and go megamorphic for the life of the process. From then on every nextTick defines its
// keys in V8's runtime: a tick, queued and run, took about 850 ns instead of 140 here. A proxied request queues
// several ticks (socket reads, stream ends, write callbacks), so a server in that state pays several µs per request;
// most filter-sidecar processes probed under load were in it. Holding one tick object keeps the maps, and so the
// caches, as they were.

import { executionAsyncResource } from 'node:async_hooks';

let held: object | undefined;
let requested = false;

/**
 * Keeps one of process.nextTick's tick objects alive for the life of the process (once per process; later calls do
 * nothing). Call it when a server starts, before its load: it cannot undo caches that have already gone megamorphic.
 */
export function holdTickObjectShape(): void {
  if (requested) return;
  requested = true;
  // While a tick's callback runs, Node reports the tick object itself as the current async resource.
  process.nextTick(() => {
    held = executionAsyncResource();
  });
}

/** @internal The held tick object, once the tick that takes it has run (for tests). */
export function heldTickObject(): object | undefined {
  return held;
}
