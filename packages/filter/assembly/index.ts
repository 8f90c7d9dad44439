// hfi proxy-wasm filter: fetches fault policies from the control plane by long-poll watch and injects aborts and
// delays into matching requests. Fails open: without policies, or on any problem, requests pass untouched.
// This file is the module's export list. Root-context calls go to the runtime, stream calls to streams.ts; every one
// runs between enter() and leave(), where the collector may run (collect.ts). The allocator is memory.ts.

import * as runtime from '@solo-io/proxy-runtime/assembly/exports';
import { registerRootContext } from '@solo-io/proxy-runtime/assembly/index';
import { enter, leave } from './collect';
import * as streams from './streams';

export { hfi_gc_collections } from './collect';
export { malloc, proxy_on_memory_allocate } from './memory';

const CONTINUE: i32 = 0;

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_vm_start(root_context_id: u32, configuration_size: u32): u32 {
  enter();
  const r = runtime.proxy_on_vm_start(root_context_id, configuration_size);
  leave();
  return r;
}

export function proxy_validate_configuration(root_context_id: u32, configuration_size: u32): u32 {
  enter();
  const r = runtime.proxy_validate_configuration(root_context_id, configuration_size);
  leave();
  return r;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  enter();
  const r = runtime.proxy_on_configure(root_context_id, configuration_size);
  leave();
  return r;
}

export function proxy_on_tick(root_context_id: u32): void {
  enter();
  runtime.proxy_on_tick(root_context_id);
  leave();
}

export function proxy_on_foreign_function(root_context_id: u32, function_id: u32, data_size: u32): void {}

export function proxy_on_queue_ready(root_context_id: u32, token: u32): void {
  enter();
  runtime.proxy_on_queue_ready(root_context_id, token);
  leave();
}

export function proxy_on_http_call_response(
  context_id: u32,
  token: u32,
  headers: u32,
  body_size: u32,
  trailers: u32,
): void {
  enter();
  runtime.proxy_on_http_call_response(context_id, token, headers, body_size, trailers);
  leave();
}

export function proxy_on_grpc_receive_initial_metadata(context_id: u32, token: u32, headers: u32): void {
  enter();
  runtime.proxy_on_grpc_receive_initial_metadata(context_id, token, headers);
  leave();
}

export function proxy_on_grpc_trailing_metadata(context_id: u32, token: u32, trailers: u32): void {
  enter();
  runtime.proxy_on_grpc_trailing_metadata(context_id, token, trailers);
  leave();
}

export function proxy_on_grpc_receive(context_id: u32, token: u32, response_size: u32): void {
  enter();
  runtime.proxy_on_grpc_receive(context_id, token, response_size);
  leave();
}

export function proxy_on_grpc_close(context_id: u32, token: u32, status_code: u32): void {
  enter();
  runtime.proxy_on_grpc_close(context_id, token, status_code);
  leave();
}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  enter();
  streams.contextCreate(context_id, root_context_id);
  leave();
}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  enter();
  const r = streams.requestHeaders(context_id, headers, end_of_stream);
  leave();
  return r;
}

export function proxy_on_request_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): i32 {
  enter();
  const r = streams.requestBody(context_id, body_buffer_length, end_of_stream);
  leave();
  return r;
}

export function proxy_on_request_trailers(context_id: u32, trailers: u32): i32 {
  enter();
  const r = streams.requestTrailers(context_id, trailers);
  leave();
  return r;
}

// The filter never holds a response or metadata.
export function proxy_on_request_metadata(context_id: u32, nelements: u32): i32 {
  return CONTINUE;
}
export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  return CONTINUE;
}
export function proxy_on_response_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): i32 {
  return CONTINUE;
}
export function proxy_on_response_trailers(context_id: u32, trailers: u32): i32 {
  return CONTINUE;
}
export function proxy_on_response_metadata(context_id: u32, nelements: u32): i32 {
  return CONTINUE;
}

export function proxy_on_done(context_id: u32): u32 {
  enter();
  const r = streams.done(context_id);
  leave();
  return r;
}

export function proxy_on_log(context_id: u32): void {}

export function proxy_on_delete(context_id: u32): void {
  enter();
  streams.deleteContext(context_id);
  leave();
}

registerRootContext(streams.createRoot, '');
