// The allocator the host calls to hand data to the plugin (proxy-wasm `malloc` / `proxy_on_memory_allocate`).
// Request headers arrive on every stream; giving them a fresh managed buffer each time is what drove the GC in the
// hot path. So a caller may arm the scratch region for the next allocation: the host then writes into memory the
// plugin owns for good, and nothing is left for the collector.

import { malloc as managedMalloc } from '@solo-io/proxy-runtime/assembly/malloc';

let scratch = new ArrayBuffer(2048);
let armed = false;

/** The next allocation the host asks for goes to the scratch region (grown if needed). */
export function armScratch(): void {
  armed = true;
}

/** Whether `ptr` is the scratch region; always disarms it. */
export function releaseScratch(ptr: usize): bool {
  armed = false;
  return ptr != 0 && ptr == changetype<usize>(scratch);
}

export function malloc(size: usize): usize {
  if (armed) {
    armed = false;
    if (<usize>scratch.byteLength < size) scratch = new ArrayBuffer(<i32>(size + (size >> 1)));
    return changetype<usize>(scratch);
  }
  return managedMalloc(size);
}

/// proxy-wasm ABI 0.2.x name of the allocator.
export function proxy_on_memory_allocate(size: usize): usize {
  return malloc(size);
}
