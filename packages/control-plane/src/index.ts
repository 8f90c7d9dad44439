export { controlPlaneMain, parseControlPlaneArgs } from './cli';
export {
  type ControlPlaneConfig,
  type ControlPlaneFlags,
  DEFAULT_ETCD_ENDPOINTS,
  DEFAULT_FILE_STORE_PATH,
  DEFAULT_LISTEN,
  resolveControlPlaneConfig,
} from './config';
export { checkListenSecurity, isLoopback, parseListenAddress } from './listen-address';
export { createLogger, type LogLevel, parseLogLevel } from './logger';
export { type RunningControlPlane, runControlPlane } from './run';
export { type ControlPlaneOptions, type StartedControlPlane, startControlPlane } from './start';
export { createStore, type ParsedStoreSpec, parseStoreSpec, type StoreSpec } from './store/create-store';
export type { EtcdStoreOptions, StoreLogger } from './store/etcd-store';
export { FileStore, type FileStoreOptions } from './store/file-store';
export { MemoryStore } from './store/memory-store';
export type * from './store/types';
