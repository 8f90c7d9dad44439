import { parseControlPlaneArgs } from './cli';
import { resolveControlPlaneConfig } from './config';
import { createStore, parseStoreSpec } from './store/create-store';
import { FileStore } from './store/file-store';
import { MemoryStore } from './store/memory-store';

describe('resolveControlPlaneConfig', () => {
  test('defaults: loopback 8080, memory, INFO, 30 s max delay', () => {
    expect(resolveControlPlaneConfig({ env: {} })).toEqual({
      listen: '127.0.0.1:8080',
      store: 'memory',
      insecure: false,
      maxDelayMs: 30000,
      watchTimeoutMs: 25000,
      nodeStaleMs: 60000,
      logLevel: 'info',
    });
  });

  test('BOIFI environment variables', () => {
    const config = resolveControlPlaneConfig({
      env: {
        LISTEN_ADDR: '0.0.0.0:9090',
        STORAGE_BACKEND: 'ETCD',
        ETCD_ENDPOINTS: ' etcd-0:2379 , etcd-1:2379 ',
        HFI_TOKEN: 'tok',
        LOG_LEVEL: 'DEBUG',
      },
    });
    expect(config).toMatchObject({
      listen: '0.0.0.0:9090',
      store: 'etcd:etcd-0:2379,etcd-1:2379',
      token: 'tok',
      logLevel: 'debug',
    });
  });

  test('flags win over the environment; --store wins over --storage', () => {
    const env = { LISTEN_ADDR: '0.0.0.0:9090', STORAGE_BACKEND: 'etcd', LOG_LEVEL: 'ERROR', HFI_TOKEN: 'env-token' };
    expect(
      resolveControlPlaneConfig({
        flags: {
          listen: '127.0.0.1:7070',
          store: 'file:/var/lib/hfi/policies.json',
          storage: 'etcd',
          logLevel: 'warn',
          token: 'flag-token',
          insecure: true,
          maxDelayMs: '60000',
        },
        env,
      }),
    ).toMatchObject({
      listen: '127.0.0.1:7070',
      store: 'file:/var/lib/hfi/policies.json',
      logLevel: 'warn',
      token: 'flag-token',
      insecure: true,
      maxDelayMs: 60000,
    });
  });

  test('BOIFI aliases --storage and --etcd-endpoints; bare file uses HFI_STORE_PATH', () => {
    expect(resolveControlPlaneConfig({ flags: { storage: 'etcd', etcdEndpoints: 'a:1,b:2' }, env: {} }).store).toBe(
      'etcd:a:1,b:2',
    );
    expect(resolveControlPlaneConfig({ flags: { storage: 'etcd' }, env: {} }).store).toBe('etcd:localhost:2379');
    expect(resolveControlPlaneConfig({ flags: { storage: 'memory' }, env: { STORAGE_BACKEND: 'etcd' } }).store).toBe(
      'memory',
    );
    expect(resolveControlPlaneConfig({ env: { STORAGE_BACKEND: 'file', HFI_STORE_PATH: '/data/p.json' } }).store).toBe(
      'file:/data/p.json',
    );
    expect(resolveControlPlaneConfig({ flags: { storage: 'File' }, env: {} }).store).toBe('file:hfi-policies.json');
  });

  test('bad values are HFI_ERR_CONFIG with a message naming them', () => {
    const bad = (input: Parameters<typeof resolveControlPlaneConfig>[0], message: string | RegExp) =>
      expect(() => resolveControlPlaneConfig(input)).toThrow(
        expect.objectContaining({ code: 'HFI_ERR_CONFIG', message: expect.stringMatching(message) }),
      );
    bad(
      { flags: { storage: 'redis' }, env: {} },
      /^unsupported storage type: redis \(supported: memory, file, etcd\)$/,
    );
    bad({ env: { STORAGE_BACKEND: 'Consul' } }, /^unsupported storage type: consul/);
    bad({ flags: { store: 'file:' }, env: {} }, /needs a path/);
    bad({ env: { LOG_LEVEL: 'LOUD' } }, /invalid log level "LOUD"/);
    bad({ flags: { listen: 'localhost' }, env: {} }, /invalid listen address/);
    bad({ flags: { listen: '127.0.0.1:99999' }, env: {} }, /invalid port/);
    bad({ flags: { maxDelayMs: '-5' }, env: {} }, /maxDelayMs must be a positive integer/);
  });
});

describe('store specs', () => {
  test('createStore builds the store a spec names', () => {
    expect(createStore('memory')).toBeInstanceOf(MemoryStore);
    const file = createStore('file:/tmp/x/policies.json');
    expect(file).toBeInstanceOf(FileStore);
    expect((file as FileStore).path).toBe('/tmp/x/policies.json');
    expect(createStore('etcd:127.0.0.1:2379').kind).toBe('etcd');
    expect(parseStoreSpec('etcd:a:1, b:2')).toEqual({ kind: 'etcd', endpoints: ['a:1', 'b:2'] });
    expect(() => createStore('sqlite:x')).toThrow(
      expect.objectContaining({
        code: 'HFI_ERR_CONFIG',
        message: 'unsupported storage type: sqlite (supported: memory, file, etcd)',
      }),
    );
  });
});

describe('hfi-control-plane arguments', () => {
  test('parses value flags in both forms, booleans and help', () => {
    expect(
      parseControlPlaneArgs(['--listen', '127.0.0.1:1', '--store=file:/x.json', '--insecure', '--log-level', 'DEBUG']),
    ).toEqual({ listen: '127.0.0.1:1', store: 'file:/x.json', insecure: true, logLevel: 'DEBUG' });
    expect(parseControlPlaneArgs(['--storage', 'etcd', '--etcd-endpoints', 'a:1', '--max-delay-ms=100'])).toEqual({
      storage: 'etcd',
      etcdEndpoints: 'a:1',
      maxDelayMs: '100',
    });
    expect(parseControlPlaneArgs(['-h'])).toEqual({ help: true });
    expect(() => parseControlPlaneArgs(['--bogus'])).toThrow(expect.objectContaining({ code: 'HFI_ERR_CONFIG' }));
    expect(() => parseControlPlaneArgs(['--listen'])).toThrow(/needs a value/);
  });
});
