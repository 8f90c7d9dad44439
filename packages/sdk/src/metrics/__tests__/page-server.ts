// A real HTTP server on 127.0.0.1:<ephemeral> that answers like an Envoy admin endpoint, for source tests.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageServer {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Most requests that were in flight at the same time. */
  maxInFlight: number;
  close(): Promise<void>;
}

export type PageHandler = (req: IncomingMessage, res: ServerResponse, index: number) => void | Promise<void>;

export function textPage(body: string | (() => string)): PageHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
    res.end(typeof body === 'function' ? body() : body);
  };
}

export async function startPageServer(handler: PageHandler): Promise<PageServer> {
  let inFlight = 0;
  const state = { requests: [] as string[], maxInFlight: 0 };
  const server = createServer((req, res) => {
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    state.requests.push(req.url ?? '');
    void handler(req, res, state.requests.length - 1);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

/** A port nothing listens on: bound once, then released. */
export async function closedPortUrl(): Promise<string> {
  const s = await startPageServer(textPage(''));
  const url = s.url;
  await s.close();
  return url;
}
