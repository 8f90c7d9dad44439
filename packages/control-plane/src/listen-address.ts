import { isIP } from 'node:net';
import { HfiError } from '@hfi/core';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port`, or Go's `:port` (every interface). */
export function parseListenAddress(text: string): ListenAddress {
  const trimmed = text.trim();
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] as string;
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon === -1 || trimmed.indexOf(':') !== colon) {
      throw configError(text, 'expected host:port, [ipv6]:port or :port');
    }
    host = trimmed.slice(0, colon) || '0.0.0.0';
    portText = trimmed.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw configError(text, `invalid port "${portText}"`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Refuses a non-loopback address without a token, unless the operator said `insecure`. */
export function checkListenSecurity(listen: ListenAddress, opts: { token?: string; insecure?: boolean }): void {
  if (opts.token || opts.insecure || isLoopback(listen.host)) return;
  throw new HfiError('HFI_ERR_INSECURE_LISTEN', undefined, {
    field: 'listen',
    details: { listen: `${listen.host}:${listen.port}` },
  });
}

/** The URL clients use; a wildcard address is reached through loopback. */
export function urlFor(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(reachable) === 6 ? `[${reachable}]` : reachable}:${port}`;
}

function configError(text: string, reason: string): HfiError {
  return new HfiError('HFI_ERR_CONFIG', `invalid listen address "${text}": ${reason}`, {
    field: 'listen',
    details: { listen: text },
  });
}
