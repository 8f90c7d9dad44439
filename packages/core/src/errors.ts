// The one catalogue of hfi errors. Every error has a stable `code` (HFI_ERR_*), the HTTP status it maps to
// when the control plane returns it, and the reference's snake_case error name for /v1 compatibility.
// Add new codes here, never inline elsewhere; docs/errors.md lists them all.

export interface HfiErrorFields {
  /** Field path in the offending input, e.g. `spec.rules[0].fault.percentage`. */
  field?: string;
  /** Structured extras: request id, URL, received status, policy name... */
  details?: Record<string, unknown>;
  /** Overrides the catalogue's HTTP status (e.g. a client error carrying the status it received). */
  statusCode?: number;
  cause?: unknown;
}

interface CatalogueEntry {
  readonly status: number;
  /** The `error` value the reference control plane uses in its JSON bodies. */
  readonly wire: string;
  readonly message: string;
}

export const ERROR_CATALOGUE = {
  // Input and policies (control plane, CLI, SDK)
  HFI_ERR_POLICY_INVALID: { status: 400, wire: 'invalid_input', message: 'The provided input is invalid' },
  HFI_ERR_POLICY_PARSE: { status: 400, wire: 'invalid_request_body', message: 'The request body could not be parsed' },
  HFI_ERR_POLICY_NAME_MISMATCH: {
    status: 400,
    wire: 'invalid_input',
    message: 'policy name in URL must match policy name in body',
  },
  HFI_ERR_POLICY_VERSION: { status: 400, wire: 'invalid_policy', message: 'version must be incremented for updates' },
  HFI_ERR_POLICY_NOT_FOUND: { status: 404, wire: 'not_found', message: 'The requested resource was not found' },
  HFI_ERR_POLICY_EXISTS: { status: 409, wire: 'resource_already_exists', message: 'The resource already exists' },
  HFI_ERR_BAD_REQUEST: { status: 400, wire: 'invalid_input', message: 'The request is invalid' },
  HFI_ERR_UNAUTHORIZED: { status: 401, wire: 'unauthorized', message: 'A valid bearer token is required' },
  HFI_ERR_NOT_FOUND: { status: 404, wire: 'not_found', message: 'No such route' },
  HFI_ERR_METHOD_NOT_ALLOWED: { status: 405, wire: 'method_not_allowed', message: 'Method not allowed' },
  HFI_ERR_BODY_TOO_LARGE: { status: 413, wire: 'payload_too_large', message: 'The request body is larger than 1 MiB' },
  HFI_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    wire: 'unsupported_media_type',
    message: 'The request body must be application/json',
  },
  // Server side
  HFI_ERR_STORE_UNAVAILABLE: { status: 503, wire: 'store_unavailable', message: 'The policy store is unavailable' },
  HFI_ERR_INTERNAL: { status: 500, wire: 'internal_server_error', message: 'An internal server error occurred' },
  HFI_ERR_CONFIG: { status: 500, wire: 'invalid_config', message: 'Invalid configuration' },
  HFI_ERR_INSECURE_LISTEN: {
    status: 500,
    wire: 'invalid_config',
    message: 'Refusing to listen on a non-loopback address without a token (pass --token, or --insecure)',
  },
  // Client side (SDK, CLI)
  HFI_ERR_CONTROL_PLANE_UNREACHABLE: { status: 503, wire: 'unreachable', message: 'The control plane is unreachable' },
  HFI_ERR_CONTROL_PLANE_RESPONSE: {
    status: 502,
    wire: 'bad_response',
    message: 'The control plane answered with an error',
  },
  HFI_ERR_TIMEOUT: { status: 504, wire: 'timeout', message: 'The operation timed out' },
  HFI_ERR_INPUT_READ: { status: 400, wire: 'invalid_input', message: 'The input could not be read' },
  // Metrics (SDK metric sources)
  HFI_ERR_METRICS_SCRAPE: { status: 502, wire: 'scrape_failed', message: 'No metrics target could be scraped' },
  HFI_ERR_METRICS_PARSE: { status: 502, wire: 'bad_metrics', message: 'The stats page could not be parsed' },
  // Stats store of the local sidecar (proxy_*_metric calls: WasmResult NotFound / BadArgument)
  HFI_ERR_METRIC_NOT_FOUND: { status: 404, wire: 'not_found', message: 'No metric with that id' },
  HFI_ERR_METRIC_BAD_ARGUMENT: {
    status: 400,
    wire: 'invalid_input',
    message: 'That operation does not apply to this metric',
  },
  // Proxy-wasm host and local sidecar (@hfi/filter)
  HFI_ERR_PLUGIN_LOAD: { status: 500, wire: 'plugin_load_failed', message: 'The Wasm plugin could not be loaded' },
  HFI_ERR_PLUGIN_START: { status: 500, wire: 'plugin_start_failed', message: 'The Wasm plugin failed to start' },
  HFI_ERR_SIDECAR_START: { status: 500, wire: 'sidecar_start_failed', message: 'The local sidecar failed to start' },
  // Fault windows (SDK)
  HFI_ERR_WINDOW_OPTIONS: { status: 400, wire: 'invalid_input', message: 'The fault window options are invalid' },
  HFI_ERR_NO_TARGETS: { status: 404, wire: 'no_targets', message: 'No sidecar matches the fault window selector' },
  HFI_ERR_ACK_TIMEOUT: {
    status: 504,
    wire: 'ack_timeout',
    message: 'A targeted sidecar did not acknowledge the policy in time',
  },
  HFI_ERR_WINDOW_CLOSED: { status: 409, wire: 'window_closed', message: 'The fault window is closed' },
  // Jest preset and matchers (@hfi/jest-preset)
  HFI_ERR_PRESET_CONFIG: {
    status: 500,
    wire: 'invalid_config',
    message: 'The hfi Jest preset configuration is invalid',
  },
  HFI_ERR_PRESET_NOT_SET_UP: {
    status: 500,
    wire: 'preset_not_set_up',
    message: "The hfi Jest preset's global setup has not run in this process",
  },
  HFI_ERR_PRESET_LEFTOVER: {
    status: 409,
    wire: 'policies_left_open',
    message: 'Fault policies were left open when the test run ended',
  },
  HFI_ERR_UNKNOWN_SERVICE: { status: 404, wire: 'unknown_service', message: 'No service with that name is configured' },
  HFI_ERR_METRICS_SOURCE_UNAVAILABLE: {
    status: 501,
    wire: 'not_available',
    message: 'The configured metric source is not available in this installation',
  },
  HFI_ERR_MATCHER_USAGE: {
    status: 400,
    wire: 'invalid_input',
    message: 'An hfi matcher was called with a subject or arguments it cannot check',
  },
  // Kubernetes and Prometheus metric sources (SDK)
  HFI_ERR_KUBERNETES_API: {
    status: 502,
    wire: 'kubernetes_api_error',
    message: 'The Kubernetes API server refused or failed a request',
  },
  HFI_ERR_PROMETHEUS_QUERY: {
    status: 502,
    wire: 'prometheus_query_failed',
    message: 'The Prometheus HTTP API failed a query',
  },
  // hfi doctor (SDK diagnose())
  HFI_ERR_DOCTOR_OPTIONS: { status: 400, wire: 'invalid_input', message: 'The hfi doctor options are invalid' },
  HFI_ERR_DOCTOR_BASELINE: {
    status: 400,
    wire: 'invalid_input',
    message: 'The hfi doctor baseline file is not readable or not a baseline',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type HfiErrorCode = keyof typeof ERROR_CATALOGUE;

const HFI_ERROR_BRAND = Symbol.for('hfi.error');

export class HfiError extends Error {
  override readonly name: string = 'HfiError';
  readonly code: HfiErrorCode;
  readonly statusCode: number;
  readonly field?: string;
  readonly details: Record<string, unknown>;
  readonly [HFI_ERROR_BRAND] = true;

  constructor(code: HfiErrorCode, message?: string, fields: HfiErrorFields = {}) {
    super(message ?? ERROR_CATALOGUE[code].message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = code;
    this.statusCode = fields.statusCode ?? ERROR_CATALOGUE[code].status;
    if (fields.field !== undefined) this.field = fields.field;
    this.details = fields.details ?? {};
  }

  /** The reference's snake_case error name for this code. */
  get wire(): string {
    return ERROR_CATALOGUE[this.code].wire;
  }

  // Works across duplicate copies of this package (two versions installed side by side).
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[HFI_ERROR_BRAND] === true;
  }
}

export function isHfiError(value: unknown, code?: HfiErrorCode): value is HfiError {
  return value instanceof HfiError && (code === undefined || value.code === code);
}
