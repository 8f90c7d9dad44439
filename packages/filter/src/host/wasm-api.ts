// The slice of the WebAssembly JS API the host uses. @types/node 20 does not declare the WebAssembly global (it
// lives in TypeScript's DOM lib), so it is typed here instead of pulling the DOM lib into every consumer.

/** A compiled module (WebAssembly.Module). */
export interface WasmModule {
  readonly [Symbol.toStringTag]: string;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmImportDescriptor {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

export type WasmImports = Record<string, Record<string, unknown>>;

interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: { new (bytes: Uint8Array): WasmModule; imports(module: WasmModule): WasmImportDescriptor[] };
  Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
  Memory: abstract new (...args: never[]) => WasmMemory;
}

export const Wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export function isWasmModule(value: unknown): value is WasmModule {
  return Object.prototype.toString.call(value) === '[object WebAssembly.Module]';
}

export function isWasmMemory(value: unknown): value is WasmMemory {
  return Object.prototype.toString.call(value) === '[object WebAssembly.Memory]';
}
