// Global setup and teardown run in this process, as Jest runs them in its parent process: the real control plane,
// a real local sidecar with the bundled plugin.wasm, and a small upstream.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane } from '@hfi/control-plane';
import { type HfiError, isHfiError } from '@hfi/core';
import { ControlPlaneClient, HfiClient } from '@hfi/sdk';
import globalSetup from './global-setup';
import globalTeardown from './global-teardown';
import { currentRun } from './mesh/run-state';
import { PUBLISHED_ENV, readRuntime } from './runtime/published-env';

let upstream: Server;
let upstreamUrl: string;
let dir: string;
const envBefore = { ...process.env };

beforeAll(async () => {
  upstream = createServer((req, res) => res.end(`upstream saw ${req.url}`));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => {
  upstream.close();
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-setup-'));
  for (const name of Object.values(PUBLISHED_ENV)) delete process.env[name];
});
afterEach(async () => {
  // A failed test must not leave a mesh running.
  if (currentRun()) await globalTeardown().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  for (const name of Object.values(PUBLISHED_ENV)) {
    if (envBefore[name] === undefined) delete process.env[name];
    else process.env[name] = envBefore[name];
  }
});

async function writeConfig(config: unknown): Promise<void> {
  await writeFile(path.join(dir, 'hfi.config.json'), JSON.stringify(config));
}

async function rejection(promise: Promise<unknown>): Promise<HfiError> {
  try {
    await promise;
  } catch (err) {
    if (isHfiError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('local mode', () => {
  it('starts the control plane and one acked sidecar per service, publishes them, and stops them', async () => {
    await writeConfig({
      services: [{ name: 'frontend', namespace: 'demo', upstream: upstreamUrl }],
      logLevel: 'silent',
    });
    await globalSetup({ rootDir: dir });

    const runtime = readRuntime();
    expect(runtime.mode).toBe('local');
    expect(process.env[PUBLISHED_ENV.controlPlane]).toBe(runtime.controlPlane);
    const [frontend] = runtime.services;
    expect(frontend).toMatchObject({
      name: 'frontend',
      namespace: 'demo',
      pod: 'frontend-local',
      upstream: upstreamUrl,
    });

    const client = new ControlPlaneClient({ url: runtime.controlPlane });
    const { nodes, revision } = await client.nodes();
    expect(nodes.filter((n) => n.pod === 'frontend-local' && n.applied_revision >= revision)).toHaveLength(2);
    await client.close();

    const res = await fetch(`${frontend?.url}/hello`);
    expect(await res.text()).toBe('upstream saw /hello');
    const stats = await (await fetch(`${frontend?.adminUrl}/stats/prometheus`)).text();
    expect(stats).toContain('wasmcustom_hfi_faults_aborts_total{} 0');

    await globalTeardown();
    expect(currentRun()).toBeUndefined();
    expect(process.env[PUBLISHED_ENV.services]).toBeUndefined();
    await expect(fetch(`${frontend?.url}/hello`)).rejects.toThrow();
    await expect(fetch(`${runtime.controlPlane}/v1/nodes`)).rejects.toThrow();
  }, 60_000);

  it('fails the teardown loudly, listing the policies left open, and still stops everything', async () => {
    await writeConfig({
      services: [{ name: 'frontend', namespace: 'demo', upstream: upstreamUrl }],
      logLevel: 'silent',
    });
    await globalSetup({ rootDir: dir });
    const runtime = readRuntime();
    const hfi = new HfiClient({ controlPlane: runtime.controlPlane });
    const win = await hfi.openFaultWindow({
      name: 'forgotten-window',
      selector: { service: 'frontend', namespace: 'demo' },
      abort: { httpStatus: 503 },
      percentage: 100,
      duration: '60s',
    });
    const err = await rejection(globalTeardown());
    expect(err.code).toBe('HFI_ERR_PRESET_LEFTOVER');
    expect(err.message).toContain('1 fault policy was left open on the control plane when the test run ended');
    expect(err.message).toContain('  - forgotten-window on frontend.demo (with a lease: it would expire)');
    expect(err.message).toContain('Sidecar and control-plane logs: ');
    expect(err.details.policies).toEqual(['forgotten-window']);
    const logDir = /Sidecar and control-plane logs: (\S+)/.exec(err.message)?.[1] as string;
    expect(existsSync(path.join(logDir, 'sidecar-frontend.log'))).toBe(true);
    await rm(logDir, { recursive: true, force: true });
    expect(currentRun()).toBeUndefined();
    await expect(fetch(`${runtime.services[0]?.url}/`)).rejects.toThrow();
    await win.closeOnExit();
    await hfi.close().catch(() => undefined);
  }, 60_000);

  it('rejects an invalid config before starting anything', async () => {
    await writeConfig({ services: [{ name: 'frontend', namespace: 'demo' }] });
    const err = await rejection(globalSetup({ rootDir: dir }));
    expect(err.code).toBe('HFI_ERR_PRESET_CONFIG');
    expect(err.message).toContain('services[0].upstream: upstream is required in local mode');
    expect(currentRun()).toBeUndefined();
    expect(process.env[PUBLISHED_ENV.services]).toBeUndefined();
  });
});

describe('kubernetes mode', () => {
  it('uses the given control plane, and deletes and reports only the policies this run left', async () => {
    const controlPlane = await startControlPlane({ logLevel: 'silent' });
    const admin = new ControlPlaneClient({ url: controlPlane.url });
    const policy = (name: string) => ({
      metadata: { name },
      spec: {
        selector: { service: 'frontend', namespace: 'demo' },
        rules: [{ match: { path: { prefix: '/' } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }],
      },
    });
    try {
      await admin.applyPolicy(policy('someone-elses'));
      await writeConfig({
        mode: 'kubernetes',
        controlPlane: controlPlane.url,
        services: [{ name: 'frontend', namespace: 'demo', url: upstreamUrl }],
      });
      await globalSetup({ rootDir: dir });
      const runtime = readRuntime();
      expect(runtime).toMatchObject({
        mode: 'kubernetes',
        controlPlane: controlPlane.url,
        services: [{ name: 'frontend', namespace: 'demo', url: upstreamUrl, labels: { app: 'frontend' } }],
        metrics: { source: 'kubernetes' },
      });
      await admin.applyPolicy(policy('left-by-this-run'));
      const err = await rejection(globalTeardown());
      expect(err.message).toContain(
        '1 fault policy was left open on the control plane when the test run ended (deleted now)',
      );
      expect(err.message).toContain('left-by-this-run on frontend.demo');
      const { policies } = await admin.listPolicies();
      expect(policies.map((p) => p.metadata.name)).toEqual(['someone-elses']);
    } finally {
      await admin.close();
      await controlPlane.close();
    }
  }, 60_000);

  it('fails the setup when the control plane does not answer', async () => {
    const dead = createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    dead.close();
    await once(dead, 'close');
    await writeConfig({ mode: 'kubernetes', controlPlane: url, services: [{ name: 'frontend', namespace: 'demo' }] });
    const err = await rejection(globalSetup({ rootDir: dir }));
    expect(err.code).toBe('HFI_ERR_CONTROL_PLANE_UNREACHABLE');
    expect(err.message).toContain(`kubernetes mode: the control plane at ${url} did not answer`);
  });
});
