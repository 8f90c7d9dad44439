import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type HfiError, isHfiError } from '@hfi/core';
import { loadConfig } from './load-config';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const frontend = { name: 'frontend', namespace: 'demo', upstream: 'http://127.0.0.1:3000' };

async function writeJson(value: unknown, name = 'hfi.config.json'): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

async function configError(env: Record<string, string> = {}): Promise<HfiError> {
  try {
    await loadConfig(dir, env);
  } catch (err) {
    if (isHfiError(err, 'HFI_ERR_PRESET_CONFIG')) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('loadConfig', () => {
  it('reads hfi.config.json and fills in the defaults', async () => {
    const file = await writeJson({ services: [frontend] });
    const config = await loadConfig(dir, {});
    expect(config).toEqual({
      mode: 'local',
      services: [{ ...frontend, pod: 'frontend-local', labels: { app: 'frontend' } }],
      flushIntervalMs: 1000,
      ackTimeoutMs: 10_000,
      startupTimeoutMs: 30_000,
      logLevel: 'warn',
      source: file,
    });
  });

  it('reads hfi.config.js exporting a function, and keeps given labels and pod names', async () => {
    await writeJson(
      `module.exports = async () => ({ flushIntervalMs: 250, services: [{ name: 'catalog', upstream: 'http://127.0.0.1:4000', pod: 'catalog-0', labels: { version: 'v2' } }] });`,
      'hfi.config.js',
    );
    const config = await loadConfig(dir, {});
    expect(config.flushIntervalMs).toBe(250);
    expect(config.services).toEqual([
      {
        name: 'catalog',
        namespace: 'default',
        upstream: 'http://127.0.0.1:4000',
        pod: 'catalog-0',
        labels: { app: 'catalog', version: 'v2' },
      },
    ]);
  });

  it('says where to put the file when there is none', async () => {
    const err = await configError();
    expect(err.message).toContain(`no hfi.config.json in ${dir}`);
    expect(err.message).toContain('"upstream": "http://127.0.0.1:3000"');
  });

  it('refuses two config files and invalid JSON', async () => {
    await writeJson('{ "services": [', 'hfi.config.json');
    expect((await configError()).message).toMatch(/hfi\.config\.json is not valid JSON/);
    await writeJson('module.exports = {}', 'hfi.config.js');
    expect((await configError()).message).toContain('has several hfi config files (hfi.config.json, hfi.config.js)');
  });

  it('lists every problem with its field path, the first in the message', async () => {
    const file = await writeJson({
      mode: 'local',
      services: [
        { name: 'frontend', namespace: 'Demo' },
        { name: 'frontend', upstream: 'ftp://x', colour: 'red' },
      ],
      flushIntervalMs: -1,
      logLevel: 'loud',
    });
    const err = await configError();
    expect(err.message).toBe(`${file}: services[0].namespace: must be a lowercase DNS label like "demo", got "Demo"`);
    expect(err.field).toBe('services[0].namespace');
    expect(err.details.issues).toEqual([
      { field: 'services[0].namespace', message: 'must be a lowercase DNS label like "demo", got "Demo"' },
      { field: 'services[0].upstream', message: 'upstream is required in local mode (the URL the sidecar proxies to)' },
      {
        field: 'services[1].colour',
        message: 'unknown key (expected one of name, namespace, upstream, url, pod, labels)',
      },
      { field: 'services[1].upstream', message: 'must be an http:// URL, got "ftp://x"' },
      { field: 'services[1].name', message: 'duplicate service name "frontend" (also services[0])' },
      { field: 'flushIntervalMs', message: 'must be a positive integer number of milliseconds, got -1' },
      { field: 'logLevel', message: 'must be one of "debug", "info", "warn", "error", "silent", got "loud"' },
    ]);
  });

  it('applies the environment: HFI_MODE, HFI_CONTROL_PLANE_ADDR, HFI_TOKEN and numbers', async () => {
    await writeJson({ services: [{ name: 'frontend', namespace: 'demo', url: 'http://shop.example' }] });
    const config = await loadConfig(dir, {
      HFI_MODE: 'kubernetes',
      HFI_CONTROL_PLANE_ADDR: 'http://hfi-control-plane.boifi:8080/',
      HFI_TOKEN: 'secret',
      HFI_ACK_TIMEOUT_MS: '2500',
      HFI_METRICS_SOURCE: 'prometheus',
      HFI_PROMETHEUS_URL: 'http://prometheus:9090',
    });
    expect(config).toMatchObject({
      mode: 'kubernetes',
      controlPlane: 'http://hfi-control-plane.boifi:8080',
      token: 'secret',
      ackTimeoutMs: 2500,
      metrics: { source: 'prometheus', prometheusUrl: 'http://prometheus:9090' },
      services: [{ name: 'frontend', url: 'http://shop.example', labels: { app: 'frontend' } }],
    });
  });

  it('ignores HFI_CONTROL_PLANE_ADDR in local mode (the preset starts its own control plane)', async () => {
    await writeJson({ services: [frontend] });
    const config = await loadConfig(dir, { HFI_CONTROL_PLANE_ADDR: 'http://elsewhere:8080' });
    expect(config.controlPlane).toBeUndefined();
  });

  it('names the environment variable when its value is wrong', async () => {
    await writeJson({ services: [frontend] });
    const err = await configError({ HFI_FLUSH_INTERVAL_MS: 'soon' });
    expect(err.message).toBe(
      'environment: HFI_FLUSH_INTERVAL_MS: must be a positive integer number of milliseconds, got "soon"',
    );
  });

  it('checks the fields of each mode', async () => {
    await writeJson({ mode: 'kubernetes', services: [frontend], metrics: { source: 'prometheus' } });
    const err = await configError();
    expect(err.details.issues).toEqual([
      {
        field: 'services[0].upstream',
        message: 'upstream is for local mode; in kubernetes mode give url (how tests reach the service)',
      },
      {
        field: 'controlPlane',
        message: 'kubernetes mode needs the control plane address (controlPlane, or HFI_CONTROL_PLANE_ADDR)',
      },
      { field: 'metrics.prometheusUrl', message: 'prometheusUrl is required when metrics.source is "prometheus"' },
    ]);
  });

  it('reads the file HFI_CONFIG names, relative to the root dir', async () => {
    await writeJson({ services: [frontend] }, 'other.json');
    const config = await loadConfig(dir, { HFI_CONFIG: 'other.json' });
    expect(config.source).toBe(path.join(dir, 'other.json'));
    expect((await configError({ HFI_CONFIG: 'missing.json' })).message).toContain('HFI_CONFIG names');
  });
});
