// The `env` imports of the proxy-wasm ABI (v0.2.0/v0.2.1 names, plus the v0.1.0 names SDKs still import), each
// validating the guest's pointers and answering with a proxy_status_t as the spec and Envoy do.

import { BufferType, MAX_BUFFER_TYPE, MapType, MetricTypeId, Status } from './abi';
import { type GuestMemory, MemoryAccessError } from './guest-memory';
import type { HttpStream } from './http-stream';
import { deserializePairs, type HeaderPair, SerialisedPairs } from './pairs';
import type { SharedState } from './shared-state';

export interface BufferAccess {
  data: Buffer;
  /** Absent for read-only buffers (configurations, HTTP call responses). */
  set?: (data: Buffer) => void;
}

/** @internal What the `env` imports need from their VM. */
export interface ProxyHost {
  memory(): GuestMemory;
  logLevel(): number;
  pluginLog(level: number, message: string): void;
  effectiveStream(): HttpStream | undefined;
  setEffectiveContext(contextId: number): number;
  done(): number;
  buffer(type: number): BufferAccess | undefined;
  /** HTTP call response maps (6, 7) while a response is being delivered; undefined otherwise. */
  callResponseMap(type: number): HeaderPair[] | undefined;
  setTickPeriod(ms: number): void;
  nowNanos(): bigint;
  dispatchHttpCall(
    cluster: string,
    headers: HeaderPair[],
    body: Buffer,
    trailers: HeaderPair[],
    timeoutMs: number,
  ): { status: number; token?: number };
  hasCluster(name: string): boolean;
  callStatus(): { code: number; message: string };
  getProperty(path: Uint8Array): { status: number; value?: Uint8Array };
  setProperty(path: Uint8Array, value: Buffer): number;
  defineMetric(type: number, name: string): { status: number; id?: number };
  incrementMetric(id: number, delta: bigint): number;
  recordMetric(id: number, value: bigint): number;
  getMetric(id: number): { status: number; value?: bigint };
  shared(): SharedState;
  vmId(): string;
  registerQueue(name: string): number;
}

type HostFunction = (...args: never[]) => number | bigint | undefined;

/** The answer to a host call whose guest pointer was bad (anything else propagates). */
function memoryFault(error: unknown): number {
  if (error instanceof MemoryAccessError) return Status.InvalidMemoryAccess;
  throw error;
}

/**
 * Runs a host call, turning a bad guest pointer into INVALID_MEMORY_ACCESS instead of a trap. The wrapper takes the
 * host function's own number of parameters: a rest parameter would build an array on every call the guest makes.
 */
function guarded<A extends unknown[]>(fn: (...args: A) => number): (...args: A) => number {
  const f = fn as unknown as (...args: unknown[]) => number;
  let wrapper: (...args: never[]) => number;
  switch (fn.length) {
    case 1:
      wrapper = (a: unknown) => {
        try {
          return f(a);
        } catch (error) {
          return memoryFault(error);
        }
      };
      break;
    case 2:
      wrapper = (a: unknown, b: unknown) => {
        try {
          return f(a, b);
        } catch (error) {
          return memoryFault(error);
        }
      };
      break;
    case 3:
      wrapper = (a: unknown, b: unknown, c: unknown) => {
        try {
          return f(a, b, c);
        } catch (error) {
          return memoryFault(error);
        }
      };
      break;
    case 5:
      wrapper = (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => {
        try {
          return f(a, b, c, d, e);
        } catch (error) {
          return memoryFault(error);
        }
      };
      break;
    default:
      // The rarer calls (HTTP calls, local replies, properties, queues).
      wrapper = (...args: unknown[]) => {
        try {
          return f(...args);
        } catch (error) {
          return memoryFault(error);
        }
      };
  }
  return wrapper as unknown as (...args: A) => number;
}

function lower(key: string): string {
  return key.toLowerCase();
}

/** The first value of `name` (lowercase) in `map`. */
function mapValue(map: HeaderPair[], name: string): string | undefined {
  for (let i = 0; i < map.length; i++) if (map[i][0] === name) return map[i][1];
  return undefined;
}

/** Longest ASCII value copied in JS; longer ones go to Node's native encoder, which is faster past that. */
const MAX_JS_COPY = 128;

/**
 * Writes one string (UTF-8) into guest memory; reused, as returnWritten uses it synchronously. Its UTF-8 size comes
 * from Node's byte count (a fast call, cheaper than a scan in JS); a size equal to the length means ASCII, and a
 * short ASCII value (most header values) is then copied in JS: each call into Node's native encoder costs more.
 */
const stringWriter = {
  value: '',
  /** ASCII and at most MAX_JS_COPY long: copied in JS. */
  inJs: false,
  /** Takes `value` and returns its UTF-8 size. */
  set(value: string): number {
    this.value = value;
    const size = Buffer.byteLength(value, 'utf8');
    this.inJs = size === value.length && size <= MAX_JS_COPY;
    return size;
  },
  write(out: Buffer, at: number): void {
    const value = this.value;
    if (!this.inJs) {
      out.write(value, at, 'utf8');
      return;
    }
    for (let i = 0; i < value.length; i++) out[at + i] = value.charCodeAt(i);
  },
};

/** Longest header name kept by address. */
const MAX_KEPT_NAME = 64;
/** Names kept per VM before the table starts over. */
const MAX_KEPT_NAMES = 256;

/**
 * Header names the guest asks for, by address. A plugin asks for the same few names, from its static data, on every
 * request: comparing the bytes in place costs less than decoding and lowercasing them again, each a call into
 * Node's native code. The bytes are compared every time, so a name rewritten at the same address is read anew.
 */
class HeaderNames {
  private readonly byAddress = new Map<number, KeptName>();
  /** The name found last: a plugin that reads one header per request finds it here without a map lookup. */
  private last: KeptName = { ptr: -1, bytes: new Uint8Array(0), name: '' };

  at(memory: GuestMemory, ptr: number, size: number): string {
    const last = this.last;
    if (last.ptr === ptr && last.bytes.length === size && memory.holds(ptr, last.bytes)) return last.name;
    const kept = this.byAddress.get(ptr);
    if (kept !== undefined && kept.bytes.length === size && memory.holds(ptr, kept.bytes)) {
      this.last = kept;
      return kept.name;
    }
    const bytes = memory.bytes(ptr, size);
    const name = lower(bytes.toString('utf8'));
    if (size <= MAX_KEPT_NAME) {
      if (this.byAddress.size >= MAX_KEPT_NAMES) this.byAddress.clear();
      const entry = { ptr, bytes, name };
      this.byAddress.set(ptr, entry);
      this.last = entry;
    }
    return name;
  }
}

interface KeptName {
  ptr: number;
  bytes: Uint8Array;
  name: string;
}

function replaceValue(map: HeaderPair[], key: string, value: string): void {
  const k = lower(key);
  const first = map.findIndex(([name]) => name === k);
  if (first < 0) {
    map.push([k, value]);
    return;
  }
  map[first] = [k, value];
  for (let i = map.length - 1; i > first; i--) if (map[i][0] === k) map.splice(i, 1);
}

function removeValues(map: HeaderPair[], key: string): void {
  const k = lower(key);
  for (let i = map.length - 1; i >= 0; i--) if (map[i][0] === k) map.splice(i, 1);
}

export function createProxyImports(host: ProxyHost): Record<string, HostFunction> {
  const mem = () => host.memory();
  const headerNames = new HeaderNames();

  /** Envoy's getConstMap/getMap: stream maps through the effective stream, call-response maps read-only. */
  const readableMap = (type: number): HeaderPair[] | undefined => {
    if (type === MapType.HttpCallResponseHeaders || type === MapType.HttpCallResponseTrailers) {
      return host.callResponseMap(type);
    }
    return host.effectiveStream()?.headerMap(type, false);
  };
  const writableMap = (type: number): HeaderPair[] | undefined => {
    if (type === MapType.HttpCallResponseHeaders || type === MapType.HttpCallResponseTrailers) return undefined;
    return host.effectiveStream()?.headerMap(type, true);
  };
  const validMapType = (type: number) => type >= 0 && type <= MapType.HttpCallResponseTrailers;

  const getBufferBytes = guarded((type: number, start: number, maxSize: number, retPtr: number, retSize: number) => {
    if (type < 0 || type > MAX_BUFFER_TYPE) return Status.BadArgument;
    const buffer = host.buffer(type);
    if (!buffer) return Status.NotFound;
    const from = start >>> 0;
    const length = Math.max(0, Math.min(maxSize >>> 0, buffer.data.length - from));
    mem().returnBytes(buffer.data.subarray(from, from + length), retPtr, retSize);
    return Status.Ok;
  });

  // Envoy's Buffer::copyFrom: prepend (start 0, size 0), replace all (start 0, size >= length), append
  // (start >= length); anything else is BAD_ARGUMENT.
  const setBufferBytes = guarded((type: number, start: number, size: number, ptr: number, length: number) => {
    if (type < 0 || type > MAX_BUFFER_TYPE) return Status.BadArgument;
    const data = mem().bytes(ptr, length);
    const buffer = host.buffer(type);
    if (!buffer) return Status.NotFound;
    if (!buffer.set) return Status.BadArgument;
    const from = start >>> 0;
    const count = size >>> 0;
    const current = buffer.data;
    if (from === 0 && count === 0) buffer.set(Buffer.concat([data, current]));
    else if (from === 0 && count >= current.length) buffer.set(data);
    else if (from >= current.length) buffer.set(Buffer.concat([current, data]));
    else return Status.BadArgument;
    return Status.Ok;
  });

  const getBufferStatus = guarded((type: number, retSize: number, retFlags: number) => {
    if (type < 0 || type > MAX_BUFFER_TYPE) return Status.BadArgument;
    const buffer = host.buffer(type);
    if (!buffer) return Status.NotFound;
    mem().writeU32(retSize, buffer.data.length);
    mem().writeU32(retFlags, 0);
    return Status.Ok;
  });

  const continueStream = (type: number) => host.effectiveStream()?.continueStream(type) ?? Status.Ok;

  const httpCall = guarded(
    (
      upstreamPtr: number,
      upstreamSize: number,
      headersPtr: number,
      headersSize: number,
      bodyPtr: number,
      bodySize: number,
      trailersPtr: number,
      trailersSize: number,
      timeout: number,
      retToken: number,
    ) => {
      const m = mem();
      const cluster = m.string(upstreamPtr, upstreamSize);
      const headers = deserializePairs(m.bytes(headersPtr, headersSize));
      const trailers = deserializePairs(m.bytes(trailersPtr, trailersSize));
      const body = m.bytes(bodyPtr, bodySize);
      if (!headers || !trailers) return Status.BadArgument;
      m.writeU32(retToken, 0);
      const result = host.dispatchHttpCall(cluster, headers, body, trailers, timeout);
      if (result.status === Status.Ok && result.token !== undefined) m.writeU32(retToken, result.token);
      return result.status;
    },
  );

  const grpcOpen = guarded((upstreamPtr: number, upstreamSize: number) => {
    const cluster = mem().string(upstreamPtr, upstreamSize);
    // No gRPC clusters exist here; a known HTTP cluster still cannot carry gRPC.
    return host.hasCluster(cluster) ? Status.Unimplemented : Status.ParseFailure;
  });

  const imports: Record<string, HostFunction> = {
    proxy_log: guarded((level: number, ptr: number, size: number) => {
      if (level < 0 || level > 5) return Status.BadArgument;
      host.pluginLog(level, mem().string(ptr, size));
      return Status.Ok;
    }),
    proxy_get_log_level: guarded((retLevel: number) => {
      mem().writeU32(retLevel, host.logLevel());
      return Status.Ok;
    }),
    proxy_get_current_time_nanoseconds: guarded((retTime: number) => {
      mem().writeU64(retTime, host.nowNanos());
      return Status.Ok;
    }),
    proxy_set_tick_period_milliseconds: (ms: number) => {
      host.setTickPeriod(ms >>> 0);
      return Status.Ok;
    },
    proxy_get_buffer_bytes: getBufferBytes,
    proxy_set_buffer_bytes: setBufferBytes,
    // One old AssemblyScript SDK binds its set-buffer helper to this name with five parameters.
    proxy_get_buffer_status: ((...args: number[]) =>
      args.length >= 5
        ? setBufferBytes(args[0], args[1], args[2], args[3], args[4])
        : getBufferStatus(args[0], args[1], args[2])) as HostFunction,
    proxy_get_header_map_size: guarded((type: number, retSize: number) => {
      if (!validMapType(type)) return Status.BadArgument;
      const map = readableMap(type);
      if (!map) return Status.BadArgument;
      mem().writeU32(
        retSize,
        map.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0),
      );
      return Status.Ok;
    }),
    proxy_get_header_map_pairs: guarded((type: number, retPtr: number, retSize: number) => {
      if (!validMapType(type)) return Status.BadArgument;
      const pairs = new SerialisedPairs(readableMap(type) ?? []);
      mem().returnWritten(pairs.size, retPtr, retSize, pairs);
      return Status.Ok;
    }),
    proxy_set_header_map_pairs: guarded((type: number, ptr: number, size: number) => {
      if (!validMapType(type)) return Status.BadArgument;
      const pairs = deserializePairs(mem().bytes(ptr, size));
      const map = writableMap(type);
      if (!map || !pairs) return Status.BadArgument;
      map.splice(0, map.length, ...pairs.map(([k, v]): HeaderPair => [lower(k), v]));
      return Status.Ok;
    }),
    // The filter's only host call per request, so not through guarded(): V8 gives all the closures of one function
    // literal one feedback vector, so guarded's 5-parameter wrapper calls whichever host functions of that arity the
    // plugin used. Once the watch's first answer made it read a buffer through that wrapper, its call turned
    // polymorphic and this function was no longer inlined into it.
    proxy_get_header_map_value: (type: number, keyPtr: number, keySize: number, retPtr: number, retSize: number) => {
      try {
        if (!validMapType(type)) return Status.BadArgument;
        const memory = mem();
        const name = headerNames.at(memory, keyPtr, keySize);
        const map = readableMap(type);
        if (!map) return Status.BadArgument;
        const value = mapValue(map, name);
        if (value === undefined) return Status.NotFound;
        memory.returnWritten(stringWriter.set(value), retPtr, retSize, stringWriter);
        stringWriter.value = '';
        return Status.Ok;
      } catch (error) {
        return memoryFault(error);
      }
    },
    proxy_add_header_map_value: guarded(
      (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) => {
        if (!validMapType(type)) return Status.BadArgument;
        const key = mem().string(keyPtr, keySize);
        const value = mem().string(valuePtr, valueSize);
        const map = writableMap(type);
        if (!map) return Status.BadArgument;
        map.push([lower(key), value]);
        return Status.Ok;
      },
    ),
    proxy_replace_header_map_value: guarded(
      (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) => {
        if (!validMapType(type)) return Status.BadArgument;
        const key = mem().string(keyPtr, keySize);
        const value = mem().string(valuePtr, valueSize);
        const map = writableMap(type);
        if (!map) return Status.BadArgument;
        replaceValue(map, key, value);
        return Status.Ok;
      },
    ),
    proxy_remove_header_map_value: guarded((type: number, keyPtr: number, keySize: number) => {
      if (!validMapType(type)) return Status.BadArgument;
      const key = mem().string(keyPtr, keySize);
      const map = writableMap(type);
      if (!map) return Status.BadArgument;
      removeValues(map, key);
      return Status.Ok;
    }),
    proxy_continue_stream: continueStream,
    proxy_close_stream: (type: number) => host.effectiveStream()?.closeStream(type) ?? Status.Ok,
    proxy_continue_request: () => continueStream(0),
    proxy_continue_response: () => continueStream(1),
    proxy_clear_route_cache: () => Status.Ok,
    proxy_send_local_response: guarded(
      (
        statusCode: number,
        detailsPtr: number,
        detailsSize: number,
        bodyPtr: number,
        bodySize: number,
        headersPtr: number,
        headersSize: number,
        _grpcStatus: number,
      ) => {
        const m = mem();
        const details = m.string(detailsPtr, detailsSize);
        const body = m.bytes(bodyPtr, bodySize);
        const headers = deserializePairs(m.bytes(headersPtr, headersSize));
        if (!headers) return Status.BadArgument;
        // From a root context Envoy has no stream to answer and silently does nothing.
        host.effectiveStream()?.sendLocalResponse(statusCode >>> 0, details, body, headers);
        return Status.Ok;
      },
    ),
    proxy_http_call: httpCall,
    proxy_dispatch_http_call: httpCall,
    proxy_get_status: guarded((retCode: number, retMessagePtr: number, retMessageSize: number) => {
      const { code, message } = host.callStatus();
      mem().writeU32(retCode, code);
      mem().returnBytes(Buffer.from(message, 'utf8'), retMessagePtr, retMessageSize);
      return Status.Ok;
    }),
    proxy_get_property: guarded((pathPtr: number, pathSize: number, retPtr: number, retSize: number) => {
      const result = host.getProperty(mem().bytes(pathPtr, pathSize));
      if (result.status === Status.Ok && result.value) mem().returnBytes(result.value, retPtr, retSize);
      return result.status;
    }),
    proxy_set_property: guarded((pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) => {
      return host.setProperty(mem().bytes(pathPtr, pathSize), mem().bytes(valuePtr, valueSize));
    }),
    proxy_define_metric: guarded((type: number, namePtr: number, nameSize: number, retId: number) => {
      if (type < MetricTypeId.Counter || type > MetricTypeId.Histogram) return Status.BadArgument;
      const name = mem().string(namePtr, nameSize);
      mem().writeU32(retId, 0);
      const result = host.defineMetric(type, name);
      if (result.id !== undefined) mem().writeU32(retId, result.id);
      return result.status;
    }),
    proxy_increment_metric: (id: number, delta: bigint) => host.incrementMetric(id >>> 0, BigInt(delta)),
    proxy_record_metric: (id: number, value: bigint) => host.recordMetric(id >>> 0, BigInt.asUintN(64, BigInt(value))),
    proxy_get_metric: guarded((id: number, retValue: number) => {
      mem().writeU64(retValue, 0n);
      const result = host.getMetric(id >>> 0);
      if (result.value !== undefined) mem().writeU64(retValue, result.value);
      return result.status;
    }),
    proxy_set_effective_context: (contextId: number) => host.setEffectiveContext(contextId >>> 0),
    proxy_done: () => host.done(),
    proxy_get_shared_data: guarded(
      (keyPtr: number, keySize: number, retPtr: number, retSize: number, retCas: number) => {
        const entry = host.shared().getData(mem().string(keyPtr, keySize));
        if (!entry) return Status.NotFound;
        mem().returnBytes(entry.value, retPtr, retSize);
        mem().writeU32(retCas, entry.cas);
        return Status.Ok;
      },
    ),
    proxy_set_shared_data: guarded(
      (keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) => {
        const ok = host.shared().setData(mem().string(keyPtr, keySize), mem().bytes(valuePtr, valueSize), cas >>> 0);
        return ok ? Status.Ok : Status.CasMismatch;
      },
    ),
    proxy_register_shared_queue: guarded((namePtr: number, nameSize: number, retToken: number) => {
      const name = mem().string(namePtr, nameSize);
      mem().writeU32(retToken, 0);
      mem().writeU32(retToken, host.registerQueue(name));
      return Status.Ok;
    }),
    proxy_resolve_shared_queue: guarded(
      (vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, retToken: number) => {
        const token = host.shared().resolveQueue(mem().string(vmIdPtr, vmIdSize), mem().string(namePtr, nameSize));
        if (token === undefined) return Status.NotFound;
        mem().writeU32(retToken, token);
        return Status.Ok;
      },
    ),
    proxy_enqueue_shared_queue: guarded((token: number, valuePtr: number, valueSize: number) => {
      return host.shared().enqueue(token >>> 0, mem().bytes(valuePtr, valueSize)) ? Status.Ok : Status.NotFound;
    }),
    proxy_dequeue_shared_queue: guarded((token: number, retPtr: number, retSize: number) => {
      const item = host.shared().dequeue(token >>> 0);
      if (item === undefined) return Status.NotFound;
      if (item === null) return Status.Empty;
      mem().returnBytes(item, retPtr, retSize);
      return Status.Ok;
    }),
    proxy_call_foreign_function: () => Status.Unimplemented,
    proxy_grpc_call: grpcOpen,
    proxy_grpc_stream: grpcOpen,
    proxy_grpc_send: () => Status.BadArgument,
    proxy_grpc_cancel: () => Status.BadArgument,
    proxy_grpc_close: () => Status.BadArgument,
    // v0.1.0: the configuration of the callback in progress (on_vm_start or on_configure).
    proxy_get_configuration: guarded((retPtr: number, retSize: number) => {
      const buffer = host.buffer(BufferType.PluginConfiguration) ?? host.buffer(BufferType.VmConfiguration);
      mem().returnBytes(buffer?.data ?? Buffer.alloc(0), retPtr, retSize);
      return Status.Ok;
    }),
  };
  return imports;
}
