import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isHfiError } from '@hfi/core';
import { request } from 'undici';
import { testPluginPath } from '../host/__tests__/test-plugin';
import { parseListenAddress } from './addresses';
import { parseSidecarArgs, runSidecarCli, SIDECAR_USAGE } from './cli';

const base = [
  '--listen',
  '127.0.0.1:0',
  '--upstream',
  'http://127.0.0.1:8081',
  '--admin',
  '127.0.0.1:0',
  '--control-plane',
  'http://127.0.0.1:8080',
  '--workload',
  'frontend',
  '--namespace',
  'demo',
];

function configError(argv: string[]): { field?: string; message: string } {
  try {
    parseSidecarArgs(argv);
  } catch (error) {
    if (isHfiError(error, 'HFI_ERR_CONFIG')) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected an HFI_ERR_CONFIG');
}

describe('parseSidecarArgs', () => {
  it('reads every option, in both --flag value and --flag=value forms', () => {
    expect(
      parseSidecarArgs([
        ...base,
        '--pod=frontend-abc',
        '--labels',
        'app=frontend,version=v1',
        '--labels=team=web',
        '--flush-interval-ms',
        '1000',
        '--stats-inclusion-prefix',
        'http.',
        '--stats-inclusion-prefix=cluster.',
        '--no-default-stats-inclusion',
        '--plugin',
        '/tmp/p.wasm',
        '--workers=3',
        '--log-level',
        'debug',
        '--plugin-config',
        '{"token":"t"}',
        '--fail-closed',
      ]),
    ).toEqual({
      help: false,
      options: {
        listen: '127.0.0.1:0',
        upstream: 'http://127.0.0.1:8081',
        admin: '127.0.0.1:0',
        controlPlane: 'http://127.0.0.1:8080',
        workload: 'frontend',
        namespace: 'demo',
        pod: 'frontend-abc',
        labels: { app: 'frontend', version: 'v1', team: 'web' },
        flushIntervalMs: 1000,
        statsInclusionPrefixes: ['http.', 'cluster.'],
        defaultStatsInclusion: false,
        plugin: '/tmp/p.wasm',
        workers: 3,
        logLevel: 'debug',
        pluginConfig: { token: 't' },
        failOpen: false,
      },
    });
  });

  it('asks for help', () => {
    expect(parseSidecarArgs(['--help'])).toEqual({ help: true });
    expect(parseSidecarArgs([...base, '-h'])).toEqual({ help: true });
    expect(SIDECAR_USAGE).toContain('--control-plane URL');
  });

  it.each([
    [['--listen', '127.0.0.1:0'], '--upstream', '--upstream is required'],
    [[...base, '--workers', '0'], '--workers', '--workers must be an integer >= 1'],
    [[...base, '--workers', 'two'], '--workers', '--workers must be an integer >= 1'],
    [[...base, '--labels', 'novalue'], '--labels', '--labels takes key=value pairs separated by commas'],
    [[...base, '--log-level', 'loud'], '--log-level', 'unknown log level "loud"'],
    [[...base, '--plugin-config', '[1]'], '--plugin-config', '--plugin-config must be a JSON object'],
    [[...base, '--bogus'], '--bogus', 'unknown option --bogus'],
    [[...base, '--pod'], '--pod', '--pod needs a value'],
    [[...base, '--pod', 'a', '--pod', 'b'], '--pod', '--pod was given more than once'],
    [[...base, 'stray'], '--stray', 'unexpected argument "stray"'],
  ])('rejects %j with the flag as field', (argv, field, message) => {
    expect(configError(argv)).toEqual({ field, message });
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:15001', { host: '127.0.0.1', port: 15001 }],
    [':15001', { host: '127.0.0.1', port: 15001 }],
    ['15001', { host: '127.0.0.1', port: 15001 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    [8080, { host: '127.0.0.1', port: 8080 }],
  ])('%j', (input, expected) => {
    expect(parseListenAddress(input, 'listen')).toEqual(expected);
  });

  it('rejects ports out of range and garbage', () => {
    expect(() => parseListenAddress('127.0.0.1:70000', 'listen')).toThrow('listen has an invalid port');
    expect(() => parseListenAddress('nope', 'admin')).toThrow('admin must be host:port or a port');
  });
});

describe('runSidecarCli', () => {
  it('prints the help without starting anything', async () => {
    let out = '';
    expect(await runSidecarCli(['--help'], { stdout: (t) => (out += t) })).toBeUndefined();
    expect(out).toBe(SIDECAR_USAGE);
  });

  it('starts a sidecar from arguments and reports where it listens', async () => {
    const upstream = createServer((_req, res) => res.end('ok'));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    let out = '';
    const sidecar = await runSidecarCli(
      [
        ...base.map((a) => (a === 'http://127.0.0.1:8081' ? `http://127.0.0.1:${port}` : a)),
        '--plugin',
        await testPluginPath(),
        '--workers',
        '1',
      ],
      { stdout: (t) => (out += t), logSink: () => {} },
    );
    try {
      expect(sidecar).toBeDefined();
      expect(out).toBe(`hfi sidecar listening on ${sidecar?.url} (admin ${sidecar?.adminUrl})\n`);
      const res = await request(`${sidecar?.url}/`);
      expect(await res.body.text()).toBe('ok');
      expect(sidecar?.plugin.vms).toHaveLength(1);
    } finally {
      await sidecar?.close();
      upstream.close();
    }
  }, 60_000);
});
