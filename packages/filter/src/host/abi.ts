// Numeric values of the proxy-wasm ABI (v0.2.1 spec, "Types"), plus the WASI errno values the host returns.

export const Status = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  InternalFailure: 10,
  /** Not in the spec's table, but Envoy reports a failed HTTP call through proxy_get_status with it. */
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;

export const Action = { Continue: 0, Pause: 1 } as const;

export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcCallMessage: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  ForeignFunctionArguments: 8,
} as const;
export const MAX_BUFFER_TYPE = 8;

export const MapType = {
  HttpRequestHeaders: 0,
  HttpRequestTrailers: 1,
  HttpResponseHeaders: 2,
  HttpResponseTrailers: 3,
  GrpcCallInitialMetadata: 4,
  GrpcCallTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;

export const StreamType = { HttpRequest: 0, HttpResponse: 1, Downstream: 2, Upstream: 3 } as const;

export const MetricTypeId = { Counter: 0, Gauge: 1, Histogram: 2 } as const;

export const WasiErrno = { Success: 0, Badf: 8, Fault: 21, Inval: 28, Nosys: 52, Notsup: 58 } as const;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export function logLevelNumber(level: LogLevelName): number {
  return LOG_LEVELS.indexOf(level);
}
