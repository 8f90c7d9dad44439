import { GuestMemory, MemoryAccessError } from './guest-memory';
import type { WasmMemory } from './wasm-api';

// The WebAssembly global is not in @types/node 20 (see wasm-api.ts).
type GrowableMemory = WasmMemory & { grow(pages: number): number };
const { Memory } = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => GrowableMemory };
  }
).WebAssembly;

describe('GuestMemory', () => {
  const PAGE = 65536;

  it('follows the memory when it grows, and still refuses ranges past its end', () => {
    const memory = new Memory({ initial: 1, maximum: 4 });
    let next = 1024;
    const guest = new GuestMemory(memory, (size) => {
      const at = next;
      next += size;
      return at;
    });
    guest.writeU32(16, 7);
    expect(guest.readU32(16)).toBe(7);
    expect(() => guest.readU32(PAGE)).toThrow(MemoryAccessError);
    // Growing detaches the buffer the cached view was over.
    memory.grow(2);
    expect(guest.readU32(16)).toBe(7);
    guest.writeU32(2 * PAGE + 8, 9);
    expect(new DataView(memory.buffer).getUint32(2 * PAGE + 8, true)).toBe(9);
    expect(guest.holds(2 * PAGE + 8, Uint8Array.of(9, 0, 0, 0))).toBe(true);
    expect(guest.holds(2 * PAGE + 8, Uint8Array.of(8, 0, 0, 0))).toBe(false);
    expect(() => guest.holds(3 * PAGE - 2, Uint8Array.of(0, 0, 0, 0))).toThrow(MemoryAccessError);
    expect(() => guest.string(3 * PAGE, 1)).toThrow(MemoryAccessError);
  });

  it('returns written data at the address the guest allocated, after growth inside the allocator', () => {
    const memory = new Memory({ initial: 1, maximum: 4 });
    // An allocator that has to grow the memory first, as a guest's malloc may.
    const guest = new GuestMemory(memory, (size) => {
      const at = memory.buffer.byteLength;
      memory.grow(1);
      expect(size).toBeLessThan(PAGE);
      return at;
    });
    guest.returnBytes(Buffer.from('hello'), 0, 4);
    const view = new DataView(memory.buffer);
    const at = view.getUint32(0, true);
    expect(at).toBe(PAGE);
    expect(view.getUint32(4, true)).toBe(5);
    expect(Buffer.from(memory.buffer, at, 5).toString()).toBe('hello');
  });
});
