// The host running the real compiled filter (packages/filter/plugin.wasm, built by `npm run build:wasm`).

import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStatsStore } from '../stats/store';
import { GET, LogWatcher } from './__tests__/harness';
import { DEFAULT_PLUGIN_PATH, PluginVm } from './plugin-vm';

const built = existsSync(DEFAULT_PLUGIN_PATH);
const describeBuilt = built ? describe : describe.skip;

describeBuilt('the real plugin.wasm in the host', () => {
  it('starts, reads its identity, polls the control plane cluster and lets unmatched traffic through', async () => {
    const polls: IncomingMessage[] = [];
    let firstPoll: (() => void) | undefined;
    const polled = new Promise<void>((resolve) => {
      firstPoll = resolve;
    });
    const controlPlane = createServer((req, res) => {
      polls.push(req);
      firstPoll?.();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"unavailable"}');
    });
    controlPlane.listen(0, '127.0.0.1');
    await once(controlPlane, 'listening');
    const port = (controlPlane.address() as AddressInfo).port;
    const watcher = new LogWatcher();
    const stats = createStatsStore();
    try {
      await using vm = await PluginVm.start({
        stats,
        logger: watcher.logger,
        node: { workload: 'frontend', namespace: 'demo', pod: 'frontend-0', labels: { app: 'frontend' } },
        pluginConfig: { control_plane_address: `127.0.0.1:${port}`, control_plane_cluster: 'hfi-cp' },
        clusters: { 'hfi-cp': `http://127.0.0.1:${port}` },
      });
      expect(vm.trapped).toBe(false);
      await polled;
      const url = new URL(polls[0].url ?? '', 'http://x');
      expect(url.pathname).toBe('/v1/policies');
      expect(url.searchParams.get('workload')).toBe('frontend');
      expect(url.searchParams.get('namespace')).toBe('demo');
      expect(polls[0].headers.host).toBe(`127.0.0.1:${port}`);
      const stream = vm.newStream();
      expect(stream.onRequestHeaders(GET, true)).toBe('continue');
      expect(stream.localResponse).toBeUndefined();
      stream.done();
      expect(vm.trapped).toBe(false);
      expect(stats.renderPrometheus()).toContain('wasmcustom_hfi_faults_aborts_total{} 0');
    } finally {
      controlPlane.closeAllConnections();
      controlPlane.close();
    }
  });
});

if (!built) {
  it.skip(`needs ${DEFAULT_PLUGIN_PATH} (npm run build:wasm -w @hfi/filter)`, () => {});
}
