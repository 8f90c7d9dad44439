// Reads and writes the guest's linear memory with bounds checks. Host calls translate a MemoryAccessError into
// INVALID_MEMORY_ACCESS (or WASI's FAULT) instead of trapping the VM.

import type { WasmMemory } from './wasm-api';

export class MemoryAccessError extends Error {
  override readonly name = 'MemoryAccessError';
}

export class GuestMemory {
  constructor(
    private readonly memory: WasmMemory,
    /** The guest's allocator (proxy_on_memory_allocate or malloc); 0 means failure. */
    private readonly allocate: (size: number) => number,
  ) {}

  /** A fresh view each time: growing memory detaches earlier ones. */
  private view(ptr: number, length: number): Uint8Array {
    const start = ptr >>> 0;
    const size = length >>> 0;
    const buffer = this.memory.buffer;
    if (start + size > buffer.byteLength) {
      throw new MemoryAccessError(`guest memory access out of bounds: ${start}+${size} > ${buffer.byteLength}`);
    }
    return new Uint8Array(buffer, start, size);
  }

  bytes(ptr: number, length: number): Buffer {
    return Buffer.from(this.view(ptr, length));
  }

  string(ptr: number, length: number): string {
    return this.bytes(ptr, length).toString('utf8');
  }

  readU32(ptr: number): number {
    return Buffer.from(this.view(ptr, 4)).readUInt32LE(0);
  }

  writeU32(ptr: number, value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0, 0);
    this.view(ptr, 4).set(b);
  }

  writeU64(ptr: number, value: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, value), 0);
    this.view(ptr, 8).set(b);
  }

  writeBytes(ptr: number, data: Uint8Array): void {
    this.view(ptr, data.length).set(data);
  }

  /**
   * Copies `data` into memory the guest allocates and writes its address and size into the two return slots, as
   * the ABI's `return_*_data`/`return_*_size` pairs expect. Empty data is returned as a null pointer and size 0.
   */
  returnBytes(data: Uint8Array, ptrSlot: number, sizeSlot: number): void {
    // Validate the slots before allocating, so a bad slot does not leak guest memory.
    this.view(ptrSlot, 4);
    this.view(sizeSlot, 4);
    let address = 0;
    if (data.length > 0) {
      address = this.allocate(data.length) >>> 0;
      if (address === 0) throw new MemoryAccessError(`guest allocator failed for ${data.length} bytes`);
      this.writeBytes(address, data);
    }
    this.writeU32(ptrSlot, address);
    this.writeU32(sizeSlot, data.length);
  }
}
