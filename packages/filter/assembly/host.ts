// Thin wrappers over the proxy-wasm host calls the filter makes. None of them traps: every non-Ok result is
// reported to the caller, and any buffer the host allocated is released.

import * as imports from '@solo-io/proxy-runtime/assembly/imports';
import {
  BufferTypeValues,
  HeaderMapTypeValues,
  HeaderPair,
  MetricTypeValues,
  StreamTypeValues,
  serializeHeaders,
  WasmResultValues,
} from '@solo-io/proxy-runtime/assembly/index';
import { free } from '@solo-io/proxy-runtime/assembly/malloc';
import { utf8Bytes } from './bytes';
import { armScratch, armSecondScratch, releaseScratch } from './memory';
import { RequestView } from './request';

/** Out-parameters the host writes: a buffer address and size, or a number. */
class Out {
  ptr: usize = 0;
  size: usize = 0;
  u32v: u32 = 0;
  u64v: u64 = 0;

  @inline ptrAddr(): usize {
    return changetype<usize>(this) + offsetof<Out>('ptr');
  }
  @inline sizeAddr(): usize {
    return changetype<usize>(this) + offsetof<Out>('size');
  }
  @inline u32Addr(): usize {
    return changetype<usize>(this) + offsetof<Out>('u32v');
  }
  @inline u64Addr(): usize {
    return changetype<usize>(this) + offsetof<Out>('u64v');
  }

  reset(): void {
    this.ptr = 0;
    this.size = 0;
  }

  /** Takes ownership of the buffer the host allocated (through malloc). */
  take(): ArrayBuffer {
    const ptr = this.ptr;
    const size = this.size;
    this.ptr = 0;
    this.size = 0;
    if (ptr == 0) return new ArrayBuffer(0);
    const buf = changetype<ArrayBuffer>(ptr);
    free(ptr);
    if (<usize>buf.byteLength > size) return buf.slice(0, <i32>size);
    return buf;
  }

  discard(): void {
    const ptr = this.ptr;
    this.ptr = 0;
    this.size = 0;
    if (ptr != 0) free(ptr);
  }
}

const out = new Out();

/** Wall-clock time in milliseconds (fractional), or 0 when the host cannot tell. */
export function nowMs(): f64 {
  out.u64v = 0;
  if (imports.proxy_get_current_time_nanoseconds(out.u64Addr()) != WasmResultValues.Ok) return 0;
  return <f64>out.u64v / 1e6;
}

/** Raw nanosecond clock reading (for seeding). */
export function nowNanos(): u64 {
  out.u64v = 0;
  imports.proxy_get_current_time_nanoseconds(out.u64Addr());
  return out.u64v;
}

export function setTickPeriod(ms: u32): bool {
  return imports.proxy_set_tick_period_milliseconds(ms) == WasmResultValues.Ok;
}

/** A property by path segments (joined with NUL, as the ABI wants); null when absent. */
export function getProperty(segments: Array<string>): ArrayBuffer | null {
  const path = segments.join('\0');
  const bytes = utf8Bytes(path);
  out.reset();
  const r = imports.proxy_get_property(changetype<usize>(bytes), bytes.byteLength, out.ptrAddr(), out.sizeAddr());
  if (r != WasmResultValues.Ok) {
    out.discard();
    return null;
  }
  return out.take();
}

/** Loads the request header map into `view` through the scratch region (no allocation); false when unavailable. */
export function loadRequestHeaders(view: RequestView): bool {
  out.reset();
  armScratch();
  const r = imports.proxy_get_header_map_pairs(HeaderMapTypeValues.RequestHeaders, out.ptrAddr(), out.sizeAddr());
  const ptr = out.ptr;
  const size = out.size;
  out.reset();
  const inScratch = releaseScratch(ptr);
  if (r != WasmResultValues.Ok) {
    if (!inScratch && ptr != 0) free(ptr);
    return false;
  }
  if (inScratch) {
    view.load(ptr, <i32>size);
    return true;
  }
  // The host allocated more than once (not expected): the map is in a managed buffer we own now.
  if (ptr == 0) return false;
  view.load(ptr, <i32>min(size, <usize>changetype<ArrayBuffer>(ptr).byteLength));
  view.keep = changetype<ArrayBuffer>(ptr);
  free(ptr);
  return true;
}

const METHOD_KEY = String.UTF8.encode(':method', false);
const PATH_KEY = String.UTF8.encode(':path', false);

/** Where fetchRequestValue put the value: its address and length, or -1 for an absent header. */
let valuePtr: usize = 0;
let valueLen: i32 = -1;

/** One request header's value, into a scratch region; false when the host answered in a way the caller cannot use. */
function fetchRequestValue(key: ArrayBuffer, inSecond: bool): bool {
  out.reset();
  if (inSecond) armSecondScratch();
  else armScratch();
  const r = imports.proxy_get_header_map_value(
    HeaderMapTypeValues.RequestHeaders,
    changetype<usize>(key),
    key.byteLength,
    out.ptrAddr(),
    out.sizeAddr(),
  );
  const ptr = out.ptr;
  const size = out.size;
  out.reset();
  const inScratch = releaseScratch(ptr);
  if (!inScratch && ptr != 0) {
    // Not where the scratch region was armed (or an error with a buffer): not expected of any host.
    free(ptr);
    return false;
  }
  valuePtr = ptr;
  if (r == WasmResultValues.Ok) {
    valueLen = <i32>size;
    return true;
  }
  valueLen = -1;
  return r == WasmResultValues.NotFound;
}

/**
 * Loads only :path into `view`, for rules that match no other header: one small read costs the host much less than
 * serialising the whole map. False when unavailable or absent (then the whole map may still be read).
 */
export function loadPath(view: RequestView): bool {
  if (!fetchRequestValue(PATH_KEY, true) || valueLen < 0) return false;
  view.loadPath(valuePtr, valueLen);
  return true;
}

/** Adds :method to a view loadPath filled, read into the other scratch region so that :path stays where it is. */
export function loadMethod(view: RequestView): bool {
  if (!fetchRequestValue(METHOD_KEY, false)) return false;
  view.addMethod(valuePtr, valueLen);
  return true;
}

/** A header of the HTTP call response (e.g. ":status"); null when absent. */
export function getHttpCallResponseHeader(name: string): ArrayBuffer | null {
  const key = utf8Bytes(name);
  out.reset();
  const r = imports.proxy_get_header_map_value(
    HeaderMapTypeValues.HttpCallResponseHeaders,
    changetype<usize>(key),
    key.byteLength,
    out.ptrAddr(),
    out.sizeAddr(),
  );
  if (r != WasmResultValues.Ok) {
    out.discard();
    return null;
  }
  return out.take();
}

export function getBuffer(type: BufferTypeValues, length: u32): ArrayBuffer | null {
  if (length == 0) return new ArrayBuffer(0);
  out.reset();
  const r = imports.proxy_get_buffer_bytes(type, 0, length, out.ptrAddr(), out.sizeAddr());
  if (r != WasmResultValues.Ok) {
    out.discard();
    return null;
  }
  return out.take();
}

function pairs(names: Array<string>, values: Array<string>): Array<HeaderPair> {
  const list = new Array<HeaderPair>();
  for (let i = 0; i < names.length && i < values.length; i++) {
    list.push(new HeaderPair(utf8Bytes(names[i]), utf8Bytes(values[i])));
  }
  return list;
}

/** Dispatches an HTTP call; returns the token, or -1 when the host refused it. */
export function httpCall(cluster: string, names: Array<string>, values: Array<string>, timeoutMs: u32): i64 {
  const clusterBytes = utf8Bytes(cluster);
  const headerBytes = serializeHeaders(pairs(names, values));
  const trailerBytes = serializeHeaders(new Array<HeaderPair>());
  const body = new ArrayBuffer(0);
  out.u32v = 0;
  const r = imports.proxy_http_call(
    changetype<usize>(clusterBytes),
    clusterBytes.byteLength,
    changetype<usize>(headerBytes),
    headerBytes.byteLength,
    changetype<usize>(body),
    0,
    changetype<usize>(trailerBytes),
    trailerBytes.byteLength,
    timeoutMs,
    out.u32Addr(),
  );
  if (r != WasmResultValues.Ok) return -1;
  return <i64>out.u32v;
}

export function sendLocalResponse(
  status: u32,
  details: string,
  body: ArrayBuffer,
  names: Array<string>,
  values: Array<string>,
): bool {
  const detailBytes = utf8Bytes(details);
  const headerBytes = serializeHeaders(pairs(names, values));
  const r = imports.proxy_send_local_response(
    status,
    changetype<usize>(detailBytes),
    detailBytes.byteLength,
    changetype<usize>(body),
    body.byteLength,
    changetype<usize>(headerBytes),
    headerBytes.byteLength,
    // no gRPC status
    <u32>-1,
  );
  return r == WasmResultValues.Ok;
}

export function continueRequest(): bool {
  return imports.proxy_continue_stream(StreamTypeValues.Request) == WasmResultValues.Ok;
}

export function setEffectiveContext(contextId: u32): bool {
  return imports.proxy_set_effective_context(contextId) == WasmResultValues.Ok;
}

/** Defines a metric; returns its id, or -1 when the host refused. */
export function defineMetric(type: MetricTypeValues, name: string): i64 {
  const bytes = utf8Bytes(name);
  out.u32v = 0;
  const r = imports.proxy_define_metric(type, changetype<usize>(bytes), bytes.byteLength, out.u32Addr());
  if (r != WasmResultValues.Ok) return -1;
  return <i64>out.u32v;
}

export function incrementMetric(id: i64, delta: i64): void {
  if (id >= 0) imports.proxy_increment_metric(<u32>id, delta);
}

export function recordMetric(id: i64, value: u64): void {
  if (id >= 0) imports.proxy_record_metric(<u32>id, value);
}
