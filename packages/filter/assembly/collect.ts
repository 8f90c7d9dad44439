// When the collector runs. The module is built with AssemblyScript's minimal runtime: no shadow stack and no
// incremental GC, so a stream callback pays only for its own work. The price is that collection must happen where no
// managed value lives on the wasm stack, which is exactly when the outermost host → plugin call returns (every
// object still in use is then reachable from a global). Every export goes through `enter`/`leave`; `leave` of the
// outermost call collects when the heap grew since the last collection, and otherwise every COLLECT_EVERY outermost
// calls. Growth alone is not enough: the allocator doubles the memory each time it runs out, so waiting for growth
// would let garbage fill twice the space every cycle. The periodic collection bounds the heap by the live objects
// plus the garbage of COLLECT_EVERY calls (the hot path allocates nothing, so that is little), at the cost of one
// mark-and-sweep per ~500 requests. (A trap fails the VM in Envoy and in our host, so a depth left behind by one
// does not matter.)

const COLLECT_EVERY: i32 = 2048;

let depth: i32 = 0;
let callsSinceCollection: i32 = 0;
let pagesAtLastCollection: i32 = memory.size();
let collections: u32 = 0;

export function enter(): void {
  depth++;
}

export function leave(): void {
  if (--depth != 0) return;
  if (++callsSinceCollection >= COLLECT_EVERY || memory.size() > pagesAtLastCollection) collectNow();
}

function collectNow(): void {
  __collect();
  collections++;
  callsSinceCollection = 0;
  pagesAtLastCollection = memory.size();
}

/** Number of collections so far (for tests, through the `hfi_gc_collections` export). */
export function hfi_gc_collections(): u32 {
  return collections;
}
