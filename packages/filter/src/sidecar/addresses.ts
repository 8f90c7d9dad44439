// Listen addresses (`127.0.0.1:15006`, `:15006`, `15006`, `[::1]:0`) and the Istio cluster name of a URL.

import { HfiError } from '@hfi/core';

export interface ListenAddress {
  host: string;
  port: number;
}

export type ListenOption = string | number | { host?: string; port?: number };

const DEFAULT_HOST = '127.0.0.1';

export function parseListenAddress(value: ListenOption, field: string): ListenAddress {
  if (typeof value === 'number') return { host: DEFAULT_HOST, port: checkPort(value, field, value) };
  if (typeof value === 'object') {
    return { host: value.host ?? DEFAULT_HOST, port: checkPort(value.port ?? 0, field, value) };
  }
  const text = value.trim();
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!match) {
    throw new HfiError('HFI_ERR_CONFIG', `${field} must be host:port or a port, got "${value}"`, {
      field,
      details: { received: value },
    });
  }
  const host = match[1] || match[2] || DEFAULT_HOST;
  return { host, port: checkPort(Number(match[3]), field, value) };
}

function checkPort(port: number, field: string, received: unknown): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new HfiError('HFI_ERR_CONFIG', `${field} has an invalid port`, { field, details: { received } });
  }
  return port;
}

export function parseHttpUrl(value: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new HfiError('HFI_ERR_CONFIG', `${field} must be an http:// URL, got "${value}"`, {
      field,
      details: { received: value },
    });
  }
  if (url.protocol !== 'http:') {
    throw new HfiError('HFI_ERR_CONFIG', `${field} must be an http:// URL, got "${value}"`, {
      field,
      details: { received: value },
    });
  }
  return url;
}

/** `host:port` as the plugin sends it in :authority. */
export function authorityOf(url: URL): string {
  return `${url.hostname}:${url.port || '80'}`;
}

/** Istio's outbound cluster for a service address: `outbound|<port>||<host>`. */
export function istioOutboundCluster(url: URL): string {
  return `outbound|${url.port || '80'}||${url.hostname}`;
}

export function urlOf(address: ListenAddress): string {
  return `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
