// Reads and writes the guest's linear memory with bounds checks. Host calls translate a MemoryAccessError into
// INVALID_MEMORY_ACCESS (or WASI's FAULT) instead of trapping the VM.

import type { WasmMemory } from './wasm-api';

export class MemoryAccessError extends Error {
  override readonly name = 'MemoryAccessError';
}

export class GuestMemory {
  /** A Buffer over the whole memory, replaced when the memory grows (growing detaches the old ArrayBuffer). */
  private whole: Buffer;

  constructor(
    private readonly memory: WasmMemory,
    /** The guest's allocator (proxy_on_memory_allocate or malloc); 0 means failure. */
    private readonly allocate: (size: number) => number,
  ) {
    this.whole = Buffer.from(memory.buffer);
  }

  /** The whole memory, checked to hold [ptr, ptr + length). */
  private span(ptr: number, length: number): Buffer {
    const end = (ptr >>> 0) + (length >>> 0);
    // Reading memory.buffer is a call into V8's runtime, several per host call. The view needs replacing only after
    // the memory grew, which detaches the old buffer (its view's length is then 0), so any range it does not cover
    // is the cue to look again.
    if (end > this.whole.length) {
      this.whole = Buffer.from(this.memory.buffer);
      if (end > this.whole.length) {
        throw new MemoryAccessError(
          `guest memory access out of bounds: ${ptr >>> 0}+${length >>> 0} > ${this.whole.length}`,
        );
      }
    }
    return this.whole;
  }

  /** Whether [ptr, ptr + expected.length) holds `expected`. */
  holds(ptr: number, expected: Uint8Array): boolean {
    const start = ptr >>> 0;
    const whole = this.span(start, expected.length);
    for (let i = 0; i < expected.length; i++) if (whole[start + i] !== expected[i]) return false;
    return true;
  }

  /** A copy of [ptr, ptr + length): the guest may reuse its memory once the call returns. */
  bytes(ptr: number, length: number): Buffer {
    const start = ptr >>> 0;
    return Buffer.from(this.span(ptr, length).subarray(start, start + (length >>> 0)));
  }

  string(ptr: number, length: number): string {
    const start = ptr >>> 0;
    return this.span(ptr, length).toString('utf8', start, start + (length >>> 0));
  }

  readU32(ptr: number): number {
    return this.span(ptr, 4).readUInt32LE(ptr >>> 0);
  }

  writeU32(ptr: number, value: number): void {
    const at = ptr >>> 0;
    const whole = this.span(at, 4);
    // Byte stores (a Uint8Array keeps the low 8 bits): writeUInt32LE validates its arguments again on every call.
    whole[at] = value;
    whole[at + 1] = value >>> 8;
    whole[at + 2] = value >>> 16;
    whole[at + 3] = value >>> 24;
  }

  writeU64(ptr: number, value: bigint): void {
    this.span(ptr, 8).writeBigUInt64LE(BigInt.asUintN(64, value), ptr >>> 0);
  }

  writeBytes(ptr: number, data: Uint8Array): void {
    this.span(ptr, data.length).set(data, ptr >>> 0);
  }

  /**
   * Copies `data` into memory the guest allocates and writes its address and size into the two return slots, as
   * the ABI's `return_*_data`/`return_*_size` pairs expect. Empty data is returned as a null pointer and size 0.
   */
  returnBytes(data: Uint8Array, ptrSlot: number, sizeSlot: number): void {
    const address = this.allocateReturn(data.length, ptrSlot, sizeSlot);
    if (address !== 0) this.span(address, data.length).set(data, address);
    this.returnAt(address, data.length, ptrSlot, sizeSlot);
  }

  /**
   * As returnBytes for `size` bytes that `source.write` puts straight into guest memory (at `out[at]`), so hot data
   * such as a header map is not built in a Node buffer first.
   */
  returnWritten(size: number, ptrSlot: number, sizeSlot: number, source: GuestWriter): void {
    const address = this.allocateReturn(size, ptrSlot, sizeSlot);
    if (address !== 0) source.write(this.span(address, size), address);
    this.returnAt(address, size, ptrSlot, sizeSlot);
  }

  /** Guest memory for `size` bytes (0 for none), after checking the return slots so a bad slot leaks nothing. */
  private allocateReturn(size: number, ptrSlot: number, sizeSlot: number): number {
    this.span(ptrSlot, 4);
    this.span(sizeSlot, 4);
    if (size === 0) return 0;
    const address = this.allocate(size) >>> 0;
    if (address === 0) throw new MemoryAccessError(`guest allocator failed for ${size} bytes`);
    return address;
  }

  private returnAt(address: number, size: number, ptrSlot: number, sizeSlot: number): void {
    this.writeU32(ptrSlot, address);
    this.writeU32(sizeSlot, size);
  }
}

/** Writes data of a known size at `out[at]`. */
export interface GuestWriter {
  write(out: Buffer, at: number): void;
}
