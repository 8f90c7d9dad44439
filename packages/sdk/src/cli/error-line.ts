// The one line `hfi` prints on stderr when a command fails.
import { HfiError } from '@hfi/core';
import { TOKEN_ENV } from './global-options';

export interface ErrorContext {
  /** The policy the command was about, for `policy "<name>" not found`. */
  policyName?: string;
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, '; ').trim();
}

function isNotFound(err: HfiError): boolean {
  return err.code === 'HFI_ERR_POLICY_NOT_FOUND' || (err.statusCode === 404 && err.code !== 'HFI_ERR_NOT_FOUND');
}

/** `Error: <message> (HFI_ERR_…)`, without a trailing newline. */
export function errorLine(err: unknown, context: ErrorContext = {}): string {
  if (!(err instanceof HfiError)) {
    return `Error: ${oneLine(err instanceof Error ? err.message : String(err))}`;
  }
  let message: string;
  if (context.policyName !== undefined && isNotFound(err)) {
    message = `policy "${context.policyName}" not found`;
  } else if (err.code === 'HFI_ERR_UNAUTHORIZED' || err.statusCode === 401) {
    message = `${err.message}; pass --token or set ${TOKEN_ENV}`;
  } else if (err.code === 'HFI_ERR_CONTROL_PLANE_RESPONSE' && typeof err.details.status === 'number') {
    message = `control plane answered ${err.details.status}: ${err.message}`;
  } else if (err.field !== undefined && !err.message.includes(err.field)) {
    message = `${err.field}: ${err.message}`;
  } else {
    message = err.message;
  }
  // The server's validation errors read like the client-side ones.
  if (err.code === 'HFI_ERR_POLICY_INVALID' && !message.startsWith('invalid policy')) {
    message = `invalid policy: ${message}`;
  }
  return `Error: ${oneLine(message)} (${err.code})`;
}
