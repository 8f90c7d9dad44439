// A small proxy-wasm plugin used only by the host's own tests, so the host is tested independently of the hfi
// filter. Written in AssemblyScript without any SDK: every host call below is a raw ABI import. The test copies this
// file to a temporary `.ts` file and compiles it with asc (`--runtime stub`).
// Behaviour is chosen per request by the `x-test-action` request header, and at start by `k=v;k=v` configs.

@external("env", "proxy_log") declare function proxy_log(level: i32, ptr: usize, len: usize): i32;
@external("env", "proxy_get_log_level") declare function proxy_get_log_level(ret: usize): i32;
@external("env", "proxy_get_buffer_bytes") declare function proxy_get_buffer_bytes(t: i32, start: usize, max: usize, retPtr: usize, retSize: usize): i32;
@external("env", "proxy_set_buffer_bytes") declare function proxy_set_buffer_bytes(t: i32, start: usize, size: usize, ptr: usize, len: usize): i32;
@external("env", "proxy_get_buffer_status") declare function proxy_get_buffer_status(t: i32, retSize: usize, retFlags: usize): i32;
@external("env", "proxy_get_header_map_value") declare function proxy_get_header_map_value(m: i32, k: usize, kl: usize, retPtr: usize, retSize: usize): i32;
@external("env", "proxy_add_header_map_value") declare function proxy_add_header_map_value(m: i32, k: usize, kl: usize, v: usize, vl: usize): i32;
@external("env", "proxy_replace_header_map_value") declare function proxy_replace_header_map_value(m: i32, k: usize, kl: usize, v: usize, vl: usize): i32;
@external("env", "proxy_remove_header_map_value") declare function proxy_remove_header_map_value(m: i32, k: usize, kl: usize): i32;
@external("env", "proxy_get_header_map_pairs") declare function proxy_get_header_map_pairs(m: i32, retPtr: usize, retSize: usize): i32;
@external("env", "proxy_set_header_map_pairs") declare function proxy_set_header_map_pairs(m: i32, p: usize, l: usize): i32;
@external("env", "proxy_get_header_map_size") declare function proxy_get_header_map_size(m: i32, retSize: usize): i32;
@external("env", "proxy_continue_stream") declare function proxy_continue_stream(t: i32): i32;
@external("env", "proxy_continue_request") declare function proxy_continue_request(): i32;
@external("env", "proxy_close_stream") declare function proxy_close_stream(t: i32): i32;
@external("env", "proxy_send_local_response") declare function proxy_send_local_response(status: u32, d: usize, dl: usize, b: usize, bl: usize, h: usize, hl: usize, grpc: i32): i32;
@external("env", "proxy_http_call") declare function proxy_http_call(u: usize, ul: usize, h: usize, hl: usize, b: usize, bl: usize, t: usize, tl: usize, timeout: u32, retToken: usize): i32;
@external("env", "proxy_get_property") declare function proxy_get_property(p: usize, pl: usize, retPtr: usize, retSize: usize): i32;
@external("env", "proxy_set_property") declare function proxy_set_property(p: usize, pl: usize, v: usize, vl: usize): i32;
@external("env", "proxy_set_tick_period_milliseconds") declare function proxy_set_tick_period_milliseconds(ms: u32): i32;
@external("env", "proxy_get_current_time_nanoseconds") declare function proxy_get_current_time_nanoseconds(ret: usize): i32;
@external("env", "proxy_define_metric") declare function proxy_define_metric(t: i32, n: usize, nl: usize, retId: usize): i32;
@external("env", "proxy_increment_metric") declare function proxy_increment_metric(id: u32, delta: i64): i32;
@external("env", "proxy_record_metric") declare function proxy_record_metric(id: u32, value: u64): i32;
@external("env", "proxy_get_metric") declare function proxy_get_metric(id: u32, ret: usize): i32;
@external("env", "proxy_set_effective_context") declare function proxy_set_effective_context(ctx: u32): i32;
@external("env", "proxy_done") declare function proxy_done(): i32;
@external("env", "proxy_set_shared_data") declare function proxy_set_shared_data(k: usize, kl: usize, v: usize, vl: usize, cas: u32): i32;
@external("env", "proxy_get_shared_data") declare function proxy_get_shared_data(k: usize, kl: usize, retPtr: usize, retSize: usize, retCas: usize): i32;
@external("env", "proxy_register_shared_queue") declare function proxy_register_shared_queue(n: usize, nl: usize, retToken: usize): i32;
@external("env", "proxy_enqueue_shared_queue") declare function proxy_enqueue_shared_queue(token: u32, v: usize, vl: usize): i32;
@external("env", "proxy_dequeue_shared_queue") declare function proxy_dequeue_shared_queue(token: u32, retPtr: usize, retSize: usize): i32;
@external("env", "proxy_call_foreign_function") declare function proxy_call_foreign_function(n: usize, nl: usize, a: usize, al: usize, retPtr: usize, retSize: usize): i32;
@external("env", "proxy_made_up_function") declare function proxy_made_up_function(a: i32, b: i32): i32;
@external("wasi_snapshot_preview1", "fd_write") declare function fd_write(fd: i32, iovs: usize, n: usize, retWritten: usize): i32;
@external("wasi_snapshot_preview1", "clock_time_get") declare function clock_time_get(id: i32, precision: u64, ret: usize): i32;
@external("wasi_snapshot_preview1", "random_get") declare function random_get(buf: usize, len: usize): i32;

const REQUEST_HEADERS: i32 = 0;
const RESPONSE_HEADERS: i32 = 2;
const CALL_RESPONSE_HEADERS: i32 = 6;
const REQUEST_BODY: i32 = 0;
const RESPONSE_BODY: i32 = 1;
const CALL_RESPONSE_BODY: i32 = 4;
const VM_CONFIGURATION: i32 = 6;
const PLUGIN_CONFIGURATION: i32 = 7;

const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);
const RET_EXTRA: usize = memory.data(8);

let rootContextId: u32 = 0;
let tickCount: i32 = 0;
let requestsCounter: u32 = 0;
let ticksCounter: u32 = 0;
let latencyHistogram: u32 = 0;
let inflightGauge: u32 = 0;
let queueToken: u32 = 0;
const actions = new Map<u32, string>();
const callTokens = new Map<u32, u32>();
let waitingForTick: u32[] = [];
let pluginConfig = "";
let shutdownToken: u32 = 0;

function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

function log(level: i32, message: string): void {
  const b = utf8(message);
  proxy_log(level, changetype<usize>(b), b.byteLength);
}

function info(message: string): void {
  log(2, message);
}

function returnedString(): string {
  return String.UTF8.decodeUnsafe(load<u32>(RET_PTR), load<u32>(RET_SIZE));
}

function hex(ptr: usize, len: usize): string {
  const digits = "0123456789abcdef";
  let out = "";
  for (let i: usize = 0; i < len; i++) {
    const b = load<u8>(ptr + i);
    out += digits.charAt(b >> 4) + digits.charAt(b & 15);
  }
  return out;
}

function getHeader(map: i32, key: string): string | null {
  const k = utf8(key);
  if (proxy_get_header_map_value(map, changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE) != 0) return null;
  return returnedString();
}

const NAME_IN_PLACE: usize = memory.data(16);

/** Reads a header whose ASCII name is written at one fixed address, as a plugin's static data is. */
function headerNamedInPlace(name: string): string {
  for (let i = 0; i < name.length; i++) store<u8>(NAME_IN_PLACE + <usize>i, <u8>name.charCodeAt(i));
  if (proxy_get_header_map_value(REQUEST_HEADERS, NAME_IN_PLACE, name.length, RET_PTR, RET_SIZE) != 0) return "-";
  return returnedString();
}

function headerOrDash(map: i32, key: string): string {
  const found = getHeader(map, key);
  return found === null ? "-" : found;
}

function headerStatus(map: i32, key: string): i32 {
  const k = utf8(key);
  return proxy_get_header_map_value(map, changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE);
}

function setHeader(map: i32, key: string, value: string): void {
  const k = utf8(key);
  const v = utf8(value);
  proxy_replace_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

function addHeader(map: i32, key: string, value: string): void {
  const k = utf8(key);
  const v = utf8(value);
  proxy_add_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

function removeHeader(map: i32, key: string): void {
  const k = utf8(key);
  proxy_remove_header_map_value(map, changetype<usize>(k), k.byteLength);
}

function serializePairs(keys: string[], values: string[]): ArrayBuffer {
  const n = keys.length;
  const ks = new Array<ArrayBuffer>(n);
  const vs = new Array<ArrayBuffer>(n);
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    ks[i] = utf8(keys[i]);
    vs[i] = utf8(values[i]);
    size += ks[i].byteLength + vs[i].byteLength + 2;
  }
  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, n);
  let p = base + 4 + n * 8;
  for (let i = 0; i < n; i++) {
    store<u32>(base + 4 + i * 8, ks[i].byteLength);
    store<u32>(base + 8 + i * 8, vs[i].byteLength);
    memory.copy(p, changetype<usize>(ks[i]), ks[i].byteLength);
    p += ks[i].byteLength;
    store<u8>(p, 0);
    p += 1;
    memory.copy(p, changetype<usize>(vs[i]), vs[i].byteLength);
    p += vs[i].byteLength;
    store<u8>(p, 0);
    p += 1;
  }
  return buf;
}

/** Decodes serialized pairs into "k=v" strings. */
function deserializePairs(ptr: usize, size: usize): string[] {
  const out = new Array<string>();
  if (size < 4) return out;
  const n = load<u32>(ptr);
  let p = ptr + 4 + n * 8;
  for (let i: u32 = 0; i < n; i++) {
    const kl = load<u32>(ptr + 4 + i * 8);
    const vl = load<u32>(ptr + 8 + i * 8);
    const k = String.UTF8.decodeUnsafe(p, kl);
    p += kl + 1;
    const v = String.UTF8.decodeUnsafe(p, vl);
    p += vl + 1;
    out.push(k + "=" + v);
  }
  return out;
}

function readBuffer(type: i32, size: usize): string {
  if (proxy_get_buffer_bytes(type, 0, size, RET_PTR, RET_SIZE) != 0) return "";
  return returnedString();
}

function configValue(config: string, key: string): string {
  const parts = config.split(";");
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf("=");
    if (eq > 0 && parts[i].substring(0, eq) == key) return parts[i].substring(eq + 1);
  }
  return "";
}

function defineMetric(type: i32, name: string): u32 {
  const b = utf8(name);
  proxy_define_metric(type, changetype<usize>(b), b.byteLength, RET_PTR);
  info("Defined metric: " + name);
  return load<u32>(RET_PTR);
}

function removeFrom(list: u32[], value: u32): u32[] {
  const out = new Array<u32>();
  for (let i = 0; i < list.length; i++) if (list[i] != value) out.push(list[i]);
  return out;
}

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_context_create(context: u32, parent: u32): void {
  if (parent == 0) rootContextId = context;
  info("context create " + context.toString() + " parent " + parent.toString());
}

export function proxy_on_vm_start(root: u32, size: usize): bool {
  const config = readBuffer(VM_CONFIGURATION, size);
  info("vm start: " + config);
  return config != "fail";
}

export function proxy_validate_configuration(root: u32, size: usize): bool {
  return readBuffer(PLUGIN_CONFIGURATION, size) != "invalid";
}

export function proxy_on_configure(root: u32, size: usize): bool {
  const config = readBuffer(PLUGIN_CONFIGURATION, size);
  pluginConfig = config;
  info("configure: " + config);
  const mode = configValue(config, "configure");
  if (mode == "fail") return false;
  if (mode == "trap") unreachable();
  requestsCounter = defineMetric(0, "test.requests_total");
  inflightGauge = defineMetric(1, "test.inflight");
  latencyHistogram = defineMetric(2, "test.latency_ms");
  ticksCounter = defineMetric(0, "test.ticks_total");
  const tick = configValue(config, "tick");
  if (tick.length > 0) proxy_set_tick_period_milliseconds(<u32>I32.parseInt(tick));
  return true;
}

export function proxy_on_tick(root: u32): void {
  tickCount++;
  proxy_increment_metric(ticksCounter, 1);
  info("tick " + tickCount.toString());
  const waiting = waitingForTick;
  waitingForTick = [];
  for (let i = 0; i < waiting.length; i++) {
    proxy_set_effective_context(waiting[i]);
    // Whichever side is paused; continuing a side that is not paused does nothing.
    proxy_continue_stream(0);
    proxy_continue_stream(1);
  }
}

export function proxy_on_queue_ready(root: u32, token: u32): void {
  info("queue ready " + token.toString());
  if (proxy_dequeue_shared_queue(token, RET_PTR, RET_SIZE) == 0) info("dequeued " + returnedString());
}

export function proxy_on_request_headers(context: u32, headers: u32, endOfStream: bool): i32 {
  const found = getHeader(REQUEST_HEADERS, "x-test-action");
  const action = found === null ? "" : found;
  actions.set(context, action);
  proxy_increment_metric(requestsCounter, 1);
  setHeader(REQUEST_HEADERS, "x-header-count", headers.toString());
  setHeader(REQUEST_HEADERS, "x-eos", endOfStream ? "true" : "false");
  if (action == "mutate") {
    addHeader(REQUEST_HEADERS, "x-added", "1");
    addHeader(REQUEST_HEADERS, "x-multi", "second");
    setHeader(REQUEST_HEADERS, "x-replaced", "new");
    removeHeader(REQUEST_HEADERS, "x-remove-me");
    const first = getHeader(REQUEST_HEADERS, "x-multi");
    setHeader(REQUEST_HEADERS, "x-first-multi", first === null ? "none" : first);
    proxy_get_header_map_size(REQUEST_HEADERS, RET_SIZE);
    setHeader(REQUEST_HEADERS, "x-map-size", load<u32>(RET_SIZE).toString());
    const missing = headerStatus(REQUEST_HEADERS, "x-not-there");
    setHeader(REQUEST_HEADERS, "x-missing-status", missing.toString());
  } else if (action == "pairs") {
    proxy_get_header_map_pairs(REQUEST_HEADERS, RET_PTR, RET_SIZE);
    const pairs = deserializePairs(load<u32>(RET_PTR), load<u32>(RET_SIZE));
    const keys = new Array<string>();
    const values = new Array<string>();
    keys.push("x-pairs");
    values.push(pairs.join("|"));
    keys.push(":path");
    values.push("/rewritten");
    const buf = serializePairs(keys, values);
    proxy_set_header_map_pairs(REQUEST_HEADERS, changetype<usize>(buf), buf.byteLength);
  } else if (action == "local" || action == "local-continue") {
    const details = utf8("test details here");
    const body = utf8("I am a teapot");
    const hs = serializePairs(["x-local", "Content-Type"], ["yes", "text/teapot"]);
    proxy_send_local_response(418, changetype<usize>(details), details.byteLength, changetype<usize>(body), body.byteLength, changetype<usize>(hs), hs.byteLength, -1);
    return action == "local" ? 1 : 0;
  } else if (action == "pause-tick") {
    waitingForTick.push(context);
    return 1;
  } else if (action == "read-in-place") {
    const first = headerNamedInPlace("X-One");
    const second = headerNamedInPlace("x-two");
    const third = headerNamedInPlace("x-one");
    const fourth = headerNamedInPlace("x-three");
    setHeader(REQUEST_HEADERS, "x-read", first + "|" + second + "|" + third + "|" + fourth);
    setHeader(REQUEST_HEADERS, "x-read-long", headerOrDash(REQUEST_HEADERS, "x-long"));
    setHeader(REQUEST_HEADERS, "x-read-text", headerOrDash(REQUEST_HEADERS, "x-text"));
  } else if (action == "continue-inline") {
    proxy_continue_request();
    return 1;
  } else if (action == "close") {
    proxy_close_stream(0);
    return 1;
  } else if (action == "dispatch") {
    const clusterHeader = getHeader(REQUEST_HEADERS, "x-cluster");
    const timeoutHeader = getHeader(REQUEST_HEADERS, "x-timeout");
    const pathHeader = getHeader(REQUEST_HEADERS, "x-call-path");
    const bodyHeader = getHeader(REQUEST_HEADERS, "x-call-body");
    const cluster = utf8(clusterHeader === null ? "" : clusterHeader);
    const body = utf8(bodyHeader === null ? "" : bodyHeader);
    const hs = serializePairs(
      [":method", ":path", ":authority", "x-from-plugin"],
      [bodyHeader === null ? "GET" : "POST", pathHeader === null ? "/call" : pathHeader, "test-authority", "1"],
    );
    const timeout = timeoutHeader === null ? 5000 : I32.parseInt(timeoutHeader);
    const status = proxy_http_call(changetype<usize>(cluster), cluster.byteLength, changetype<usize>(hs), hs.byteLength, changetype<usize>(body), body.byteLength, 0, 0, <u32>timeout, RET_PTR);
    setHeader(REQUEST_HEADERS, "x-dispatch-status", status.toString());
    if (status != 0) return 0;
    callTokens.set(load<u32>(RET_PTR), context);
    return 1;
  } else if (action == "trap") {
    unreachable();
  } else if (action == "abort") {
    throw new Error("boom from the test plugin");
  } else if (action == "unknown-import") {
    setHeader(REQUEST_HEADERS, "x-unknown-result", proxy_made_up_function(1, 2).toString());
  } else if (action == "property") {
    const pathHeader = getHeader(REQUEST_HEADERS, "x-property");
    const path = utf8((pathHeader === null ? "" : pathHeader).replaceAll("/", "\0"));
    const status = proxy_get_property(changetype<usize>(path), path.byteLength, RET_PTR, RET_SIZE);
    setHeader(REQUEST_HEADERS, "x-property-status", status.toString());
    if (status == 0) setHeader(REQUEST_HEADERS, "x-property-value", hex(load<u32>(RET_PTR), load<u32>(RET_SIZE)));
  } else if (action == "set-property") {
    const path = utf8("my_prop");
    const value = utf8("v1");
    setHeader(REQUEST_HEADERS, "x-set-status", proxy_set_property(changetype<usize>(path), path.byteLength, changetype<usize>(value), value.byteLength).toString());
    const status = proxy_get_property(changetype<usize>(path), path.byteLength, RET_PTR, RET_SIZE);
    setHeader(REQUEST_HEADERS, "x-property-value", status == 0 ? returnedString() : "status " + status.toString());
  } else if (action == "metric") {
    proxy_increment_metric(requestsCounter, 2);
    proxy_record_metric(latencyHistogram, 42);
    proxy_increment_metric(inflightGauge, 5);
    proxy_increment_metric(inflightGauge, -2);
    setHeader(REQUEST_HEADERS, "x-neg-status", proxy_increment_metric(requestsCounter, -1).toString());
    setHeader(REQUEST_HEADERS, "x-unknown-metric-status", proxy_increment_metric(999999, 1).toString());
    proxy_get_metric(requestsCounter, RET_PTR);
    setHeader(REQUEST_HEADERS, "x-counter", load<u64>(RET_PTR).toString());
    proxy_get_metric(inflightGauge, RET_PTR);
    setHeader(REQUEST_HEADERS, "x-gauge", load<u64>(RET_PTR).toString());
  } else if (action == "log") {
    for (let level = 0; level <= 5; level++) log(level, "level " + level.toString());
    proxy_get_log_level(RET_PTR);
    setHeader(REQUEST_HEADERS, "x-log-level", load<u32>(RET_PTR).toString());
  } else if (action == "shared") {
    const key = utf8("shared-key");
    const v1 = utf8("one");
    const v2 = utf8("two");
    const s1 = proxy_set_shared_data(changetype<usize>(key), key.byteLength, changetype<usize>(v1), v1.byteLength, 0);
    proxy_get_shared_data(changetype<usize>(key), key.byteLength, RET_PTR, RET_SIZE, RET_EXTRA);
    const cas = load<u32>(RET_EXTRA);
    const got = returnedString();
    const s2 = proxy_set_shared_data(changetype<usize>(key), key.byteLength, changetype<usize>(v2), v2.byteLength, cas + 100);
    const s3 = proxy_set_shared_data(changetype<usize>(key), key.byteLength, changetype<usize>(v2), v2.byteLength, cas);
    const missing = utf8("missing-key");
    const s4 = proxy_get_shared_data(changetype<usize>(missing), missing.byteLength, RET_PTR, RET_SIZE, RET_EXTRA);
    setHeader(REQUEST_HEADERS, "x-shared", [s1.toString(), got, s2.toString(), s3.toString(), s4.toString()].join(","));
  } else if (action == "shared-get") {
    const key = utf8("shared-key");
    const status = proxy_get_shared_data(changetype<usize>(key), key.byteLength, RET_PTR, RET_SIZE, RET_EXTRA);
    setHeader(REQUEST_HEADERS, "x-shared", status == 0 ? returnedString() : "status " + status.toString());
  } else if (action == "bad-pointer") {
    setHeader(REQUEST_HEADERS, "x-bad-pointer", proxy_log(2, 0xfffffff0, 100).toString());
    setHeader(REQUEST_HEADERS, "x-bad-level", proxy_log(9, changetype<usize>(utf8("x")), 1).toString());
    setHeader(REQUEST_HEADERS, "x-bad-context", proxy_set_effective_context(99999).toString());
    setHeader(REQUEST_HEADERS, "x-bad-map", headerStatus(42, ":path").toString());
    const path = utf8(":path");
    setHeader(
      REQUEST_HEADERS,
      "x-bad-header-pointer",
      proxy_get_header_map_value(REQUEST_HEADERS, 0xfffffff0, 100, RET_PTR, RET_SIZE).toString() +
        "," +
        proxy_get_header_map_value(REQUEST_HEADERS, changetype<usize>(path), path.byteLength, 0xfffffff0, RET_SIZE).toString(),
    );
    setHeader(REQUEST_HEADERS, "x-bad-buffer", proxy_get_buffer_bytes(42, 0, 10, RET_PTR, RET_SIZE).toString());
    setHeader(REQUEST_HEADERS, "x-no-body", proxy_get_buffer_bytes(REQUEST_BODY, 0, 10, RET_PTR, RET_SIZE).toString());
    setHeader(REQUEST_HEADERS, "x-no-call-response", headerStatus(CALL_RESPONSE_HEADERS, ":status").toString());
  } else if (action == "queue") {
    const name = utf8("q1");
    proxy_register_shared_queue(changetype<usize>(name), name.byteLength, RET_PTR);
    queueToken = load<u32>(RET_PTR);
    const item = utf8("hello queue");
    setHeader(REQUEST_HEADERS, "x-enqueue-status", proxy_enqueue_shared_queue(queueToken, changetype<usize>(item), item.byteLength).toString());
  } else if (action == "wasi") {
    const text = utf8("hello from fd_write\n");
    const iov = memory.data(8);
    store<u32>(iov, changetype<usize>(text));
    store<u32>(iov + 4, text.byteLength);
    const w = fd_write(1, iov, 1, RET_SIZE);
    setHeader(REQUEST_HEADERS, "x-fd-write", w.toString() + "," + load<u32>(RET_SIZE).toString());
    setHeader(REQUEST_HEADERS, "x-fd-write-badf", fd_write(7, iov, 1, RET_SIZE).toString());
    const c = clock_time_get(0, 0, RET_PTR);
    setHeader(REQUEST_HEADERS, "x-clock", c.toString() + "," + (load<u64>(RET_PTR) > 1600000000000000000 ? "sane" : "insane"));
    setHeader(REQUEST_HEADERS, "x-clock-bad", clock_time_get(9, 0, RET_PTR).toString());
    setHeader(REQUEST_HEADERS, "x-random", random_get(RET_PTR, 8).toString());
    proxy_get_current_time_nanoseconds(RET_PTR);
    setHeader(REQUEST_HEADERS, "x-time", load<u64>(RET_PTR) > 1600000000000000000 ? "sane" : "insane");
    const fname = utf8("some_function");
    setHeader(REQUEST_HEADERS, "x-foreign", proxy_call_foreign_function(changetype<usize>(fname), fname.byteLength, 0, 0, RET_PTR, RET_SIZE).toString());
    trace("trace from the test plugin", 2, 1.5, 2.5);
    const r = Math.random();
    setHeader(REQUEST_HEADERS, "x-math-random", r >= 0 && r < 1 ? "ok" : "bad");
  }
  return 0;
}

export function proxy_on_request_body(context: u32, size: usize, endOfStream: bool): i32 {
  const action = actions.has(context) ? actions.get(context) : "";
  info("request body " + size.toString() + " " + (endOfStream ? "true" : "false"));
  if (action == "body-upper") {
    const text = readBuffer(REQUEST_BODY, size).toUpperCase();
    const b = utf8(text);
    proxy_set_buffer_bytes(REQUEST_BODY, 0, size, changetype<usize>(b), b.byteLength);
  } else if (action == "body-wrap") {
    const pre = utf8("<");
    const post = utf8(">");
    proxy_set_buffer_bytes(REQUEST_BODY, 0, 0, changetype<usize>(pre), pre.byteLength);
    proxy_set_buffer_bytes(REQUEST_BODY, 0xffffffff, 0, changetype<usize>(post), post.byteLength);
    proxy_get_buffer_status(REQUEST_BODY, RET_SIZE, RET_EXTRA);
    info("body size now " + load<u32>(RET_SIZE).toString());
  } else if (action == "body-pause") {
    waitingForTick.push(context);
    return 1;
  }
  return 0;
}

export function proxy_on_response_headers(context: u32, headers: u32, endOfStream: bool): i32 {
  const action = actions.has(context) ? actions.get(context) : "";
  info("response headers " + headers.toString() + " " + (endOfStream ? "true" : "false"));
  const status = getHeader(RESPONSE_HEADERS, ":status");
  setHeader(RESPONSE_HEADERS, "x-seen-status", status === null ? "none" : status);
  setHeader(RESPONSE_HEADERS, "x-request-headers-status", headerStatus(REQUEST_HEADERS, ":path").toString());
  if (action == "resp-pause") {
    waitingForTick.push(context);
    return 1;
  }
  return 0;
}

export function proxy_on_response_body(context: u32, size: usize, endOfStream: bool): i32 {
  const action = actions.has(context) ? actions.get(context) : "";
  info("response body " + size.toString() + " " + (endOfStream ? "true" : "false"));
  if (action == "resp-body") {
    const post = utf8(" [filtered]");
    proxy_set_buffer_bytes(RESPONSE_BODY, size, 0, changetype<usize>(post), post.byteLength);
  }
  return 0;
}

export function proxy_on_http_call_response(context: u32, token: u32, headers: u32, bodySize: usize, trailers: u32): void {
  info("http call response " + token.toString() + " headers=" + headers.toString() + " body=" + bodySize.toString() + " trailers=" + trailers.toString());
  if (token == shutdownToken) {
    info("proxy_done status " + proxy_done().toString());
    return;
  }
  if (!callTokens.has(token)) return;
  const stream = callTokens.get(token);
  callTokens.delete(token);
  const status = getHeader(CALL_RESPONSE_HEADERS, ":status");
  const echoed = getHeader(CALL_RESPONSE_HEADERS, "x-echo-authority");
  const body = readBuffer(CALL_RESPONSE_BODY, bodySize);
  proxy_set_effective_context(stream);
  setHeader(REQUEST_HEADERS, "x-call-status", status === null ? "none" : status);
  setHeader(REQUEST_HEADERS, "x-call-authority", echoed === null ? "none" : echoed);
  setHeader(REQUEST_HEADERS, "x-call-body", body);
  setHeader(REQUEST_HEADERS, "x-call-headers", headers.toString());
  proxy_continue_stream(0);
}

export function proxy_on_log(context: u32): void {
  const path = getHeader(REQUEST_HEADERS, ":path");
  info("on_log " + context.toString() + " path=" + (path === null ? "none" : path));
}

export function proxy_on_done(context: u32): bool {
  info("on_done " + context.toString());
  if (context != rootContextId || configValue(pluginConfig, "rootdone") != "later") return true;
  // Finish shutting down only after a last HTTP call, through proxy_done.
  const cluster = utf8("shutdown");
  const hs = serializePairs([":method", ":path", ":authority"], ["GET", "/shutdown", "shutdown"]);
  proxy_http_call(changetype<usize>(cluster), cluster.byteLength, changetype<usize>(hs), hs.byteLength, 0, 0, 0, 0, 5000, RET_PTR);
  shutdownToken = load<u32>(RET_PTR);
  info("proxy_done early status " + proxy_done().toString());
  return false;
}

export function proxy_on_delete(context: u32): void {
  info("on_delete " + context.toString());
  actions.delete(context);
  waitingForTick = removeFrom(waitingForTick, context);
}
