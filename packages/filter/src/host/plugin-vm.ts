// One proxy-wasm VM on Node's WebAssembly: the module instance, its root context and its HTTP stream contexts, as
// one Envoy worker holds them. Lifecycle as in Envoy: _initialize/_start, root context create, on_vm_start,
// on_configure; per stream on_context_create ... on_log, on_done, on_delete; at close on_done and on_delete of the
// root context (waiting for proxy_done when on_done answers false). A trap fails the VM: later callbacks are not
// made, and streams continue untouched (fail open, the default) or get a 503 (fail closed).

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HfiError } from '@hfi/core';
import { Agent, type Dispatcher } from 'undici';
import type { StatsStore } from '../stats/types';
import { BufferType, type LogLevelName, logLevelNumber, MapType, Status } from './abi';
import { envoyAttribute } from './attributes';
import { GuestMemory } from './guest-memory';
import { type BufferAccess, createProxyImports, type ProxyHost } from './host-functions';
import { type HttpCallOutcome, type HttpCallResponse, sendHttpCall } from './http-call';
import { HttpStream, type StreamHost, type StreamInfo, TRAPPED } from './http-stream';
import { type Logger, type LogRecord, pluginLogPrefix } from './log';
import { EMPTY_NODE, istioNode, type NodeIdentity } from './node-identity';
import type { HeaderPair } from './pairs';
import { PluginMetrics } from './plugin-metrics';
import { type EnvoyNode, lookupProperty, serializeProperty, splitPropertyPath } from './properties';
import { SharedState } from './shared-state';
import { TickTimer, TickTimers } from './tick-timer';
import { createAssemblyScriptImports, createWasiImports, type WasiHost } from './wasi';
import { isWasmMemory, isWasmModule, Wasm, type WasmImports, type WasmInstance, type WasmModule } from './wasm-api';

/** The plugin.wasm shipped in this package (built by `npm run build:wasm -w @hfi/filter`). */
export const DEFAULT_PLUGIN_PATH = path.resolve(__dirname, '..', '..', 'plugin.wasm');

export const ROOT_CONTEXT_ID = 1;

export interface PluginVmOptions {
  /** Module bytes, a path to a .wasm file, or a compiled module. Default: the bundled plugin.wasm. */
  wasm?: Uint8Array | string | WasmModule;
  /** Plugin configuration (PLUGIN_CONFIGURATION); an object is sent as JSON. */
  pluginConfig?: string | object;
  /** VM configuration (VM_CONFIGURATION). */
  vmConfig?: string;
  /** Default `hfi`. */
  rootId?: string;
  /** Default empty, as Istio leaves it. */
  vmId?: string;
  /** `plugin_name`; default `hfi`. */
  pluginName?: string;
  /** The sidecar identity behind `node.*` properties; without it the node is empty. */
  node?: NodeIdentity;
  /** Cluster name → base URL, for proxy_http_call. An unknown cluster answers BAD_ARGUMENT, like Envoy. */
  clusters?: Record<string, string>;
  stats: StatsStore;
  /** Envoy's log level: plugin logs below it are dropped and proxy_get_log_level reports it. Default `info`. */
  logLevel?: LogLevelName;
  /** Receives every kept log record (plugin and host). */
  logger?: Logger;
  /** Envoy's fail_open: after a trap, streams continue untouched (true, default) or get a 503 (false). */
  failOpen?: boolean;
  /** Do not run the tick timer; tests call `vm.tick()` themselves. */
  manualTicks?: boolean;
  /** WASI environment variables (Envoy's vm_config.environment_variables). */
  environment?: Record<string, string>;
  /** How long `close()` waits for proxy_done after the root's on_done answered false. Default 1000 ms. */
  shutdownGraceMs?: number;
  /** `vm.logs` keeps at most this many records (oldest dropped). Default 10000. */
  maxLogRecords?: number;
  /** Worker index, shown in log lines. */
  worker?: number;
  /** Shared data and queues; the VMs of one pool share one. */
  sharedState?: SharedState;
  /** The tick timers on this event loop, whose due ticks the VM runs at its callbacks. Default `TickTimers.loop`. */
  tickTimers?: TickTimers;
  /** undici dispatcher for HTTP calls; by default the VM owns one. */
  dispatcher?: Dispatcher;
}

type GuestFunction = (...args: number[]) => unknown;

interface PendingCall {
  contextId: number;
  controller: AbortController;
}

/** Reads and compiles a plugin; a compiled module is returned as is (a pool compiles once for all its VMs). */
export async function loadPluginModule(wasm?: Uint8Array | string | WasmModule): Promise<WasmModule> {
  if (isWasmModule(wasm)) return wasm;
  let bytes: Uint8Array;
  if (wasm === undefined || typeof wasm === 'string') {
    const file = wasm ?? DEFAULT_PLUGIN_PATH;
    if (!existsSync(file)) {
      throw new HfiError('HFI_ERR_PLUGIN_LOAD', `Wasm plugin not found at ${file}`, {
        details: {
          path: file,
          hint: wasm === undefined ? 'build it with `npm run build:wasm -w @hfi/filter`' : undefined,
        },
      });
    }
    bytes = await readFile(file);
  } else {
    bytes = wasm as Uint8Array;
  }
  try {
    return await Wasm.compile(bytes);
  } catch (cause) {
    throw new HfiError('HFI_ERR_PLUGIN_LOAD', `The Wasm plugin does not compile: ${(cause as Error).message}`, {
      cause,
      details: typeof wasm === 'string' ? { path: wasm } : {},
    });
  }
}

export class PluginVm implements AsyncDisposable {
  /** Plugin and host log records at or above the log level, oldest first. */
  readonly logs: LogRecord[] = [];
  readonly worker: number;
  readonly rootContextId = ROOT_CONTEXT_ID;
  readonly rootId: string;
  readonly vmId: string;
  readonly pluginName: string;
  readonly node: EnvoyNode;

  private readonly level: number;
  private readonly failOpen: boolean;
  private readonly pluginConfig: Buffer;
  private readonly vmConfig: Buffer;
  private readonly clusters: Record<string, string>;
  private readonly shared: SharedState;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly logPrefix: string;
  private readonly maxLogRecords: number;

  private instance?: WasmInstance;
  private guestMemory?: GuestMemory;
  private readonly streams = new Map<number, HttpStream>();
  private nextContextId = ROOT_CONTEXT_ID + 1;
  private effectiveContextId = ROOT_CONTEXT_ID;
  private callDepth = 0;
  private afterCallActions: (() => void)[] = [];
  private readonly guestFunctions = new Map<string, GuestFunction | null>();
  private failure?: Error;
  private rootCreated = false;
  private configuring = false;
  private closing?: Promise<void>;
  private closed = false;
  private readonly tickTimers: TickTimers;
  private readonly tickTimer: TickTimer;
  private tickPeriod = 0;
  private nextCallToken = 1;
  private readonly pendingCalls = new Map<number, PendingCall>();
  /** Stream contexts that have made calls (releaseStream cancels theirs). */
  private readonly callContexts = new Set<number>();
  private readonly inflight = new Set<Promise<void>>();
  private callResponse?: HttpCallResponse;
  private status = { code: 0, message: '' };
  private readonly metrics: PluginMetrics;
  private readonly warnedImports = new Set<string>();
  private rootDone?: () => void;
  private readonly streamHost: StreamHost;

  static async start(options: PluginVmOptions): Promise<PluginVm> {
    const module = await loadPluginModule(options.wasm);
    const vm = new PluginVm(options);
    try {
      vm.boot(module);
    } catch (error) {
      await vm.close();
      throw error;
    }
    return vm;
  }

  private constructor(private readonly options: PluginVmOptions) {
    this.worker = options.worker ?? 0;
    this.rootId = options.rootId ?? 'hfi';
    this.vmId = options.vmId ?? '';
    this.pluginName = options.pluginName ?? 'hfi';
    this.node = options.node ? istioNode(options.node) : EMPTY_NODE;
    this.level = logLevelNumber(options.logLevel ?? 'info');
    this.failOpen = options.failOpen ?? true;
    const config = options.pluginConfig;
    this.pluginConfig = Buffer.from(
      config === undefined ? '' : typeof config === 'string' ? config : JSON.stringify(config),
      'utf8',
    );
    this.vmConfig = Buffer.from(options.vmConfig ?? '', 'utf8');
    this.clusters = { ...(options.clusters ?? {}) };
    this.shared = options.sharedState ?? new SharedState();
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 4000 });
    this.logPrefix = pluginLogPrefix(this.pluginName, this.rootId, this.vmId);
    this.maxLogRecords = options.maxLogRecords ?? 10000;
    this.metrics = new PluginMetrics(options.stats, (message) => this.hostLog('error', message));
    this.tickTimers = options.tickTimers ?? TickTimers.loop;
    this.tickTimer = new TickTimer({
      onTick: () => this.tick(),
      canTick: () => this.callDepth === 0,
      timers: this.tickTimers,
    });
    this.streamHost = {
      rootContextId: ROOT_CONTEXT_ID,
      failOpen: this.failOpen,
      guestFunction: (name) => this.guestFunction(name),
      failed: () => this.failure !== undefined,
      callStream: (name, fn, contextId, a, b) => this.callGuest(name, fn, contextId, a, b),
      afterStreamCall: () => {
        if (this.callDepth === 0) this.runAfterCallActions();
      },
      afterCall: (action) => this.afterCall(action),
      release: (stream) => this.releaseStream(stream),
      enter: () => {
        if (this.callDepth === 0) this.tickTimers.poll();
      },
    };
  }

  // --- public API ---

  /** The period the plugin set with proxy_set_tick_period_milliseconds (0: no ticks). */
  get tickPeriodMs(): number {
    return this.tickPeriod;
  }

  /** Whether the module trapped (or exited); the VM then makes no more callbacks. */
  get trapped(): boolean {
    return this.failure !== undefined;
  }

  /** The trap that failed the VM. */
  get trapError(): Error | undefined {
    return this.failure;
  }

  /** Calls proxy_on_tick on the root context now (the timer does this every tick period unless `manualTicks`). */
  tick(): void {
    if (this.closed || this.failure) return;
    const fn = this.guestFunction('proxy_on_tick');
    if (fn)
      this.invoke(
        'proxy_on_tick',
        ROOT_CONTEXT_ID,
        () => fn(ROOT_CONTEXT_ID),
        () => {},
      );
  }

  /**
   * Runs the ticks that are due on this VM's event loop, its own and the other VMs' (unless this VM is inside a
   * callback). The VM does this itself at every callback it is driven through; a driver with long stretches of
   * other work may call it between them.
   */
  runDueTicks(): void {
    if (this.callDepth === 0) this.tickTimers.runDue();
  }

  /** @internal The tick timers of this VM's event loop (shared with the other VMs on it). */
  get loopTimers(): TickTimers {
    return this.tickTimers;
  }

  /** A new HTTP stream context; its callbacks are made as the stream's methods are called. */
  newStream(info: StreamInfo = {}): HttpStream {
    if (this.closing) throw new HfiError('HFI_ERR_INTERNAL', 'The plugin VM is closed');
    if (this.callDepth === 0) this.tickTimers.poll(1);
    const stream = new HttpStream(this.streamHost, this.nextContextId++, info);
    this.streams.set(stream.contextId, stream);
    return stream;
  }

  /** Ends open streams, shuts the root context down (on_done, proxy_done, on_delete) and releases resources. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --- boot and shutdown ---

  private boot(module: WasmModule): void {
    let instance: WasmInstance;
    try {
      instance = new Wasm.Instance(module, this.buildImports(module));
    } catch (cause) {
      throw new HfiError(
        'HFI_ERR_PLUGIN_LOAD',
        `The Wasm plugin could not be instantiated: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    this.instance = instance;
    const memory = instance.exports.memory;
    if (!isWasmMemory(memory)) {
      throw new HfiError('HFI_ERR_PLUGIN_LOAD', 'The Wasm plugin does not export its memory');
    }
    const allocate = this.guestFunction('proxy_on_memory_allocate') ?? this.guestFunction('malloc');
    if (!allocate) {
      throw new HfiError('HFI_ERR_PLUGIN_LOAD', 'The Wasm plugin exports neither proxy_on_memory_allocate nor malloc');
    }
    this.guestMemory = new GuestMemory(memory, (size) => Number(allocate(size)));

    const initialize = this.guestFunction('_initialize');
    const main = this.guestFunction('main');
    const start = this.guestFunction('_start');
    if (initialize) {
      this.startStep('_initialize', 0, () => initialize());
      if (main) this.startStep('main', 0, () => main(0, 0));
    } else if (start) {
      this.startStep('_start', 0, () => start());
    }
    this.hostLog(
      'info',
      `wasm vm created: worker ${this.worker}, vm_id "${this.vmId}", runtime node ${process.versions.v8}`,
    );

    const create = this.guestFunction('proxy_on_context_create');
    if (create) this.startStep('proxy_on_context_create', ROOT_CONTEXT_ID, () => create(ROOT_CONTEXT_ID, 0));
    this.rootCreated = true;
    const vmStart = this.guestFunction('proxy_on_vm_start');
    if (vmStart) {
      const ok = this.startStep('proxy_on_vm_start', ROOT_CONTEXT_ID, () =>
        vmStart(ROOT_CONTEXT_ID, this.vmConfig.length),
      );
      if (Number(ok) === 0) throw this.startError('proxy_on_vm_start returned false');
    }
    // Envoy validates the configuration (when the plugin can) before configuring with it.
    for (const name of ['proxy_validate_configuration', 'proxy_on_configure']) {
      const fn = this.guestFunction(name);
      if (!fn) continue;
      this.configuring = true;
      let ok: unknown;
      try {
        ok = this.startStep(name, ROOT_CONTEXT_ID, () => fn(ROOT_CONTEXT_ID, this.pluginConfig.length));
      } finally {
        this.configuring = false;
      }
      if (Number(ok) === 0) throw this.startError(`${name} returned false`);
    }
    this.hostLog('info', `wasm filter created: plugin "${this.pluginName}", root_id "${this.rootId}"`);
  }

  private startStep(name: string, contextId: number, call: () => unknown): unknown {
    let result: unknown;
    this.invoke(name, contextId, call, (value) => {
      result = value;
    });
    if (this.failure) throw this.startError(`${name} trapped: ${this.failure.message}`, this.failure);
    return result;
  }

  private startError(message: string, cause?: Error): HfiError {
    return new HfiError('HFI_ERR_PLUGIN_START', `The Wasm plugin failed to start: ${message}`, {
      cause,
      details: { rootId: this.rootId, worker: this.worker },
    });
  }

  private async shutdown(): Promise<void> {
    this.stopTicks();
    for (const stream of [...this.streams.values()]) stream.done();
    if (this.instance && this.rootCreated && !this.failure) {
      let completed = true;
      const onDone = this.guestFunction('proxy_on_done');
      if (onDone) {
        this.invoke(
          'proxy_on_done',
          ROOT_CONTEXT_ID,
          () => onDone(ROOT_CONTEXT_ID),
          (value, trapped) => {
            completed = trapped || Number(value) !== 0;
          },
        );
      }
      if (!completed && !this.failure) await this.waitForProxyDone();
      const onDelete = this.guestFunction('proxy_on_delete');
      if (onDelete && !this.failure) {
        this.invoke(
          'proxy_on_delete',
          ROOT_CONTEXT_ID,
          () => onDelete(ROOT_CONTEXT_ID),
          () => {},
        );
      }
    }
    this.closed = true;
    for (const call of this.pendingCalls.values()) call.controller.abort();
    this.pendingCalls.clear();
    await Promise.allSettled([...this.inflight]);
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private waitForProxyDone(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.hostLog('warn', 'root context did not call proxy_done in time; deleting it');
        this.rootDone = undefined;
        resolve();
      }, this.options.shutdownGraceMs ?? 1000);
      this.rootDone = () => {
        clearTimeout(timer);
        this.rootDone = undefined;
        resolve();
      };
    });
  }

  // --- calling the guest ---

  private guestFunction(name: string): GuestFunction | undefined {
    // Looked up once per name: a keyed read of the exports object on every callback is measurable per request.
    let fn = this.guestFunctions.get(name);
    if (fn === undefined && this.instance) {
      const exported = this.instance.exports[name];
      fn = typeof exported === 'function' ? (exported as GuestFunction) : null;
      this.guestFunctions.set(name, fn);
    }
    return fn ?? undefined;
  }

  /**
   * Calls into the guest with `contextId` effective and returns the value, or TRAPPED when it trapped or the VM had
   * already failed. Deferred actions wait for the caller (`invoke`, or the stream's `afterStreamCall`). Stream
   * callbacks, made on every request, pass their arguments here rather than in a closure.
   */
  private callGuest(name: string, fn: GuestFunction, contextId: number, a?: number, b?: number): unknown {
    if (this.failure) return TRAPPED;
    const previous = this.effectiveContextId;
    this.effectiveContextId = contextId;
    this.callDepth++;
    try {
      // As many arguments as the callback takes: a call with more than the export's parameters leaves V8's fast path.
      return a === undefined ? fn(contextId) : b === undefined ? fn(contextId, a) : fn(contextId, a, b);
    } catch (error) {
      this.fail(name, error);
      return TRAPPED;
    } finally {
      this.callDepth--;
      this.effectiveContextId = previous;
    }
  }

  /** callGuest for `call`, then `onReturn`, then the deferred actions (continue, local reply). */
  private invoke(
    name: string,
    contextId: number,
    call: () => unknown,
    onReturn: (value: unknown, trapped: boolean) => void,
  ): void {
    const failedBefore = this.failure !== undefined;
    const value = this.callGuest(name, call, contextId);
    const trapped = value === TRAPPED;
    onReturn(trapped ? undefined : value, trapped);
    if (!failedBefore && this.callDepth === 0) this.runAfterCallActions();
  }

  private afterCall(action: () => void): void {
    this.afterCallActions.push(action);
  }

  private runAfterCallActions(): void {
    while (this.afterCallActions.length > 0) {
      const actions = this.afterCallActions;
      this.afterCallActions = [];
      for (const action of actions) action();
    }
  }

  private fail(name: string, error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.hostLog('error', `Function: ${name} failed: Uncaught ${this.failure.name}: ${this.failure.message}`);
    this.stopTicks();
    for (const call of this.pendingCalls.values()) call.controller.abort();
    this.pendingCalls.clear();
    this.afterCall(() => {
      for (const stream of this.streams.values()) stream.vmFailed();
    });
  }

  private releaseStream(stream: HttpStream): void {
    this.streams.delete(stream.contextId);
    // Envoy cancels a context's outstanding calls when the context goes away. Calls are mostly the root's (the
    // policy watch), so most streams have none to look for.
    if (!this.callContexts.delete(stream.contextId)) return;
    for (const [token, call] of this.pendingCalls) {
      if (call.contextId === stream.contextId) {
        call.controller.abort();
        this.pendingCalls.delete(token);
      }
    }
  }

  // --- logs ---

  private record(level: LogLevelName, message: string, source: LogRecord['source']): void {
    if (logLevelNumber(level) < this.level) return;
    const record: LogRecord = { level, message, source, time: new Date(), worker: this.worker, prefix: this.logPrefix };
    this.logs.push(record);
    if (this.logs.length > this.maxLogRecords) this.logs.splice(0, this.logs.length - this.maxLogRecords);
    this.options.logger?.(record);
  }

  private hostLog(level: LogLevelName, message: string): void {
    this.record(level, message, 'host');
  }

  private pluginLog(level: number, message: string): void {
    const names: LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'critical'];
    this.record(names[level] ?? 'info', message, 'plugin');
  }

  // --- ticks ---

  private setTickPeriod(ms: number): void {
    this.tickPeriod = ms;
    if (this.options.manualTicks || this.closing || this.failure) this.tickTimer.stop();
    else this.tickTimer.setPeriod(ms);
  }

  private stopTicks(): void {
    this.tickTimer.stop();
  }

  // --- HTTP calls ---

  private dispatchHttpCall(
    cluster: string,
    headers: HeaderPair[],
    body: Buffer,
    _trailers: HeaderPair[],
    timeoutMs: number,
  ): { status: number; token?: number } {
    const baseUrl = this.clusters[cluster];
    if (baseUrl === undefined) return { status: Status.BadArgument };
    if (timeoutMs < 0) return { status: Status.BadArgument };
    const has = (name: string) => headers.some(([k]) => k === name);
    if (!has(':path') || !has(':method') || !has(':authority')) return { status: Status.BadArgument };
    if (this.closing || this.failure) return { status: Status.InternalFailure };
    const token = this.nextCallToken++;
    const controller = new AbortController();
    this.pendingCalls.set(token, { contextId: this.effectiveContextId, controller });
    if (this.effectiveContextId !== ROOT_CONTEXT_ID) this.callContexts.add(this.effectiveContextId);
    const done = sendHttpCall({
      baseUrl,
      headers,
      body,
      timeoutMs,
      dispatcher: this.dispatcher,
      signal: controller.signal,
    }).then((outcome) => this.deliverHttpCall(token, outcome));
    this.inflight.add(done);
    void done.finally(() => this.inflight.delete(done));
    return { status: Status.Ok, token };
  }

  private deliverHttpCall(token: number, outcome: HttpCallOutcome): void {
    const call = this.pendingCalls.get(token);
    if (!call) return;
    this.pendingCalls.delete(token);
    if (outcome.kind === 'cancelled' || this.closed || this.failure) return;
    if (call.contextId !== ROOT_CONTEXT_ID && !this.streams.has(call.contextId)) return;
    const fn = this.guestFunction('proxy_on_http_call_response');
    if (!fn) return;
    this.runDueTicks();
    let counts: [number, number, number];
    if (outcome.kind === 'response') {
      this.callResponse = outcome.response;
      this.status = { code: Status.Ok, message: '' };
      counts = [outcome.response.headers.length, outcome.response.body.length, outcome.response.trailers.length];
    } else {
      this.callResponse = undefined;
      this.status = { code: Status.BrokenConnection, message: outcome.reason };
      counts = [0, 0, 0];
    }
    this.invoke(
      'proxy_on_http_call_response',
      call.contextId,
      () => fn(call.contextId, token, ...counts),
      () => {
        this.callResponse = undefined;
        this.status = { code: Status.Ok, message: '' };
      },
    );
  }

  // --- the `env` and WASI imports ---

  private buildImports(module: WasmModule): WasmImports {
    const mem = () => {
      if (!this.guestMemory) throw new Error('guest memory is not ready');
      return this.guestMemory;
    };
    const proxyHost: ProxyHost = {
      memory: mem,
      logLevel: () => this.level,
      pluginLog: (level, message) => this.pluginLog(level, message),
      effectiveStream: () => this.streams.get(this.effectiveContextId),
      setEffectiveContext: (contextId) => {
        if (contextId !== ROOT_CONTEXT_ID && !this.streams.has(contextId)) return Status.BadArgument;
        this.effectiveContextId = contextId;
        return Status.Ok;
      },
      done: () => {
        if (this.effectiveContextId !== ROOT_CONTEXT_ID || !this.rootDone) return Status.NotFound;
        const resolve = this.rootDone;
        this.afterCall(resolve);
        return Status.Ok;
      },
      buffer: (type): BufferAccess | undefined => {
        const stream = this.streams.get(this.effectiveContextId);
        switch (type) {
          case BufferType.HttpRequestBody:
            return stream?.bodyBuffer('request');
          case BufferType.HttpResponseBody:
            return stream?.bodyBuffer('response');
          case BufferType.HttpCallResponseBody:
            return this.callResponse ? { data: this.callResponse.body } : undefined;
          case BufferType.VmConfiguration:
            return { data: this.vmConfig };
          case BufferType.PluginConfiguration:
            return this.configuring ? { data: this.pluginConfig } : undefined;
          default:
            return undefined;
        }
      },
      callResponseMap: (type) => {
        if (!this.callResponse) return undefined;
        return type === MapType.HttpCallResponseHeaders ? this.callResponse.headers : this.callResponse.trailers;
      },
      setTickPeriod: (ms) => this.setTickPeriod(ms),
      nowNanos,
      dispatchHttpCall: (cluster, headers, body, trailers, timeoutMs) =>
        this.dispatchHttpCall(cluster, headers, body, trailers, timeoutMs),
      hasCluster: (name) => this.clusters[name] !== undefined,
      callStatus: () => this.status,
      getProperty: (pathBytes) => {
        const stream = this.streams.get(this.effectiveContextId);
        const value = lookupProperty(splitPropertyPath(pathBytes), (name) => envoyAttribute(name, this, stream));
        if (value === undefined) return { status: Status.NotFound };
        const serialized = serializeProperty(value);
        if (serialized === undefined) return { status: Status.SerializationFailure };
        return { status: Status.Ok, value: serialized };
      },
      setProperty: (pathBytes, value) => {
        const stream = this.streams.get(this.effectiveContextId);
        if (!stream) return Status.NotFound;
        stream.filterState.set(Buffer.from(pathBytes).toString('utf8'), value);
        return Status.Ok;
      },
      defineMetric: (type, name) => this.metrics.define(type, name),
      incrementMetric: (id, delta) => this.metrics.increment(id, delta),
      recordMetric: (id, value) => this.metrics.record(id, value),
      getMetric: (id) => this.metrics.get(id),
      shared: () => this.shared,
      vmId: () => this.vmId,
      registerQueue: (name) =>
        this.shared.registerQueue(this.vmId, name, {
          notify: (token) => {
            if (this.closed || this.failure) return;
            this.runDueTicks();
            const fn = this.guestFunction('proxy_on_queue_ready');
            if (fn)
              this.invoke(
                'proxy_on_queue_ready',
                ROOT_CONTEXT_ID,
                () => fn(ROOT_CONTEXT_ID, token),
                () => {},
              );
          },
        }),
    };
    const wasiHost: WasiHost = {
      memory: mem,
      pluginLog: (level, message) => this.pluginLog(level, message),
      environment: () => this.options.environment ?? {},
      nowNanos,
    };
    const tables: Record<string, Record<string, (...args: never[]) => unknown>> = {
      env: { ...createProxyImports(proxyHost), ...createAssemblyScriptImports(wasiHost) },
      wasi_snapshot_preview1: createWasiImports(wasiHost),
      wasi_unstable: createWasiImports(wasiHost),
    };
    const imports: WasmImports = {};
    for (const entry of Wasm.Module.imports(module)) {
      if (!imports[entry.module]) imports[entry.module] = {};
      const target = imports[entry.module];
      if (entry.kind !== 'function') {
        throw new HfiError(
          'HFI_ERR_PLUGIN_LOAD',
          `The Wasm plugin imports ${entry.kind} ${entry.module}.${entry.name}, which this host does not provide`,
        );
      }
      const implementation = tables[entry.module]?.[entry.name];
      target[entry.name] = implementation ?? this.unimplemented(entry.module, entry.name);
    }
    return imports;
  }

  /** A stand-in for an import this host does not know: logs once, answers UNIMPLEMENTED (WASI: NOSYS). */
  private unimplemented(module: string, name: string): () => number {
    const qualified = `${module}.${name}`;
    const answer = module.startsWith('wasi') ? 52 : Status.Unimplemented;
    return () => {
      if (!this.warnedImports.has(qualified)) {
        this.warnedImports.add(qualified);
        this.hostLog('warn', `wasm: host function ${qualified} is not implemented; returning ${answer}`);
      }
      return answer;
    };
  }
}

function nowNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}
