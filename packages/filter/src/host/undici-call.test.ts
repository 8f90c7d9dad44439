import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { type CallAnswer, isCallFailure, UndiciCall } from './undici-call';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let origin: string;
let handler: Handler = (_req, res) => res.end();
const dispatcher = new Agent({ keepAliveTimeout: 1000 });

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await dispatcher.destroy();
  server.closeAllConnections();
  server.close();
});

function call(path = '/'): UndiciCall {
  return new UndiciCall(dispatcher, { origin, path, method: 'GET', headers: { 'x-test': 'yes' } });
}

describe('UndiciCall', () => {
  it('collects the status, headers (a repeated one as a list), a body sent in chunks, and trailers', async () => {
    let seen: IncomingMessage | undefined;
    handler = (req, res) => {
      seen = req;
      res.writeHead(201, [
        ['x-multi', 'a'],
        ['x-multi', 'b'],
        ['trailer', 'x-sum'],
      ]);
      res.write('hel');
      setImmediate(() => {
        res.addTrailers({ 'x-sum': '5' });
        res.end('lo');
      });
    };
    const outcome = await call('/items?x=1').result;
    expect(isCallFailure(outcome)).toBe(false);
    const answer = outcome as CallAnswer;
    expect(answer.statusCode).toBe(201);
    expect(answer.headers['x-multi']).toEqual(['a', 'b']);
    expect(answer.body.toString()).toBe('hello');
    expect(answer.trailers).toEqual({ 'x-sum': '5' });
    expect(seen?.url).toBe('/items?x=1');
    expect(seen?.headers['x-test']).toBe('yes');
  });

  it('reports an upstream it cannot reach as unreachable', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadOrigin = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    closed.close();
    await once(closed, 'close');
    const outcome = await new UndiciCall(dispatcher, { origin: deadOrigin, path: '/', method: 'GET' }).result;
    expect(outcome).toMatchObject({ kind: 'unreachable', error: { code: 'ECONNREFUSED' } });
  });

  it('reports a response that breaks off after its headers as broken', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => res.destroy());
    };
    expect(await call().result).toMatchObject({ kind: 'broken', error: { message: expect.any(String) } });
  });

  it('cancels a call in flight: the upstream sees the request go away', async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let gone: Promise<unknown> | undefined;
    handler = (_req, res) => {
      gone = once(res, 'close');
      arrived();
    };
    const inFlight = call();
    await arrival;
    inFlight.cancel();
    expect(await inFlight.result).toEqual({ kind: 'cancelled' });
    await gone;
  });

  it('cancels a call before undici has started it', async () => {
    let requests = 0;
    handler = (_req, res) => {
      requests++;
      res.end();
    };
    const early = call();
    early.cancel();
    expect(await early.result).toEqual({ kind: 'cancelled' });
    // The next call on the same dispatcher still works.
    expect(await call().result).toMatchObject({ statusCode: 200 });
    expect(requests).toBe(1);
  });

  it('runs beforeWrite once per request, before the upstream has it, on a new and on a reused connection', async () => {
    let received = 0;
    handler = (_req, res) => {
      received++;
      res.end('ok');
    };
    const seenAtWrite: number[] = [];
    const agent = new Agent({ keepAliveTimeout: 1000, connections: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const upstream = new UndiciCall(agent, { origin, path: '/', method: 'GET', headers: [] }, () =>
          seenAtWrite.push(received),
        );
        expect(await upstream.result).toMatchObject({ statusCode: 200 });
      }
    } finally {
      await agent.destroy();
    }
    expect(seenAtWrite).toEqual([0, 1, 2]);
  });
});
