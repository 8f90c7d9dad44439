import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { action, header, useTestPlugin } from './__tests__/harness';
import { sendHttpCall } from './http-call';
import { UndiciCall } from './undici-call';

const h = useTestPlugin();

let server: Server;
let baseUrl: string;
let deadUrl: string;
const held: ServerResponse[] = [];
/** Resolves when a /slow-cancelled request arrives; `clientGone` resolves when the client goes away. */
let cancelledArrival: Promise<{ clientGone: Promise<void> }> | undefined;
let onCancelledArrival: ((arrival: { clientGone: Promise<void> }) => void) | undefined;
const seen: { method?: string; url?: string; host?: string; fromPlugin?: string; body: string }[] = [];

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const s = createServer(handler);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

beforeAll(async () => {
  server = await listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    seen.push({
      method: req.method,
      url: req.url,
      host: req.headers.host,
      fromPlugin: req.headers['x-from-plugin'] as string | undefined,
      body,
    });
    if (req.url?.startsWith('/slow')) {
      held.push(res);
      if (req.url === '/slow-cancelled') onCancelledArrival?.({ clientGone: once(res, 'close').then(() => undefined) });
      return;
    }
    res.writeHead(200, { 'x-echo-authority': req.headers.host ?? '' });
    res.end(`${req.method} ${req.url} ${body}`);
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dead = await listen(() => {});
  deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  dead.close();
  await once(dead, 'close');
});

afterAll(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  server.close();
});

describe('proxy_http_call', () => {
  it('sends the request to the cluster URL and delivers status, headers and body to the calling stream', async () => {
    const { vm, watcher } = await h.start({ clusters: { backend: baseUrl } });
    const stream = vm.newStream();
    const verdict = stream.onRequestHeaders(
      action('dispatch', [
        ['x-cluster', 'backend'],
        ['x-call-path', '/hello?x=1'],
      ]),
      true,
    );
    expect(verdict).toBe('pause');
    await stream.whenResumed();
    const out = stream.requestHeaders;
    expect(header(out, 'x-dispatch-status')).toBe('0');
    expect(header(out, 'x-call-status')).toBe('200');
    expect(header(out, 'x-call-authority')).toBe('test-authority');
    expect(header(out, 'x-call-body')).toBe('GET /hello?x=1 ');
    expect(Number(header(out, 'x-call-headers'))).toBeGreaterThan(2);
    expect(seen.at(-1)).toEqual({
      method: 'GET',
      url: '/hello?x=1',
      host: 'test-authority',
      fromPlugin: '1',
      body: '',
    });
    await watcher.waitFor('http call response');
  });

  it('sends a request body', async () => {
    const { vm } = await h.start({ clusters: { backend: baseUrl } });
    const stream = vm.newStream();
    stream.onRequestHeaders(
      action('dispatch', [
        ['x-cluster', 'backend'],
        ['x-call-body', 'payload'],
      ]),
      true,
    );
    await stream.whenResumed();
    expect(header(stream.requestHeaders, 'x-call-body')).toBe('POST /call payload');
  });

  it('answers BAD_ARGUMENT for an unknown cluster, like Envoy', async () => {
    const { vm } = await h.start({ clusters: { backend: baseUrl } });
    const stream = vm.newStream();
    expect(stream.onRequestHeaders(action('dispatch', [['x-cluster', 'outbound|8080||nowhere']]), true)).toBe(
      'continue',
    );
    expect(header(stream.requestHeaders, 'x-dispatch-status')).toBe('2');
  });

  it("delivers the router's 504 when the call times out", async () => {
    const { vm } = await h.start({ clusters: { backend: baseUrl } });
    const stream = vm.newStream();
    stream.onRequestHeaders(
      action('dispatch', [
        ['x-cluster', 'backend'],
        ['x-call-path', '/slow'],
        ['x-timeout', '50'],
      ]),
      true,
    );
    await stream.whenResumed();
    expect(header(stream.requestHeaders, 'x-call-status')).toBe('504');
    expect(header(stream.requestHeaders, 'x-call-body')).toBe('upstream request timeout');
  });

  it("delivers the router's 503 when nothing listens at the cluster", async () => {
    const { vm } = await h.start({ clusters: { backend: deadUrl } });
    const stream = vm.newStream();
    stream.onRequestHeaders(action('dispatch', [['x-cluster', 'backend']]), true);
    await stream.whenResumed();
    expect(header(stream.requestHeaders, 'x-call-status')).toBe('503');
    expect(header(stream.requestHeaders, 'x-call-body')).toBe(
      'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
    );
  });

  it('cancels the calls of a stream that ended', async () => {
    const { vm, watcher } = await h.start({ clusters: { backend: baseUrl } });
    cancelledArrival = new Promise((resolve) => {
      onCancelledArrival = resolve;
    });
    const stream = vm.newStream();
    stream.onRequestHeaders(
      action('dispatch', [
        ['x-cluster', 'backend'],
        ['x-call-path', '/slow-cancelled'],
        ['x-timeout', '60000'],
      ]),
      true,
    );
    const arrival = await cancelledArrival;
    stream.done();
    // The host aborts the call when the stream's context goes away, long before the 60 s timeout.
    await arrival?.clientGone;
    expect(watcher.messages().some((m) => m.startsWith('http call response'))).toBe(false);
  });

  it('lets the root context finish with proxy_done after a last call at shutdown', async () => {
    const { vm, watcher } = await h.start({ clusters: { shutdown: baseUrl }, pluginConfig: 'rootdone=later' });
    await vm.close();
    const messages = watcher.messages();
    const done = messages.indexOf('proxy_done status 0');
    expect(done).toBeGreaterThan(messages.indexOf('on_done 1'));
    expect(messages.indexOf('on_delete 1')).toBeGreaterThan(done);
    expect(messages).not.toContain('root context did not call proxy_done in time; deleting it');
  });
});

describe('sendHttpCall', () => {
  // Why the shape matters is in undici-call.ts: a call shaped differently from the sidecar's upstream requests sent
  // undici's and Node's hot stream functions back to unoptimised code when the watch's first answer came.
  it("dispatches as the sidecar's upstream requests do: an UndiciCall handler and a flat header list", async () => {
    const agent = new Agent();
    const dispatched: { options: Dispatcher.DispatchOptions; handler: Dispatcher.DispatchHandler }[] = [];
    const recording = {
      dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
        dispatched.push({ options, handler });
        return agent.dispatch(options, handler);
      },
    } as unknown as Dispatcher;
    try {
      const outcome = await sendHttpCall({
        baseUrl,
        headers: [
          [':method', 'GET'],
          [':path', '/shape'],
          [':authority', 'shape-authority'],
          ['x-from-plugin', '1'],
          ['x-from-plugin', '2'],
        ],
        body: Buffer.alloc(0),
        timeoutMs: 5000,
        dispatcher: recording,
        signal: new AbortController().signal,
      });
      expect(outcome.kind).toBe('response');
      expect(dispatched).toHaveLength(1);
      expect(dispatched[0].handler).toBeInstanceOf(UndiciCall);
      // The key order of the sidecar's upstream options (exchange.ts, forward), so both make objects of one shape.
      expect(Object.keys(dispatched[0].options)).toEqual(['origin', 'path', 'method', 'headers', 'body']);
      expect(dispatched[0].options.headers).toEqual([
        'x-from-plugin',
        '1',
        'x-from-plugin',
        '2',
        'host',
        'shape-authority',
      ]);
      expect(seen.at(-1)).toMatchObject({ url: '/shape', host: 'shape-authority', fromPlugin: '1, 2' });
    } finally {
      await agent.close();
    }
  });
});
