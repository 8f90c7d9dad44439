// The allocator the host calls to hand data to the plugin (proxy-wasm `malloc` / `proxy_on_memory_allocate`).
// Request headers arrive on every stream; giving them a fresh managed buffer each time is what drove the GC in the
// hot path. So a caller may arm a scratch region for the next allocation: the host then writes into memory the
// plugin owns for good, and nothing is left for the collector. There are two regions, so that two values read one
// after the other (:method, then :path) can be used together.

import { malloc as managedMalloc } from '@solo-io/proxy-runtime/assembly/malloc';

let scratch = new ArrayBuffer(2048);
let second = new ArrayBuffer(256);
/** 0: none; 1: the scratch region; 2: the second region. */
let armed: i32 = 0;

/** The next allocation the host asks for goes to the scratch region (grown if needed). */
export function armScratch(): void {
  armed = 1;
}

/** As armScratch, to the second region, which leaves what the scratch region holds alone. */
export function armSecondScratch(): void {
  armed = 2;
}

/** Whether `ptr` is one of the scratch regions; always disarms them. */
export function releaseScratch(ptr: usize): bool {
  armed = 0;
  return ptr != 0 && (ptr == changetype<usize>(scratch) || ptr == changetype<usize>(second));
}

function grown(region: ArrayBuffer, size: usize): ArrayBuffer {
  return <usize>region.byteLength < size ? new ArrayBuffer(<i32>(size + (size >> 1))) : region;
}

export function malloc(size: usize): usize {
  if (armed == 1) {
    armed = 0;
    scratch = grown(scratch, size);
    return changetype<usize>(scratch);
  }
  if (armed == 2) {
    armed = 0;
    second = grown(second, size);
    return changetype<usize>(second);
  }
  return managedMalloc(size);
}

/// proxy-wasm ABI 0.2.x name of the allocator.
export function proxy_on_memory_allocate(size: usize): usize {
  return malloc(size);
}
