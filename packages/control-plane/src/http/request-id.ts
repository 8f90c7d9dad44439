import type { IncomingMessage } from 'node:http';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ACCEPTED = /^[\x21-\x7e]{1,128}$/;

let stampSecond = -1;
let stamp = '';

/**
 * `YYYYMMDDhhmmss-XXXXXX` (UTC), the reference's form. The suffix only has to tell requests of the same second
 * apart in logs, not resist guessing, so Math.random is enough (crypto's per-call cost shows at 10,000 watches).
 */
export function newRequestId(nowMs = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stamp = new Date(second * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  }
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return `${stamp}-${suffix}`;
}

/** Echoes a caller's `X-Request-ID` when it is printable and short; otherwise makes one. */
export function requestIdFor(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value && ACCEPTED.test(value) ? value : newRequestId();
}
