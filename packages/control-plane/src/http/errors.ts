import { HfiError, isHfiError } from '@hfi/core';

interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
}

const BODY_LIMIT_BYTES = 1024 * 1024;

/** Maps anything thrown while serving a request (ours, fastify's, unexpected) onto the one catalogue. */
export function toHfiError(err: unknown): HfiError {
  if (isHfiError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as FrameworkError;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HfiError('HFI_ERR_BODY_TOO_LARGE', undefined, {
        cause: err,
        details: { limit_bytes: BODY_LIMIT_BYTES },
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HfiError(
        'HFI_ERR_UNSUPPORTED_MEDIA_TYPE',
        'The request body must be application/json (or application/yaml)',
        { cause: err },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HfiError('HFI_ERR_POLICY_PARSE', 'request body is empty; send a policy as JSON or YAML', {
        cause: err,
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HfiError('HFI_ERR_POLICY_PARSE', `request body is not valid JSON: ${e.message}`, { cause: err });
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new HfiError('HFI_ERR_BAD_REQUEST', e.message || undefined, { cause: err, statusCode: e.statusCode });
  }
  return new HfiError('HFI_ERR_INTERNAL', undefined, { cause: err, details: { error_type: 'unknown' } });
}

/**
 * The reference's error body (`error`, `message`, `details`, `code` for validation) plus the stable `hfi_code`
 * and the request id.
 */
export function errorBody(err: HfiError, requestId: string): Record<string, unknown> {
  const details = { ...err.details };
  if (err.field !== undefined && details.field === undefined) details.field = err.field;
  const body: Record<string, unknown> = { error: err.wire, message: err.message };
  if (Object.keys(details).length > 0) body.details = details;
  if (err.code === 'HFI_ERR_POLICY_INVALID') body.code = 'validation_error';
  body.hfi_code = err.code;
  body.request_id = requestId;
  return body;
}
