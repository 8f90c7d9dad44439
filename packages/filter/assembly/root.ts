// The root context: configuration, identity, the watch loop with backoff, the tick timer, and the fault decision for
// every stream (streams.ts routes stream callbacks here; a stream has no object of its own).

import {
  BufferTypeValues,
  FilterHeadersStatusValues,
  isLogEnabled,
  LogLevelValues,
  log,
  MetricTypeValues,
  RootContext,
  setLogLevel,
} from '@solo-io/proxy-runtime/assembly/index';
import { bufferToString, percentEncode } from './bytes';
import { PluginConfig, parseConfig } from './config';
import {
  continueRequest,
  defineMetric,
  getBuffer,
  getHttpCallResponseHeader,
  getProperty,
  httpCall,
  incrementMetric,
  loadMethod,
  loadPath,
  loadRequestHeaders,
  nowMs,
  nowNanos,
  recordMetric,
  sendLocalResponse,
  setEffectiveContext,
  setTickPeriod,
} from './host';
import { JValue, parseJsonBuffer } from './json';
import { CompiledRule, CompileResult, compileAnswer, Identity } from './policy';
import { randomHex, seedRandom, uniform } from './random';
import { RequestView } from './request';

const METRIC_ABORTS = 'wasmcustom.hfi_faults_aborts_total';
const METRIC_DELAYS = 'wasmcustom.hfi_faults_delays_total';
const METRIC_DELAY_MS = 'wasmcustom.hfi_faults_delay_duration_milliseconds';

/** How long the control plane may hold a watch before answering, and the call's own timeout. */
const WATCH_HOLD_MS: i32 = 25000;
const CALL_TIMEOUT_MS: u32 = 30000;
/** A call whose answer never came is given up this long after its timeout. */
const CALL_GRACE_MS: f64 = 5000;
const BACKOFF_START_MS: f64 = 1000;
const BACKOFF_MAX_MS: f64 = 30000;
/** An unchanged answer faster than this means the server does not hold watches: poll on the interval instead. */
const MIN_HELD_WATCH_MS: f64 = 1000;

const PHASE_START_DELAY: i32 = 1;
const PHASE_DELAY: i32 = 2;

class Pending {
  contextId: u32;
  rule: CompiledRule;
  phase: i32;
  due: f64;

  constructor(contextId: u32, rule: CompiledRule, phase: i32, due: f64) {
    this.contextId = contextId;
    this.rule = rule;
    this.phase = phase;
    this.due = due;
  }
}

function info(msg: string): void {
  log(LogLevelValues.info, 'hfi: ' + msg);
}
function warn(msg: string): void {
  log(LogLevelValues.warn, 'hfi: ' + msg);
}
function debugOn(): bool {
  return isLogEnabled(LogLevelValues.debug);
}
function debug(msg: string): void {
  log(LogLevelValues.debug, 'hfi: ' + msg);
}

function readProperty(segments: Array<string>): string {
  const v = getProperty(segments);
  return v === null ? '' : bufferToString(v);
}

function revisionText(rev: f64): string {
  if (!isFinite(rev) || rev < 0) return '0';
  return (<u64>Math.floor(rev)).toString();
}

export class HfiRoot extends RootContext {
  config: PluginConfig = new PluginConfig();
  identity: Identity = new Identity();
  instance: string = '';
  rules: Array<CompiledRule> = [];
  /** The quick test's words for `rules` (policy.ts quickWords), four per rule. */
  quick: StaticArray<u64> = new StaticArray<u64>(0);
  appliedRevision: f64 = 0;
  everApplied: bool = false;

  metricsDefined: bool = false;
  abortsMetric: i64 = -1;
  delaysMetric: i64 = -1;
  delayHistogram: i64 = -1;

  inflight: bool = false;
  inflightToken: u32 = 0;
  inflightSince: f64 = 0;
  /** When the next poll is due (ms since epoch); 0 when none is scheduled. */
  pollDue: f64 = 0;
  backoffMs: f64 = BACKOFF_START_MS;
  failures: i32 = 0;
  /** Set by a failed poll: the next one asks for the whole state at once (see pollPath). */
  resync: bool = false;
  stopped: bool = false;

  pending: Map<u32, Pending> = new Map();
  tickPeriod: u32 = 0;
  view: RequestView = new RequestView();
  /** Whether the applied rules match on :method and :path alone (then the rest of the headers is not read). */
  methodAndPathOnly: bool = true;
  /** Whether any applied rule matches on the method (else :method is not read either). */
  matchesMethod: bool = false;

  constructor(contextId: u32) {
    super(contextId);
  }

  onStart(vmConfigurationSize: usize): bool {
    seedRandom(nowNanos() ^ ((<u64>this.context_id) << 32));
    this.defineMetrics();
    return true;
  }

  onConfigure(configurationSize: u32): bool {
    super.onConfigure(configurationSize);
    const config = parseConfig(this.getConfiguration());
    this.config = config;
    setLogLevel(config.logLevel);
    for (let i = 0; i < config.problems.length; i++) warn('configuration: ' + config.problems[i]);
    if (this.instance.length == 0) seedRandom(nowNanos());
    this.defineMetrics();
    this.readIdentity();
    info(
      'configured: control plane ' +
        config.address +
        ' via cluster ' +
        config.cluster +
        (config.watch ? ', watch' : ', polling every ' + config.pollIntervalMs.toString() + ' ms') +
        '; identity ' +
        this.identity.workload +
        '.' +
        this.identity.namespace +
        ' (pod ' +
        this.identity.pod +
        ', instance ' +
        this.instance +
        ')',
    );
    const now = nowMs();
    if (!this.inflight) this.pollDue = now;
    this.reschedule(now);
    return true;
  }

  defineMetrics(): void {
    if (this.metricsDefined) return;
    this.abortsMetric = defineMetric(MetricTypeValues.Counter, METRIC_ABORTS);
    this.delaysMetric = defineMetric(MetricTypeValues.Counter, METRIC_DELAYS);
    this.delayHistogram = defineMetric(MetricTypeValues.Histogram, METRIC_DELAY_MS);
    if (this.abortsMetric < 0 || this.delaysMetric < 0 || this.delayHistogram < 0)
      warn('the proxy refused to define a metric');
    // Operators grep sidecar logs for these lines to confirm the plugin and its metric names (the seed's check 3).
    info('Defined metric: ' + METRIC_ABORTS);
    info('Defined metric: ' + METRIC_DELAYS);
    info('Defined metric: ' + METRIC_DELAY_MS);
    this.metricsDefined = true;
  }

  readIdentity(): void {
    const id = new Identity();
    id.workload = readProperty(['node', 'metadata', 'WORKLOAD_NAME']);
    id.namespace = readProperty(['node', 'metadata', 'NAMESPACE']);
    id.pod = readProperty(['node', 'metadata', 'NAME']);
    id.app = readProperty(['node', 'metadata', 'LABELS', 'app']);
    id.appName = readProperty(['node', 'metadata', 'LABELS', 'app.kubernetes.io/name']);
    this.identity = id;
    if (this.instance.length == 0) {
      const base = id.pod.length > 0 ? id.pod : id.workload.length > 0 ? id.workload : 'hfi';
      this.instance = base + '-' + randomHex(8);
    }
  }

  // ---- control plane ----

  pollPath(): string {
    const id = this.identity;
    let path = '/v1/policies?';
    // After a failure the control plane may be a new one whose revisions restarted (a memory store): a watch naming
    // our revision could be held although its state differs. So ask for its state at once, claiming nothing applied.
    const watching = this.config.watch && !this.resync;
    if (watching) path += 'watch=true&';
    path += 'revision=' + (this.resync ? '0' : revisionText(this.appliedRevision));
    if (watching) path += '&timeout_ms=' + WATCH_HOLD_MS.toString();
    path += '&instance=' + percentEncode(this.instance);
    path += '&workload=' + percentEncode(id.workload);
    path += '&namespace=' + percentEncode(id.namespace);
    path += '&pod=' + percentEncode(id.pod);
    let labels = '';
    if (id.app.length > 0) labels = 'app=' + id.app;
    if (id.appName.length > 0) labels += (labels.length > 0 ? ',' : '') + 'app.kubernetes.io/name=' + id.appName;
    if (labels.length > 0) path += '&labels=' + percentEncode(labels);
    return path;
  }

  startPoll(now: f64): void {
    if (this.stopped) return;
    const names: Array<string> = [':method', ':path', ':authority', 'accept'];
    const values: Array<string> = ['GET', this.pollPath(), this.config.address, 'application/json'];
    if (this.config.token.length > 0) {
      names.push('authorization');
      values.push('Bearer ' + this.config.token);
    }
    const token = httpCall(this.config.cluster, names, values, CALL_TIMEOUT_MS);
    if (token < 0) {
      this.pollFailed(now, 'dispatch to cluster ' + this.config.cluster + ' refused');
      return;
    }
    this.inflight = true;
    this.inflightToken = <u32>token;
    this.inflightSince = now;
    if (debugOn())
      debug(
        'poll dispatched (token ' + token.toString() + ', applied revision ' + revisionText(this.appliedRevision) + ')',
      );
  }

  pollFailed(now: f64, reason: string): void {
    this.failures++;
    this.resync = true;
    const wait = this.backoffMs * (0.5 + 0.5 * uniform());
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.pollDue = now + wait;
    warn(
      'control plane poll failed (' +
        reason +
        '); retrying in ' +
        (<i64>wait).toString() +
        ' ms (failure ' +
        this.failures.toString() +
        '), keeping ' +
        this.rules.length.toString() +
        ' rules of revision ' +
        revisionText(this.appliedRevision),
    );
  }

  onHttpCallResponse(token: u32, headers: u32, bodySize: u32, trailers: u32): void {
    if (!this.inflight || token != this.inflightToken) {
      if (debugOn()) debug('ignoring the answer to an abandoned call (token ' + token.toString() + ')');
      return;
    }
    this.inflight = false;
    const now = nowMs();
    const heldFor = now - this.inflightSince;
    if (this.stopped) return;
    let status = '';
    if (headers > 0) {
      const s = getHttpCallResponseHeader(':status');
      if (s !== null) status = bufferToString(s);
    }
    if (status != '200') {
      this.pollFailed(now, headers == 0 ? 'no response' : 'status ' + (status.length > 0 ? status : 'missing'));
      this.reschedule(now);
      return;
    }
    const body = getBuffer(BufferTypeValues.HttpCallResponseBody, bodySize);
    const json: JValue | null = body === null ? null : parseJsonBuffer(body);
    const result: CompileResult | null = json === null ? null : compileAnswer(json, this.identity, now);
    if (result === null) {
      this.pollFailed(now, 'unusable answer body (' + bodySize.toString() + ' bytes)');
      this.reschedule(now);
      return;
    }
    const previous = this.appliedRevision;
    const resynced = this.resync;
    this.resync = false;
    const changed = resynced || !this.everApplied || !result.hasRevision || result.revision != previous;
    this.view.useSlots(result.headerNames.length);
    this.methodAndPathOnly = result.headerNames.length == 0;
    let matchesMethod = false;
    for (let i = 0; i < result.rules.length; i++) if (unchecked(result.rules[i]).method !== null) matchesMethod = true;
    this.matchesMethod = matchesMethod;
    this.rules = result.rules;
    this.quick = result.quick;
    if (result.hasRevision) this.appliedRevision = result.revision;
    this.everApplied = true;
    this.failures = 0;
    this.backoffMs = BACKOFF_START_MS;
    if (changed) {
      for (let i = 0; i < result.warnings.length; i++) warn(result.warnings[i]);
      info(
        'applied revision ' +
          revisionText(this.appliedRevision) +
          ': ' +
          result.policiesApplied.toString() +
          ' of ' +
          result.policiesTotal.toString() +
          ' policies apply to ' +
          this.identity.workload +
          '.' +
          this.identity.namespace +
          ', ' +
          result.rules.length.toString() +
          ' rules',
      );
    }
    // The next poll carries the new revision, which is also the acknowledgement.
    if (
      this.config.watch &&
      result.hasRevision &&
      (resynced || result.revision != previous || heldFor >= MIN_HELD_WATCH_MS)
    ) {
      this.pollDue = 0;
      this.startPoll(now);
    } else {
      // An unchanged watch answered early: the server does not hold watches, or it was shutting down and a new one
      // (revisions restarted) may follow. Either way the next poll asks for the whole state.
      if (this.config.watch && result.hasRevision) this.resync = true;
      this.pollDue = now + <f64>this.config.pollIntervalMs;
    }
    this.reschedule(now);
  }

  // ---- timers: polls, paused streams, a lost call ----

  onTick(): void {
    const now = nowMs();
    if (this.inflight && now >= this.inflightSince + <f64>CALL_TIMEOUT_MS + CALL_GRACE_MS) {
      this.inflight = false;
      this.pollFailed(now, 'no answer within ' + CALL_TIMEOUT_MS.toString() + ' ms');
    }
    if (!this.inflight && this.pollDue > 0 && now >= this.pollDue) {
      this.pollDue = 0;
      this.startPoll(now);
    }
    if (this.pending.size > 0) {
      const ids = this.pending.keys();
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (!this.pending.has(id)) continue;
        const p = this.pending.get(id);
        if (p.due > now) continue;
        this.pending.delete(id);
        this.fire(p, now);
      }
      setEffectiveContext(this.context_id);
    }
    this.reschedule(now);
  }

  reschedule(now: f64): void {
    let next: f64 = Infinity;
    if (this.pollDue > 0) next = this.pollDue;
    if (this.inflight) next = Math.min(next, this.inflightSince + <f64>CALL_TIMEOUT_MS + CALL_GRACE_MS);
    if (this.pending.size > 0) {
      const all = this.pending.values();
      for (let i = 0; i < all.length; i++) next = Math.min(next, all[i].due);
    }
    let period: u32 = 0;
    if (next < Infinity) {
      const wait = Math.ceil(next - now);
      period = wait <= 1 ? 1 : wait >= 3600000 ? 3600000 : <u32>wait;
    }
    if (period != this.tickPeriod) {
      if (setTickPeriod(period)) this.tickPeriod = period;
    }
  }

  // ---- faults ----

  /** Decides a request from its headers: Continue, or StopIteration while a fault holds or answers it. */
  onRequest(contextId: u32): FilterHeadersStatusValues {
    const rules = this.rules;
    if (rules.length == 0) return FilterHeadersStatusValues.Continue;
    const view = this.view;
    const quick = this.quick;
    let loaded = false;
    if (this.methodAndPathOnly) {
      // :path alone first: when no rule's quick test passes on it, the request is decided without reading :method,
      // one host call instead of two on the usual request, which matches nothing.
      loaded = loadPath(view);
      if (loaded && this.matchesMethod) {
        if (!pathMayMatch(quick, rules.length, view.pathWord)) return FilterHeadersStatusValues.Continue;
        loaded = loadMethod(view);
      }
    }
    if (!loaded && !loadRequestHeaders(view)) return FilterHeadersStatusValues.Continue;
    const methodWord = view.methodWord;
    const pathWord = view.pathWord;
    let now: f64 = -1;
    for (let i = 0; i < rules.length; i++) {
      const q = i << 2;
      if ((methodWord & unchecked(quick[q])) != unchecked(quick[q + 1])) continue;
      if ((pathWord & unchecked(quick[q + 2])) != unchecked(quick[q + 3])) continue;
      const rule = unchecked(rules[i]);
      if (rule.deadline != Infinity) {
        if (now < 0) now = nowMs();
        if (!(now < rule.deadline)) continue;
      }
      if (!view.matches(rule)) continue;
      // The first matching rule decides with one draw; a miss means no fault.
      const draw = uniform() * 100;
      const inject = draw < rule.percentage;
      if (debugOn()) {
        debug(
          'context ' +
            contextId.toString() +
            ' matched policy ' +
            rule.policy +
            ' rule ' +
            rule.index.toString() +
            ': draw ' +
            draw.toString() +
            ' against ' +
            rule.percentage.toString() +
            '% -> ' +
            (inject ? 'inject' : 'pass'),
        );
      }
      if (!inject) return FilterHeadersStatusValues.Continue;
      if (now < 0) now = nowMs();
      return this.inject(contextId, rule, now);
    }
    return FilterHeadersStatusValues.Continue;
  }

  inject(contextId: u32, rule: CompiledRule, now: f64): FilterHeadersStatusValues {
    if (rule.startDelayMs > 0) {
      this.pause(new Pending(contextId, rule, PHASE_START_DELAY, now + <f64>rule.startDelayMs), now);
      return FilterHeadersStatusValues.StopIteration;
    }
    if (rule.delayMs > 0) {
      this.countDelay(rule);
      this.pause(new Pending(contextId, rule, PHASE_DELAY, now + <f64>rule.delayMs), now);
      return FilterHeadersStatusValues.StopIteration;
    }
    if (rule.abortStatus > 0 && this.abort(rule)) return FilterHeadersStatusValues.StopIteration;
    return FilterHeadersStatusValues.Continue;
  }

  pause(p: Pending, now: f64): void {
    if (debugOn()) {
      debug(
        'context ' +
          p.contextId.toString() +
          ' paused for ' +
          (p.phase == PHASE_START_DELAY
            ? 'start delay ' + p.rule.startDelayMs.toString()
            : 'delay ' + p.rule.delayMs.toString()) +
          ' ms (policy ' +
          p.rule.policy +
          ')',
      );
    }
    this.pending.set(p.contextId, p);
    this.reschedule(now);
  }

  countDelay(rule: CompiledRule): void {
    incrementMetric(this.delaysMetric, 1);
    recordMetric(this.delayHistogram, <u64>rule.delayMs);
  }

  /** Sends the abort response on the current (effective) stream; false when the proxy refused. */
  abort(rule: CompiledRule): bool {
    const ok = sendLocalResponse(
      rule.abortStatus,
      'hfi_fault_abort',
      rule.abortBody,
      ['content-type', 'x-fault-injected', 'x-hfi-policy'],
      ['text/plain', 'abort', rule.policyHeader],
    );
    if (ok) {
      incrementMetric(this.abortsMetric, 1);
      if (debugOn()) debug('aborted with ' + rule.abortStatus.toString() + ' (policy ' + rule.policy + ')');
    } else warn('the proxy refused the abort response for policy ' + rule.policyHeader);
    return ok;
  }

  /** A paused stream's timer is due: move it to its next phase, answer it, or let it go on. */
  fire(p: Pending, now: f64): void {
    if (!setEffectiveContext(p.contextId)) return; // the stream is gone
    const rule = p.rule;
    if (p.phase == PHASE_START_DELAY && rule.delayMs > 0) {
      this.countDelay(rule);
      p.phase = PHASE_DELAY;
      p.due = now + <f64>rule.delayMs;
      this.pause(p, now);
      return;
    }
    if (rule.abortStatus > 0 && this.abort(rule)) return;
    if (debugOn()) debug('context ' + p.contextId.toString() + ' resumed (policy ' + rule.policy + ')');
    continueRequest();
  }

  // Called for every stream, nearly always with nothing held: the size test spares the usual one a hash lookup.
  isPaused(contextId: u32): bool {
    return this.pending.size > 0 && this.pending.has(contextId);
  }

  forget(contextId: u32): void {
    if (this.pending.size > 0 && this.pending.has(contextId)) this.pending.delete(contextId);
  }

  onDone(): bool {
    this.stopped = true;
    this.pending.clear();
    return true;
  }
}

/** Whether any rule's quick path test passes on `pathWord` (a rule without a path matcher always passes). */
function pathMayMatch(quick: StaticArray<u64>, count: i32, pathWord: u64): bool {
  for (let i = 0; i < count; i++) {
    const q = i << 2;
    if ((pathWord & unchecked(quick[q + 2])) == unchecked(quick[q + 3])) return true;
  }
  return false;
}
