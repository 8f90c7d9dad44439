import { isHfiError } from '@hfi/core';
import { createStatsStore } from '../stats/store';
import { action, header, LogWatcher, useTestPlugin } from './__tests__/harness';
import { PluginPool } from './plugin-pool';

const h = useTestPlugin();

describe('PluginPool', () => {
  it('starts one VM and root context per worker and hands out streams round-robin', async () => {
    const watcher = new LogWatcher();
    await using pool = await PluginPool.start({
      wasm: h.wasm(),
      stats: createStatsStore(),
      workers: 3,
      manualTicks: true,
      logger: watcher.logger,
    });
    expect(pool.vms).toHaveLength(3);
    expect(watcher.records.filter((r) => r.message === 'vm start: ').map((r) => r.worker)).toEqual([0, 1, 2]);
    const streams = [0, 1, 2, 3].map(() => pool.newStream());
    for (const stream of streams) stream.onRequestHeaders(action('mutate'), true);
    const creates = watcher.records.filter(
      (r) => /^context create \d+ parent 1$/.test(r.message) && r.message !== 'context create 1 parent 0',
    );
    expect(creates.map((r) => [r.worker, r.message])).toEqual([
      [0, 'context create 2 parent 1'],
      [1, 'context create 2 parent 1'],
      [2, 'context create 2 parent 1'],
      [0, 'context create 3 parent 1'],
    ]);
  });

  it('shares one stats store, shared data and queues across workers', async () => {
    const stats = createStatsStore();
    await using pool = await PluginPool.start({ wasm: h.wasm(), stats, workers: 2, manualTicks: true });
    const first = pool.newStream();
    first.onRequestHeaders(action('shared'), true);
    const second = pool.newStream();
    second.onRequestHeaders(action('shared-get'), true);
    // the first worker's last write is visible to the second worker
    expect(header(second.requestHeaders, 'x-shared')).toBe('two');
    const requests = stats.metrics().find((m) => m.name === 'wasmcustom.test.requests_total');
    expect(requests && stats.getMetric(requests.id)).toBe(2n);
  });

  it('ticks every worker and reports a trap in any of them', async () => {
    const watcher = new LogWatcher();
    await using pool = await PluginPool.start({
      wasm: h.wasm(),
      stats: createStatsStore(),
      workers: 2,
      manualTicks: true,
      logger: watcher.logger,
    });
    pool.tick();
    expect(watcher.records.filter((r) => r.message === 'tick 1').map((r) => r.worker)).toEqual([0, 1]);
    expect(pool.trapped).toBe(false);
    pool.newStream();
    pool.newStream().onRequestHeaders(action('trap'), true);
    expect(pool.trapped).toBe(true);
    expect(pool.vms.map((vm) => vm.trapped)).toEqual([false, true]);
    expect(pool.logs.some((r) => r.message.startsWith('Function: proxy_on_request_headers failed'))).toBe(true);
  });

  it("runs every worker's due tick on demand, for a driver busy outside the plugin", async () => {
    const watcher = new LogWatcher();
    await using pool = await PluginPool.start({
      wasm: h.wasm(),
      stats: createStatsStore(),
      workers: 2,
      pluginConfig: 'tick=20',
      logger: watcher.logger,
    });
    const ticked = () => watcher.records.filter((r) => /^tick \d+$/.test(r.message)).map((r) => r.worker);
    // Busy for longer than the period: no timer can fire, so only runDueTicks can tick now.
    const until = performance.now() + 30;
    while (performance.now() < until) {
      // busy
    }
    const before = ticked();
    pool.runDueTicks();
    const after = ticked();
    expect(after.filter((w) => w === 0).length).toBeGreaterThan(before.filter((w) => w === 0).length);
    expect(after.filter((w) => w === 1).length).toBeGreaterThan(before.filter((w) => w === 1).length);
  });

  it('closes the VMs it started when a later worker fails, and rejects bad worker counts', async () => {
    const bad = await PluginPool.start({ wasm: h.wasm(), stats: createStatsStore(), workers: 0 }).catch((e) => e);
    expect(isHfiError(bad, 'HFI_ERR_CONFIG')).toBe(true);
    const failing = await PluginPool.start({ wasm: h.wasm(), stats: createStatsStore(), vmConfig: 'fail' }).catch(
      (e) => e,
    );
    expect(isHfiError(failing, 'HFI_ERR_PLUGIN_START')).toBe(true);
  });
});
