// Stream callbacks without a stream object. The runtime would build a Context per stream and keep it in a map; that
// allocation on every request is what made the GC run in the hot path. A stream's only state here is whether a fault
// holds it, which its root keeps by context id, so a stream id just needs to find its root.

import * as runtime from '@solo-io/proxy-runtime/assembly/exports';
import {
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  FilterTrailersStatusValues,
  RootContext,
} from '@solo-io/proxy-runtime/assembly/index';
import { ensureRootContext } from '@solo-io/proxy-runtime/assembly/runtime';
import { HfiRoot } from './root';

const roots = new Array<HfiRoot>();
/** Stream id → root id, kept only while a VM has more than one root (plugins sharing a VM). */
const streamRoots = new Map<u32, u32>();

/** The root context factory given to the runtime. */
export function createRoot(contextId: u32): RootContext {
  const root = new HfiRoot(contextId);
  roots.push(root);
  return root;
}

function rootById(id: u32): HfiRoot | null {
  for (let i = 0; i < roots.length; i++) if (unchecked(roots[i]).context_id == id) return unchecked(roots[i]);
  return null;
}

function rootOf(streamId: u32): HfiRoot | null {
  if (roots.length == 1) return unchecked(roots[0]);
  if (!streamRoots.has(streamId)) return null;
  return rootById(streamRoots.get(streamId));
}

export function contextCreate(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) {
    ensureRootContext(context_id);
    return;
  }
  if (roots.length > 1 || rootById(root_context_id) === null) {
    // Several roots, or a root this call creates (the proxy may name a root before creating it).
    ensureRootContext(root_context_id);
    streamRoots.set(context_id, root_context_id);
  }
}

export function requestHeaders(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  const root = rootOf(context_id);
  return root === null ? FilterHeadersStatusValues.Continue : root.onRequest(context_id);
}

// While a fault holds the request, its body and trailers wait too.
export function requestBody(context_id: u32, body_buffer_length: u32, end_of_stream: u32): i32 {
  const root = rootOf(context_id);
  return root !== null && root.isPaused(context_id)
    ? FilterDataStatusValues.StopIterationAndBuffer
    : FilterDataStatusValues.Continue;
}

export function requestTrailers(context_id: u32, trailers: u32): i32 {
  const root = rootOf(context_id);
  return root !== null && root.isPaused(context_id)
    ? FilterTrailersStatusValues.StopIteration
    : FilterTrailersStatusValues.Continue;
}

function forget(context_id: u32): void {
  const root = rootOf(context_id);
  if (root !== null) root.forget(context_id);
}

export function done(context_id: u32): u32 {
  if (rootById(context_id) !== null) return runtime.proxy_on_done(context_id);
  forget(context_id);
  return 1;
}

export function deleteContext(context_id: u32): void {
  const root = rootById(context_id);
  if (root !== null) {
    runtime.proxy_on_delete(context_id);
    roots.splice(roots.indexOf(root), 1);
    return;
  }
  forget(context_id);
  if (streamRoots.size > 0 && streamRoots.has(context_id)) streamRoots.delete(context_id);
}
