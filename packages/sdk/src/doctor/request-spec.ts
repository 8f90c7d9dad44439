// `--request 'GET /api/users?id=1'` and `-H 'x-user: test'`: a request to check against the policies' match rules.
import { HfiError } from '@hfi/core';
import type { RequestSpec } from './types';

export function parseRequestSpec(text: string, headers: readonly string[] = []): RequestSpec {
  const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(text);
  if (m === null || !(m[2] as string).startsWith('/')) {
    throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', `--request takes "METHOD /path", got ${JSON.stringify(text)}`, {
      field: 'request',
      details: { received: text },
    });
  }
  return { method: (m[1] as string).toUpperCase(), path: m[2] as string, headers: headers.map(parseHeader) };
}

export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  if (colon < 0 || name === '' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', `-H takes "name: value", got ${JSON.stringify(text)}`, {
      field: 'headers',
      details: { received: text },
    });
  }
  return [name.toLowerCase(), text.slice(colon + 1).trim()];
}
