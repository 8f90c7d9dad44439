import { createHash, timingSafeEqual } from 'node:crypto';
import { HfiError } from '@hfi/core';

const MUTATING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** Bearer-token check for mutating requests; compares digests so neither content nor length leaks through timing. */
export function createTokenCheck(token: string): (method: string, authorization: string | undefined) => void {
  const expected = digest(token);
  return (method, authorization) => {
    if (!MUTATING.has(method)) return;
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!match || !timingSafeEqual(digest((match[1] as string).trim()), expected)) {
      throw new HfiError('HFI_ERR_UNAUTHORIZED', undefined, {
        details: { reason: match ? 'invalid token' : 'missing bearer token' },
      });
    }
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
