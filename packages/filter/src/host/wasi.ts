// The WASI preview1 functions the proxy-wasm spec lists for plugins (logging through fd_write, clocks, randomness,
// environment, arguments), a few more that language runtimes probe at start, and AssemblyScript's `env.abort`,
// `env.trace` and `env.seed`.

import { randomFillSync, randomInt } from 'node:crypto';
import { WasiErrno } from './abi';
import { type GuestMemory, MemoryAccessError } from './guest-memory';

type HostFunction = (...args: never[]) => number | bigint | undefined;

/** Thrown by proc_exit and AssemblyScript's abort; the VM treats it like any trap. */
export class GuestExit extends Error {
  override readonly name = 'GuestExit';
}

export interface WasiHost {
  memory(): GuestMemory;
  /** Plugin output; level as proxy_log_level_t. */
  pluginLog(level: number, message: string): void;
  environment(): Record<string, string>;
  nowNanos(): bigint;
}

function wasiGuarded<A extends unknown[]>(fn: (...args: A) => number): (...args: A) => number {
  return (...args: A) => {
    try {
      return fn(...args);
    } catch (error) {
      if (error instanceof MemoryAccessError) return WasiErrno.Fault;
      throw error;
    }
  };
}

const INFO = 2;
const ERROR = 4;
const CRITICAL = 5;

export function createWasiImports(host: WasiHost): Record<string, HostFunction> {
  const mem = () => host.memory();
  const environ = () => Object.entries(host.environment()).map(([k, v]) => Buffer.from(`${k}=${v}\0`, 'utf8'));
  const stdio = (fd: number) => fd >= 0 && fd <= 2;

  return {
    fd_write: wasiGuarded((fd: number, iovs: number, iovsLength: number, retWritten: number) => {
      if (fd !== 1 && fd !== 2) return WasiErrno.Badf;
      const m = mem();
      const chunks: Buffer[] = [];
      for (let i = 0; i < iovsLength >>> 0; i++) {
        const ptr = m.readU32(iovs + i * 8);
        const length = m.readU32(iovs + i * 8 + 4);
        chunks.push(m.bytes(ptr, length));
      }
      const data = Buffer.concat(chunks);
      m.writeU32(retWritten, data.length);
      const text = data.toString('utf8').replace(/\n$/, '');
      if (text.length > 0) host.pluginLog(fd === 1 ? INFO : ERROR, text);
      return WasiErrno.Success;
    }),
    fd_read: () => WasiErrno.Badf,
    fd_close: (fd: number) => (stdio(fd) ? WasiErrno.Success : WasiErrno.Badf),
    fd_seek: () => WasiErrno.Badf,
    fd_fdstat_get: wasiGuarded((fd: number, retStat: number) => {
      if (!stdio(fd)) return WasiErrno.Badf;
      // filetype CHARACTER_DEVICE, no flags, no rights
      const stat = Buffer.alloc(24);
      stat[0] = 2;
      mem().writeBytes(retStat, stat);
      return WasiErrno.Success;
    }),
    fd_prestat_get: () => WasiErrno.Badf,
    fd_prestat_dir_name: () => WasiErrno.Badf,
    clock_time_get: wasiGuarded((clockId: number, _precision: bigint, retTime: number) => {
      if (clockId === 0) mem().writeU64(retTime, host.nowNanos());
      else if (clockId === 1) mem().writeU64(retTime, process.hrtime.bigint());
      else return WasiErrno.Notsup;
      return WasiErrno.Success;
    }),
    clock_res_get: wasiGuarded((clockId: number, retResolution: number) => {
      if (clockId !== 0 && clockId !== 1) return WasiErrno.Notsup;
      mem().writeU64(retResolution, 1n);
      return WasiErrno.Success;
    }),
    random_get: wasiGuarded((ptr: number, length: number) => {
      if (length >>> 0 > 65536) return WasiErrno.Inval;
      const bytes = Buffer.alloc(length >>> 0);
      randomFillSync(bytes);
      mem().writeBytes(ptr, bytes);
      return WasiErrno.Success;
    }),
    environ_sizes_get: wasiGuarded((retCount: number, retBufferSize: number) => {
      const entries = environ();
      mem().writeU32(retCount, entries.length);
      mem().writeU32(
        retBufferSize,
        entries.reduce((n, e) => n + e.length, 0),
      );
      return WasiErrno.Success;
    }),
    environ_get: wasiGuarded((retPointers: number, retBuffer: number) => {
      let offset = retBuffer >>> 0;
      environ().forEach((entry, i) => {
        mem().writeU32(retPointers + i * 4, offset);
        mem().writeBytes(offset, entry);
        offset += entry.length;
      });
      return WasiErrno.Success;
    }),
    args_sizes_get: wasiGuarded((retCount: number, retBufferSize: number) => {
      mem().writeU32(retCount, 0);
      mem().writeU32(retBufferSize, 0);
      return WasiErrno.Success;
    }),
    args_get: () => WasiErrno.Success,
    sched_yield: () => WasiErrno.Success,
    poll_oneoff: () => WasiErrno.Notsup,
    proc_exit: (code: number) => {
      throw new GuestExit(`proc_exit(${code})`);
    },
  };
}

/** An AssemblyScript string: UTF-16LE, its byte length in the 4 bytes before the pointer. */
function assemblyScriptString(memory: GuestMemory, ptr: number): string {
  if (ptr === 0) return '';
  try {
    const size = memory.readU32(ptr - 4);
    return memory.bytes(ptr, size).toString('utf16le');
  } catch {
    return `<string at ${ptr}>`;
  }
}

export function createAssemblyScriptImports(host: WasiHost): Record<string, HostFunction> {
  return {
    abort: (messagePtr: number, filePtr: number, line: number, column: number) => {
      const message = assemblyScriptString(host.memory(), messagePtr);
      const file = assemblyScriptString(host.memory(), filePtr);
      const text = `abort: ${message} in ${file}(${line}:${column})`;
      host.pluginLog(CRITICAL, text);
      throw new GuestExit(text);
    },
    trace: (messagePtr: number, count: number, ...args: number[]) => {
      const message = assemblyScriptString(host.memory(), messagePtr);
      const values = args.slice(0, Math.max(0, Math.min(count, 5)));
      host.pluginLog(INFO, `trace: ${message}${values.length > 0 ? ` ${values.join(', ')}` : ''}`);
      return undefined;
    },
    seed: () => randomInt(2 ** 47) + Date.now(),
  };
}
