import { isHfiError } from '@hfi/core';
import { createStatsStore } from '../stats/store';
import { action, GET, header, useTestPlugin } from './__tests__/harness';
import { serializePairs } from './pairs';
import { PluginVm } from './plugin-vm';

const h = useTestPlugin();

/** Keeps the event loop busy, so that no timer can fire, until `ms` have passed. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: the point is that nothing else runs
  }
}

async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('PluginVm start', () => {
  it('runs _initialize, root context create, on_vm_start and on_configure with their configurations', async () => {
    const { vm, watcher } = await h.start({ vmConfig: 'vm-cfg', pluginConfig: { tick: 0, mode: 'x' } });
    const messages = watcher.messages();
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('wasm vm created'),
        'context create 1 parent 0',
        'vm start: vm-cfg',
        'configure: {"tick":0,"mode":"x"}',
        'Defined metric: test.requests_total',
        expect.stringContaining('wasm filter created'),
      ]),
    );
    expect(messages.indexOf('vm start: vm-cfg')).toBeLessThan(messages.indexOf('configure: {"tick":0,"mode":"x"}'));
    expect(vm.trapped).toBe(false);
  });

  it.each([
    ['on_vm_start returning false', { vmConfig: 'fail' }, 'proxy_on_vm_start returned false'],
    ['on_configure returning false', { pluginConfig: 'configure=fail' }, 'proxy_on_configure returned false'],
    [
      'a configuration that does not validate',
      { pluginConfig: 'invalid' },
      'proxy_validate_configuration returned false',
    ],
    ['a trap in on_configure', { pluginConfig: 'configure=trap' }, 'proxy_on_configure trapped'],
  ])('rejects with HFI_ERR_PLUGIN_START on %s', async (_, options, message) => {
    const error = await h.start(options).catch((e: unknown) => e);
    expect(isHfiError(error, 'HFI_ERR_PLUGIN_START')).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  it('rejects with HFI_ERR_PLUGIN_LOAD for a missing file and for bytes that are not Wasm', async () => {
    const missing = await h.start({ wasm: '/nonexistent/plugin.wasm' }).catch((e: unknown) => e);
    expect(isHfiError(missing, 'HFI_ERR_PLUGIN_LOAD')).toBe(true);
    expect((missing as Error).message).toContain('/nonexistent/plugin.wasm');
    const garbage = await h.start({ wasm: Buffer.from('not wasm') }).catch((e: unknown) => e);
    expect(isHfiError(garbage, 'HFI_ERR_PLUGIN_LOAD')).toBe(true);
  });
});

describe('header maps', () => {
  it('gets, adds, replaces and removes request headers, lowercasing keys like Envoy', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    const input: [string, string][] = [
      ...action('mutate'),
      ['X-Remove-Me', 'bye'],
      ['x-replaced', 'old-1'],
      ['x-replaced', 'old-2'],
      ['x-multi', 'first'],
    ];
    expect(stream.onRequestHeaders(input, true)).toBe('continue');
    const out = stream.requestHeaders;
    expect(header(out, 'x-header-count')).toBe(String(input.length));
    expect(header(out, 'x-eos')).toBe('true');
    expect(header(out, 'x-remove-me')).toBeUndefined();
    expect(out.filter(([k]) => k === 'x-replaced')).toEqual([['x-replaced', 'new']]);
    expect(out.filter(([k]) => k === 'x-multi')).toEqual([
      ['x-multi', 'first'],
      ['x-multi', 'second'],
    ]);
    expect(header(out, 'x-added')).toBe('1');
    expect(header(out, 'x-first-multi')).toBe('first');
    expect(header(out, 'x-missing-status')).toBe('1');
    // Envoy's byteSize at the time of the call: every key and value, before x-map-size itself was added.
    const before = out.filter(([k]) => k !== 'x-map-size' && k !== 'x-missing-status');
    expect(header(out, 'x-map-size')).toBe(String(before.reduce((n, [k, v]) => n + k.length + v.length, 0)));
  });

  it('reads names from the same guest address anew each time, and values of any length and script', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    const long = 'v'.repeat(300);
    const text = 'grüße ✓ 漢字';
    stream.onRequestHeaders(
      [
        ...action('read-in-place'),
        ['x-one', '1'],
        ['x-two', '2'],
        ['x-three', '3'],
        ['x-long', long],
        ['x-text', text],
      ],
      true,
    );
    const out = stream.requestHeaders;
    // "X-One", then "x-two" and "x-one" over it at the same address (same length), then a longer name there.
    expect(header(out, 'x-read')).toBe('1|2|1|3');
    expect(header(out, 'x-read-long')).toBe(long);
    expect(header(out, 'x-read-text')).toBe(text);
  });

  it('serialises all pairs and replaces the whole map', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('pairs'), false);
    const out = stream.requestHeaders;
    expect(out.map(([k]) => k)).toEqual(['x-pairs', ':path']);
    expect(header(out, ':path')).toBe('/rewritten');
    expect(header(out, 'x-pairs')?.split('|')).toEqual(
      expect.arrayContaining([':method=GET', ':path=/api/items?x=1', 'x-test-action=pairs', 'x-eos=false']),
    );
  });

  it('answers Envoy status codes for bad pointers, levels, contexts, map types and unavailable buffers', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('bad-pointer'), true);
    const out = stream.requestHeaders;
    expect(header(out, 'x-bad-pointer')).toBe('6');
    expect(header(out, 'x-bad-level')).toBe('2');
    expect(header(out, 'x-bad-context')).toBe('2');
    expect(header(out, 'x-bad-map')).toBe('2');
    // A bad name pointer, then a bad return slot.
    expect(header(out, 'x-bad-header-pointer')).toBe('6,6');
    expect(header(out, 'x-bad-buffer')).toBe('2');
    expect(header(out, 'x-no-body')).toBe('1');
    expect(header(out, 'x-no-call-response')).toBe('2');
    expect(vm.trapped).toBe(false);
  });
});

describe('stream lifecycle', () => {
  it("calls back in Envoy's order and limits each map to the callbacks that may use it", async () => {
    const { vm, watcher } = await h.start();
    const stream = vm.newStream();
    expect(stream.onRequestHeaders([...GET, [':method', 'POST']], false)).toBe('continue');
    expect(stream.onRequestBody('hello', true)).toBe('continue');
    expect(stream.onResponseHeaders([[':status', '201']], false)).toBe('continue');
    expect(stream.onResponseBody('done', true)).toBe('continue');
    stream.done();
    const id = stream.contextId;
    const sequence = watcher
      .messages()
      .filter((m) => /^(context create [0-9]+ parent 1|request body|response|on_log|on_done|on_delete)/.test(m));
    expect(sequence).toEqual([
      `context create ${id} parent 1`,
      'request body 5 true',
      'response headers 1 false',
      'response body 4 true',
      `on_log ${id} path=/api/items?x=1`,
      `on_done ${id}`,
      `on_delete ${id}`,
    ]);
    // Request headers are gone once the request continued; on_log may read them again.
    expect(header(stream.responseHeaders, 'x-request-headers-status')).toBe('2');
    expect(header(stream.responseHeaders, 'x-seen-status')).toBe('201');
    expect(stream.requestBody.toString()).toBe('hello');
    expect(stream.responseBody.toString()).toBe('done');
  });

  it('creates the context even for a stream that only ends, as Envoy logs it', async () => {
    const { vm, watcher } = await h.start();
    const stream = vm.newStream();
    stream.done();
    expect(watcher.messages()).toEqual(
      expect.arrayContaining([`context create ${stream.contextId} parent 1`, `on_log ${stream.contextId} path=none`]),
    );
  });
});

describe('local responses', () => {
  it('records the local response with Envoy-added headers and details, and stops the request path', async () => {
    const { vm, watcher } = await h.start();
    const stream = vm.newStream();
    expect(stream.onRequestHeaders(action('local'), false)).toBe('pause');
    expect(stream.localResponse).toEqual({
      status: 418,
      body: Buffer.from('I am a teapot'),
      details: 'test_details_here',
      headers: [
        ['x-local', 'yes'],
        ['content-type', 'text/teapot'],
        ['content-length', '13'],
      ],
      phase: 'request',
    });
    expect(await settled(stream.whenResumed())).toBe(true);
    expect(stream.onRequestBody('ignored', true)).toBe('continue');
    expect(watcher.messages()).not.toContain('request body 7 true');
  });

  it('wins even when the plugin returns continue after sending it', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    expect(stream.onRequestHeaders(action('local-continue'), true)).toBe('continue');
    expect(stream.localResponse?.status).toBe(418);
  });
});

describe('pause and resume', () => {
  it('holds a paused request until the plugin continues it from another context', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    expect(stream.onRequestHeaders(action('pause-tick'), false)).toBe('pause');
    expect(stream.paused).toBe(true);
    const resumed = stream.whenResumed();
    expect(await settled(resumed)).toBe(false);
    expect(stream.lastContinuedAt).toBeUndefined();
    const beforeTick = performance.now();
    vm.tick();
    // Continued during the tick, not when a promise reaction got round to it.
    expect(stream.lastContinuedAt).toBeGreaterThanOrEqual(beforeTick);
    expect(stream.lastContinuedAt).toBeLessThanOrEqual(performance.now());
    await resumed;
    expect(stream.paused).toBe(false);
    expect(stream.localResponse).toBeUndefined();
  });

  it('resumes at once when the plugin continues inside the callback that pauses', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    expect(stream.onRequestHeaders(action('continue-inline'), false)).toBe('pause');
    expect(stream.paused).toBe(false);
    expect(await settled(stream.whenResumed())).toBe(true);
  });

  it('buffers body chunks while paused and releases them on continue', async () => {
    const { vm, watcher } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('body-pause'), false);
    expect(stream.onRequestBody('ab', false)).toBe('pause');
    expect(stream.onRequestBody('cd', true)).toBe('pause');
    expect(watcher.messages()).toContain('request body 4 true');
    vm.tick();
    await stream.whenResumed();
    expect(stream.requestBody.toString()).toBe('abcd');
  });

  it('pauses and resumes the response path', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('resp-pause'), true);
    expect(stream.onResponseHeaders([[':status', '200']], true)).toBe('pause');
    expect(await settled(stream.whenResumed())).toBe(false);
    vm.tick();
    await stream.whenResumed();
    expect(stream.paused).toBe(false);
  });

  it('records a reset when the plugin closes the stream', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    expect(stream.onRequestHeaders(action('close'), false)).toBe('pause');
    expect(stream.reset).toBe('wasm_close_stream');
    expect(await settled(stream.whenResumed())).toBe(true);
  });
});

describe('bodies', () => {
  it.each([
    ['body-upper', 'hello', 'HELLO'],
    ['body-wrap', 'hello', '<hello>'],
  ])('%s rewrites the request body through set_buffer_bytes', async (name, input, expected) => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action(name), false);
    expect(stream.onRequestBody(input, true)).toBe('continue');
    expect(stream.requestBody.toString()).toBe(expected);
  });

  it('appends to the response body', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('resp-body'), true);
    stream.onResponseHeaders([[':status', '200']], false);
    stream.onResponseBody('data', true);
    expect(stream.responseBody.toString()).toBe('data [filtered]');
  });
});

describe('properties', () => {
  const node = {
    workload: 'frontend',
    namespace: 'demo',
    pod: 'frontend-7d9c-abcde',
    labels: { app: 'frontend', version: 'v1' },
    metadata: { NULLISH: null },
  };

  async function property(path: string): Promise<{ status?: string; value?: Buffer }> {
    const { vm } = await h.start({ node, rootId: 'my_root', pluginName: 'demo.hfi' });
    const stream = vm.newStream({ sourceAddress: '10.0.0.7', sourcePort: 40000 });
    stream.onRequestHeaders(
      action('property', [
        ['x-property', path],
        ['x-request-id', 'req-1'],
      ]),
      true,
    );
    const out = stream.requestHeaders;
    const value = header(out, 'x-property-value');
    return {
      status: header(out, 'x-property-status'),
      value: value === undefined ? undefined : Buffer.from(value, 'hex'),
    };
  }

  it.each([
    ['node/metadata/LABELS/app', 'frontend'],
    ['node/metadata/WORKLOAD_NAME', 'frontend'],
    ['node/metadata/NAMESPACE', 'demo'],
    ['node/metadata/NAME', 'frontend-7d9c-abcde'],
    ['node/cluster', 'frontend.demo'],
    ['node/id', 'sidecar~127.0.0.1~frontend-7d9c-abcde.demo~demo.svc.cluster.local'],
    ['plugin_root_id', 'my_root'],
    ['plugin_name', 'demo.hfi'],
    ['request/path', '/api/items?x=1'],
    ['request/url_path', '/api/items'],
    ['request/method', 'GET'],
    ['request/host', 'frontend.demo'],
    ['request/id', 'req-1'],
    ['request/headers/x-request-id', 'req-1'],
    ['source/address', '10.0.0.7:40000'],
  ])('%s is the raw string %s', async (path, expected) => {
    expect(await property(path)).toEqual({ status: '0', value: Buffer.from(expected) });
  });

  it('serialises integers as 8 little-endian bytes and maps as pairs', async () => {
    const port = Buffer.alloc(8);
    port.writeBigInt64LE(40000n);
    expect(await property('source/port')).toEqual({ status: '0', value: port });
    expect(await property('node/metadata/LABELS')).toEqual({
      status: '0',
      value: serializePairs([
        ['app', 'frontend'],
        ['version', 'v1'],
      ]),
    });
  });

  it('serialises the whole node as its protobuf message', async () => {
    const { status, value } = await property('node');
    expect(status).toBe('0');
    // field 1 (id), length-delimited, then the id itself
    const id = 'sidecar~127.0.0.1~frontend-7d9c-abcde.demo~demo.svc.cluster.local';
    expect(value?.subarray(0, 2 + id.length)).toEqual(Buffer.concat([Buffer.from([0x0a, id.length]), Buffer.from(id)]));
    expect(value?.includes(Buffer.from('WORKLOAD_NAME'))).toBe(true);
  });

  it('answers NOT_FOUND for unknown paths and SERIALIZATION_FAILURE for a null value', async () => {
    expect((await property('node/metadata/NOPE')).status).toBe('1');
    expect((await property('nothing')).status).toBe('1');
    expect((await property('node/metadata/NULLISH')).status).toBe('3');
  });

  it('stores a property set by the plugin and reads it back as bytes', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('set-property'), true);
    expect(header(stream.requestHeaders, 'x-set-status')).toBe('0');
    expect(header(stream.requestHeaders, 'x-property-value')).toBe('v1');
  });
});

describe('metrics', () => {
  it('defines, increments, records and reads metrics in the shared stats store with Envoy rules', async () => {
    const { vm, stats } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('metric'), true);
    const out = stream.requestHeaders;
    expect(header(out, 'x-counter')).toBe('3');
    expect(header(out, 'x-gauge')).toBe('3');
    expect(header(out, 'x-neg-status')).toBe('2');
    expect(header(out, 'x-unknown-metric-status')).toBe('1');
    stats.flush();
    const page = stats.renderPrometheus();
    expect(page).toContain('test_requests_total{} 3\n');
    expect(page).toContain('test_inflight{} 3\n');
    expect(page).toContain('test_latency_ms_count{} 1\n');
  });
});

describe('logs', () => {
  it('keeps plugin logs at or above the log level and reports the level to the plugin', async () => {
    const { vm, watcher } = await h.start({ logLevel: 'debug' });
    const stream = vm.newStream();
    stream.onRequestHeaders(action('log'), true);
    expect(header(stream.requestHeaders, 'x-log-level')).toBe('1');
    const levels = watcher.records.filter((r) => r.message.startsWith('level ')).map((r) => [r.level, r.message]);
    expect(levels).toEqual([
      ['debug', 'level 1'],
      ['info', 'level 2'],
      ['warn', 'level 3'],
      ['error', 'level 4'],
      ['critical', 'level 5'],
    ]);
    expect(vm.logs.map((r) => r.message)).toEqual(watcher.messages());
  });
});

describe('WASI and AssemblyScript imports', () => {
  it('logs fd_write, answers clocks, randomness and foreign functions per the spec', async () => {
    const { vm, watcher } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('wasi'), true);
    const out = stream.requestHeaders;
    expect(header(out, 'x-fd-write')).toBe('0,20');
    expect(header(out, 'x-fd-write-badf')).toBe('8');
    expect(header(out, 'x-clock')).toBe('0,sane');
    expect(header(out, 'x-clock-bad')).toBe('58');
    expect(header(out, 'x-random')).toBe('0');
    expect(header(out, 'x-time')).toBe('sane');
    expect(header(out, 'x-foreign')).toBe('12');
    expect(header(out, 'x-math-random')).toBe('ok');
    expect(watcher.records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'info', source: 'plugin', message: 'hello from fd_write' }),
        expect.objectContaining({ message: 'trace: trace from the test plugin 1.5, 2.5' }),
      ]),
    );
  });
});

describe('shared data and queues', () => {
  it('compares and swaps shared data', async () => {
    const { vm } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('shared'), true);
    // set OK, read "one", stale cas → CAS_MISMATCH, right cas → OK, missing key → NOT_FOUND
    expect(header(stream.requestHeaders, 'x-shared')).toBe('0,one,8,0,1');
  });

  it('calls on_queue_ready on the registering root context after an enqueue', async () => {
    const { vm, watcher } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('queue'), true);
    expect(header(stream.requestHeaders, 'x-enqueue-status')).toBe('0');
    await watcher.waitFor('dequeued hello queue');
  });
});

describe('traps', () => {
  it('fails the VM open: the trapping stream and later ones continue untouched', async () => {
    const { vm, watcher } = await h.start();
    const first = vm.newStream();
    expect(first.onRequestHeaders(action('trap'), false)).toBe('continue');
    expect(vm.trapped).toBe(true);
    expect(watcher.messages()).toContainEqual(
      expect.stringMatching(/^Function: proxy_on_request_headers failed: Uncaught RuntimeError/),
    );
    const second = vm.newStream();
    expect(second.onRequestHeaders(action('mutate'), false)).toBe('continue');
    expect(header(second.requestHeaders, 'x-added')).toBeUndefined();
    expect(second.onRequestBody('x', true)).toBe('continue');
    expect(second.requestBody.toString()).toBe('x');
    second.done();
    expect(watcher.messages()).not.toContain(`on_delete ${second.contextId}`);
  });

  it('releases streams that were paused when another callback trapped', async () => {
    const { vm } = await h.start();
    const paused = vm.newStream();
    expect(paused.onRequestHeaders(action('pause-tick'), false)).toBe('pause');
    vm.newStream().onRequestHeaders(action('abort'), false);
    await paused.whenResumed();
    expect(paused.paused).toBe(false);
    expect(vm.trapError?.message).toContain('boom from the test plugin');
  });

  it('answers 503 when failing closed', async () => {
    const { vm } = await h.start({ failOpen: false });
    const stream = vm.newStream();
    expect(stream.onRequestHeaders(action('trap'), false)).toBe('pause');
    expect(stream.localResponse).toMatchObject({ status: 503, details: 'wasm_fail_stream' });
    const next = vm.newStream();
    next.onRequestHeaders(GET, true);
    expect(next.localResponse?.status).toBe(503);
  });
});

describe('unknown imports', () => {
  it('answers UNIMPLEMENTED and logs the import once', async () => {
    const { vm, watcher } = await h.start();
    for (let i = 0; i < 2; i++) {
      const stream = vm.newStream();
      stream.onRequestHeaders(action('unknown-import'), true);
      expect(header(stream.requestHeaders, 'x-unknown-result')).toBe('12');
    }
    expect(watcher.messages().filter((m) => m.includes('env.proxy_made_up_function'))).toHaveLength(1);
  });
});

describe('ticks', () => {
  it('runs on_tick from a real timer at the period the plugin set', async () => {
    const { vm, watcher } = await h.start({ pluginConfig: 'tick=20', manualTicks: false });
    expect(vm.tickPeriodMs).toBe(20);
    await watcher.waitFor('tick 2');
  });

  it('runs a tick that fell due while the event loop was busy at the next callback, before the callback', async () => {
    const { vm, watcher } = await h.start({ pluginConfig: 'tick=20', manualTicks: false });
    const tickCount = () => watcher.messages().filter((m) => /^tick \d+$/.test(m)).length;
    blockEventLoop(30); // the tick falls due; Node's timer cannot fire before the loop is free again
    const before = tickCount();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('mutate'), true);
    expect(tickCount()).toBeGreaterThan(before);
    const messages = watcher.messages();
    const lastTick = messages.findLastIndex((m) => /^tick \d+$/.test(m));
    expect(lastTick).toBeLessThan(messages.indexOf(`context create ${stream.contextId} parent 1`));
  });

  it("runs the due ticks of the other VMs on the same event loop at a VM's callback", async () => {
    const a = await h.start({ pluginConfig: 'tick=20', manualTicks: false });
    const b = await h.start({ pluginConfig: 'tick=20', manualTicks: false });
    const tickCount = () => b.watcher.messages().filter((m) => /^tick \d+$/.test(m)).length;
    blockEventLoop(30);
    const before = tickCount();
    a.vm.newStream().onRequestHeaders(action('mutate'), true);
    expect(tickCount()).toBeGreaterThan(before);
  });

  it('leaves ticks to the test with manualTicks, however overdue', async () => {
    const { vm, watcher } = await h.start({ pluginConfig: 'tick=1' });
    blockEventLoop(5);
    vm.newStream().onRequestHeaders(action('mutate'), true);
    expect(watcher.messages().filter((m) => /^tick \d+$/.test(m))).toEqual([]);
  });

  it('ticks on demand', async () => {
    const { vm, stats, watcher } = await h.start({ pluginConfig: 'tick=60000' });
    vm.tick();
    vm.tick();
    expect(watcher.messages()).toContain('tick 2');
    const ticks = stats.metrics().find((m) => m.name === 'wasmcustom.test.ticks_total');
    expect(ticks && stats.getMetric(ticks.id)).toBe(2n);
  });
});

describe('close', () => {
  it('ends open streams, then runs on_done and on_delete of the root context', async () => {
    const { vm, watcher } = await h.start();
    const stream = vm.newStream();
    stream.onRequestHeaders(action('pause-tick'), false);
    await vm.close();
    const messages = watcher.messages();
    expect(messages.indexOf(`on_delete ${stream.contextId}`)).toBeGreaterThan(-1);
    expect(messages.indexOf('on_done 1')).toBeGreaterThan(messages.indexOf(`on_delete ${stream.contextId}`));
    expect(messages.indexOf('on_delete 1')).toBeGreaterThan(messages.indexOf('on_done 1'));
    await stream.whenResumed();
    expect(() => vm.newStream()).toThrow('closed');
  });

  it('gives up waiting for proxy_done after the grace period', async () => {
    const { vm, watcher } = await h.start({ pluginConfig: 'rootdone=later', shutdownGraceMs: 20 });
    await vm.close();
    expect(watcher.messages()).toEqual(
      expect.arrayContaining([
        'proxy_done early status 1',
        'root context did not call proxy_done in time; deleting it',
        'on_delete 1',
      ]),
    );
  });

  it('supports await using', async () => {
    const wasm = h.wasm();
    let closed: PluginVm | undefined;
    {
      await using vm = await PluginVm.start({ wasm, stats: createStatsStore(), manualTicks: true });
      closed = vm;
    }
    expect(() => closed?.newStream()).toThrow('closed');
  });
});
