// The plugin runs AssemblyScript's minimal runtime and collects only when the outermost host call returns
// (assembly/collect.ts). These tests drive allocation-heavy work through the compiled module (aborts with debug
// logging, policy churn, streams held across collections) and check what that design must guarantee: collections
// happen, the heap stays bounded, and nothing still in use is freed (held streams resume, counts stay exact,
// the last policies still match).

import type { PluginVm } from '../host';
import type { WasmInstance } from '../host/wasm-api';
import { CannedControlPlane, counter, GET, policy, startVm, type TestVm, withStatus } from './__tests__/harness';

/** The guest's linear memory size and collection count (test-only access to the instance). */
function guest(vm: PluginVm): { memoryBytes: number; collections: number } {
  const { exports } = (vm as unknown as { instance: WasmInstance }).instance;
  const memory = exports.memory as { buffer: ArrayBuffer };
  return { memoryBytes: memory.buffer.byteLength, collections: (exports.hfi_gc_collections as () => number)() };
}

/** A policy set of `n` policies whose rules do not match `/abort` or `/held`, plus the two that do. */
function policySet(n: number, revisionTag: number) {
  const list = [
    withStatus(
      policy('a-abort', {
        match: { path: { prefix: '/abort' } },
        fault: { percentage: 100, abort: { httpStatus: 503 } },
      }),
    ),
    withStatus(
      policy('a-held', {
        match: { path: { exact: '/held' } },
        fault: { percentage: 100, delay: { fixed_delay_ms: 300 } },
      }),
    ),
  ];
  for (let i = 0; i < n; i++) {
    list.push(
      withStatus(
        policy(`z-${revisionTag}-${i}`, {
          match: { path: { regex: `^/orders/[0-9]+/items/${i}$` }, headers: [{ name: 'x-tag', exact: `t-${i}` }] },
          fault: { percentage: 100, abort: { httpStatus: 500 } },
        }),
      ),
    );
  }
  return list;
}

describe('plugin.wasm memory: collection at the outermost return', () => {
  let cp: CannedControlPlane;
  let t: TestVm;

  beforeAll(async () => {
    cp = await new CannedControlPlane().start();
    // Debug logging makes every matched request build strings: the most garbage per request the filter makes.
    t = await startVm({ controlPlane: cp, pluginConfig: { log_level: 'debug' }, logLevel: 'debug', maxLogRecords: 50 });
  });

  afterAll(async () => {
    await t.close();
    await cp.close();
  });

  async function publish(n: number, tag: number): Promise<void> {
    const revision = cp.publish(policySet(n, tag));
    await t.waitForLog((m) => m.startsWith(`hfi: applied revision ${revision}:`));
  }

  function abortRequests(count: number): number {
    let aborted = 0;
    for (let i = 0; i < count; i++) {
      const stream = t.vm.newStream();
      stream.onRequestHeaders(GET(`/abort/${i}`, [['x-tag', `t-${i % 50}`]]), true);
      if (stream.localResponse?.status === 503) aborted++;
      stream.done();
    }
    return aborted;
  }

  test('the heap stays bounded over 30 000 aborted requests and 40 policy revisions, and collections ran', async () => {
    await publish(50, 0);
    expect(abortRequests(3000)).toBe(3000);
    const before = guest(t.vm);

    let aborted = 0;
    for (let round = 1; round <= 40; round++) {
      await publish(50, round);
      aborted += abortRequests(750);
    }
    const after = guest(t.vm);

    expect(aborted).toBe(30000);
    expect(counter(t.stats, 'aborts')).toBe(33000);
    expect(after.collections).toBeGreaterThan(before.collections);
    // Without collections this work allocates over 100 MiB (every debug line, every local response, 40 compiled
    // answers), and with collections only when memory grows the allocator's doubling gets there too; collected
    // every ~500 requests the heap stays within a doubling or two of where the warm-up left it.
    expect(after.memoryBytes).toBeLessThanOrEqual(Math.max(4 * before.memoryBytes, 8 * 1024 * 1024));
    expect(t.vm.trapped).toBe(false);
  });

  test('streams held by a delay survive collections made while they wait, then resume', async () => {
    await publish(10, 100);
    const held = Array.from({ length: 40 }, () => {
      const stream = t.vm.newStream();
      expect(stream.onRequestHeaders(GET('/held'), true)).toBe('pause');
      return stream;
    });
    const before = guest(t.vm).collections;
    // Garbage and fresh answers while the 40 streams wait: the pending entries are reachable only from the root.
    for (let round = 0; round < 5; round++) {
      await publish(40, 200 + round);
      abortRequests(2000);
    }
    expect(guest(t.vm).collections).toBeGreaterThan(before);
    await Promise.all(held.map((s) => s.whenResumed()));
    for (const stream of held) {
      expect(stream.localResponse).toBeUndefined();
      expect(stream.paused).toBe(false);
      stream.done();
    }
    expect(counter(t.stats, 'delays')).toBe(40);
    // The policies compiled before the last collections still match.
    const stream = t.vm.newStream();
    stream.onRequestHeaders(GET('/orders/7/items/3', [['x-tag', 't-3']]), true);
    expect(stream.localResponse?.status).toBe(500);
    stream.done();
    expect(t.vm.trapped).toBe(false);
  });
});
