// The exchange on its own, behind a real HTTP server: what a request gets when the plugin cannot take it, and that
// the exchange is counted as ended whichever way it goes.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HfiError } from '@hfi/core';
import { Agent } from 'undici';
import { type ExchangeContext, runExchange } from './exchange';

describe('runExchange', () => {
  let server: Server;
  let url: string;
  const logged: string[] = [];
  let ended = 0;
  const dispatcher = new Agent();

  beforeAll(async () => {
    const ctx: ExchangeContext = {
      upstream: new URL('http://127.0.0.1:9'),
      upstreamPathPrefix: '',
      dispatcher,
      newStream: () => {
        throw new HfiError('HFI_ERR_INTERNAL', 'The plugin VM is closed');
      },
      runDueTicks: () => undefined,
      log: (_level, message) => logged.push(message),
      ended: () => {
        ended++;
      },
    };
    server = createServer((req, res) => void runExchange(ctx, req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await dispatcher.close();
    server.closeAllConnections();
    server.close();
  });

  it('answers 503 when the plugin is closing, logs why, and counts the exchange as ended', async () => {
    const res = await fetch(`${url}/api/items`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('local sidecar is closing');
    expect(logged).toEqual(['local sidecar: request failed: The plugin VM is closed']);
    expect(ended).toBe(1);
  });
});
