import type { Logger } from 'pino';

export interface AccessLogEntry {
  method: string;
  url: string;
  status: number;
  latencyMs: number;
  requestId: string;
  clientIp: string;
  userAgent: string | undefined;
}

/**
 * One `HTTP Request` line per request: error level for 5xx, warn for 4xx, info otherwise (as the reference) — except
 * answered watches, at debug: every sidecar polls again at once, so at info they would drown the log and cost a
 * large share of a fan-out to thousands of watchers.
 */
export function logAccess(log: Logger, entry: AccessLogEntry): void {
  const q = entry.url.indexOf('?');
  const fields = {
    method: entry.method,
    path: q === -1 ? entry.url : entry.url.slice(0, q),
    query: q === -1 ? '' : entry.url.slice(q + 1),
    status: entry.status,
    latency_ms: Math.round(entry.latencyMs * 1000) / 1000,
    request_id: entry.requestId,
    client_ip: entry.clientIp,
    user_agent: entry.userAgent,
  };
  if (entry.status >= 500) log.error(fields, 'HTTP Request');
  else if (entry.status >= 400) log.warn(fields, 'HTTP Request');
  else if (fields.query.includes('watch=true')) log.debug(fields, 'HTTP Request');
  else log.info(fields, 'HTTP Request');
}
