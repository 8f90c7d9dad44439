import { HfiError } from '@hfi/core';
import type { StoreLogger } from './etcd-store';
import { FileStore } from './file-store';
import { MemoryStore } from './memory-store';
import type { PolicyStore } from './types';

/** `memory`, `file:PATH` or `etcd:host:port,host:port`. */
export type StoreSpec = string;

export type ParsedStoreSpec =
  | { kind: 'memory' }
  | { kind: 'file'; path: string }
  | { kind: 'etcd'; endpoints: string[] };

export function parseStoreSpec(spec: StoreSpec): ParsedStoreSpec {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  const kind = (colon === -1 ? trimmed : trimmed.slice(0, colon)).toLowerCase();
  const rest = colon === -1 ? '' : trimmed.slice(colon + 1).trim();
  switch (kind) {
    case 'memory':
      if (rest) throw configError(`the memory store takes no argument (got "${spec}")`);
      return { kind: 'memory' };
    case 'file':
      if (!rest) throw configError('the file store needs a path: file:PATH');
      return { kind: 'file', path: rest };
    case 'etcd': {
      const endpoints = rest
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      if (endpoints.length === 0) throw configError('the etcd store needs endpoints: etcd:host:port[,host:port]');
      return { kind: 'etcd', endpoints };
    }
    default:
      throw configError(`unsupported storage type: ${kind || spec} (supported: memory, file, etcd)`);
  }
}

/** Builds an unstarted store from its spec; `logger` receives the etcd store's connection logs. */
export function createStore(spec: StoreSpec, options: { logger?: StoreLogger } = {}): PolicyStore {
  const parsed = parseStoreSpec(spec);
  switch (parsed.kind) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return new FileStore({ path: parsed.path });
    case 'etcd': {
      // Loaded on demand: the etcd client pulls in gRPC, which memory and file users need not pay for.
      const { EtcdStore } = require('./etcd-store') as typeof import('./etcd-store');
      return new EtcdStore({ endpoints: parsed.endpoints, ...(options.logger ? { logger: options.logger } : {}) });
    }
  }
}

function configError(message: string): HfiError {
  return new HfiError('HFI_ERR_CONFIG', message, { field: 'store' });
}
