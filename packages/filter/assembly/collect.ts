// When the collector runs. The module is built with AssemblyScript's minimal runtime: no shadow stack and no
// incremental GC, so a stream callback pays only for its own work. The price is that collection must happen where no
// managed value lives on the wasm stack, which is exactly when the outermost host → plugin call returns (every
// object still in use is then reachable from a global). Every export goes through `enter`/`leave`; `leave` of the
// outermost one collects when the heap grew since the last collection, so memory cannot grow without a collection
// at the next return to the host. (A trap fails the VM in Envoy and in our host, so a depth left behind by one
// does not matter.)

let depth: i32 = 0;
let pagesAtLastCollection: i32 = memory.size();
let collections: u32 = 0;

export function enter(): void {
  depth++;
}

export function leave(): void {
  if (--depth == 0 && memory.size() > pagesAtLastCollection) collectNow();
}

function collectNow(): void {
  __collect();
  collections++;
  pagesAtLastCollection = memory.size();
}

/** Number of collections so far (for tests, through the `hfi_gc_collections` export). */
export function hfi_gc_collections(): u32 {
  return collections;
}
