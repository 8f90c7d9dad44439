// The catalog service: a small JSON API the frontend depends on. In the demo and the tests its local sidecar is the
// one faults are injected on.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

export const PRODUCTS: readonly Product[] = Object.freeze([
  { id: 'p-100', name: 'Espresso cup', priceCents: 900 },
  { id: 'p-101', name: 'Pour-over kettle', priceCents: 4500 },
  { id: 'p-102', name: 'Burr grinder', priceCents: 12900 },
  { id: 'p-103', name: 'Coffee beans, 1 kg', priceCents: 2800 },
]);

export interface StartedService extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ServiceListenOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Listens, and returns the address plus a close() that also ends keep-alive connections. */
export async function listen(
  server: Server,
  { port = 0, host = '127.0.0.1' }: ServiceListenOptions,
): Promise<StartedService> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return { url: `http://${host}:${bound}`, port: bound, close, [Symbol.asyncDispose]: close };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://catalog').pathname;
  if (req.method === 'GET' && path === '/products') {
    sendJson(res, 200, { products: PRODUCTS });
  } else if (req.method === 'GET' && path === '/health') {
    sendJson(res, 200, { status: 'ok' });
  } else {
    sendJson(res, 404, { error: `no route ${req.method} ${path}` });
  }
}

export function startCatalog(options: ServiceListenOptions = {}): Promise<StartedService> {
  return listen(createServer(handle), options);
}
