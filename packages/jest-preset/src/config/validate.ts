// Checks a config object (from the file, after the environment overrides) and fills in the defaults. Every problem
// is collected with its field path; the error names the first and carries them all.
import { HfiError } from '@hfi/core';
import {
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_PRESET_ACK_TIMEOUT_MS,
  DEFAULT_STARTUP_TIMEOUT_MS,
  type HfiMode,
  type HfiPresetConfig,
  type HfiServiceConfig,
  type KubernetesMetricsConfig,
  type PresetLogLevel,
} from './types';

export interface ConfigIssue {
  field: string;
  message: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const TOP_KEYS = [
  'mode',
  'services',
  'flushIntervalMs',
  'ackTimeoutMs',
  'startupTimeoutMs',
  'logLevel',
  'controlPlane',
  'token',
  'metrics',
] as const;
const SERVICE_KEYS = ['name', 'namespace', 'upstream', 'url', 'pod', 'labels'] as const;
const METRICS_KEYS = ['source', 'prometheusUrl', 'kubeconfig', 'context'] as const;
const MODES: readonly HfiMode[] = ['local', 'kubernetes'];
const LOG_LEVELS: readonly PresetLogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
/** Kubernetes object names (DNS-1123 labels), which is what a workload and a namespace are. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const EXAMPLE =
  '{ "mode": "local", "services": [{ "name": "frontend", "namespace": "demo", "upstream": "http://127.0.0.1:3000" }] }';

export function configError(source: string, issues: ConfigIssue[]): HfiError {
  const first = issues[0] as ConfigIssue;
  return new HfiError('HFI_ERR_PRESET_CONFIG', `${source}: ${first.field}: ${first.message}`, {
    field: first.field,
    details: { source, issues },
  });
}

class Checker {
  readonly issues: ConfigIssue[] = [];

  add(field: string, message: string): void {
    this.issues.push({ field, message });
  }

  unknownKeys(obj: Json, base: string, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.add(base === '' ? key : `${base}.${key}`, `unknown key (expected one of ${allowed.join(', ')})`);
      }
    }
  }

  string(value: unknown, field: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    this.add(field, 'must be a non-empty string');
    return undefined;
  }

  httpUrl(value: unknown, field: string): string | undefined {
    const text = this.string(value, field);
    if (text === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.add(field, `must be an http:// URL, got ${JSON.stringify(text)}`);
      return undefined;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      this.add(field, `must be an http:// URL, got ${JSON.stringify(text)}`);
      return undefined;
    }
    return text.replace(/\/+$/, '');
  }

  positiveInteger(value: unknown, field: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      this.add(field, `must be a positive integer number of milliseconds, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.add(field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}`);
    return fallback;
  }

  labels(value: unknown, field: string): Record<string, string> {
    if (value === undefined) return {};
    if (!isObject(value)) {
      this.add(field, 'must be an object of label names to string values');
      return {};
    }
    const out: Record<string, string> = {};
    for (const [key, v] of Object.entries(value)) {
      if (typeof v !== 'string') this.add(`${field}.${key}`, 'must be a string');
      else out[key] = v;
    }
    return out;
  }
}

function checkService(c: Checker, raw: unknown, i: number, mode: HfiMode): HfiServiceConfig | undefined {
  const base = `services[${i}]`;
  if (!isObject(raw)) {
    c.add(
      base,
      `must be an object like { "name": "frontend", "namespace": "demo", "upstream": "http://127.0.0.1:3000" }`,
    );
    return undefined;
  }
  c.unknownKeys(raw, base, SERVICE_KEYS);
  const name = c.string(raw.name, `${base}.name`);
  if (raw.name === undefined) c.add(`${base}.name`, 'name is required (the workload name, e.g. "frontend")');
  else if (name !== undefined && !NAME.test(name)) {
    c.add(`${base}.name`, `must be a lowercase DNS label like "frontend", got ${JSON.stringify(name)}`);
  }
  const namespace = c.string(raw.namespace, `${base}.namespace`) ?? 'default';
  if (!NAME.test(namespace)) {
    c.add(`${base}.namespace`, `must be a lowercase DNS label like "demo", got ${JSON.stringify(namespace)}`);
  }
  const upstream = c.httpUrl(raw.upstream, `${base}.upstream`);
  const url = c.httpUrl(raw.url, `${base}.url`);
  if (mode === 'local') {
    if (raw.upstream === undefined) {
      c.add(`${base}.upstream`, 'upstream is required in local mode (the URL the sidecar proxies to)');
    } else if (upstream !== undefined && !upstream.startsWith('http:')) {
      c.add(`${base}.upstream`, 'the local sidecar proxies plain http:// only');
    }
    if (raw.url !== undefined) {
      c.add(`${base}.url`, 'url is for kubernetes mode; in local mode service(name).url is the local sidecar');
    }
  } else if (raw.upstream !== undefined) {
    c.add(`${base}.upstream`, 'upstream is for local mode; in kubernetes mode give url (how tests reach the service)');
  }
  const pod = c.string(raw.pod, `${base}.pod`);
  if (pod !== undefined && mode === 'kubernetes') {
    c.add(`${base}.pod`, 'pod is for local mode; in kubernetes mode the pods are found by labels');
  }
  const labels = c.labels(raw.labels, `${base}.labels`);
  if (name === undefined) return undefined;
  return {
    name,
    namespace,
    ...(upstream === undefined ? {} : { upstream }),
    ...(url === undefined ? {} : { url }),
    pod: pod ?? `${name}-local`,
    labels: { app: name, ...labels },
  };
}

function checkMetrics(c: Checker, raw: unknown, mode: HfiMode): KubernetesMetricsConfig | undefined {
  if (raw !== undefined && mode === 'local') {
    c.add('metrics', 'metrics is for kubernetes mode; in local mode the sidecars are scraped directly');
    return undefined;
  }
  if (mode === 'local') return undefined;
  if (raw !== undefined && !isObject(raw)) {
    c.add('metrics', 'must be an object like { "source": "kubernetes" }');
    return { source: 'kubernetes' };
  }
  const m = raw ?? {};
  c.unknownKeys(m, 'metrics', METRICS_KEYS);
  const source = c.oneOf(m.source, 'metrics.source', ['kubernetes', 'prometheus'] as const, 'kubernetes');
  const prometheusUrl = c.httpUrl(m.prometheusUrl, 'metrics.prometheusUrl');
  if (source === 'prometheus' && m.prometheusUrl === undefined) {
    c.add('metrics.prometheusUrl', 'prometheusUrl is required when metrics.source is "prometheus"');
  }
  const kubeconfig = c.string(m.kubeconfig, 'metrics.kubeconfig');
  const context = c.string(m.context, 'metrics.context');
  return {
    source,
    ...(prometheusUrl === undefined ? {} : { prometheusUrl }),
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...(context === undefined ? {} : { context }),
  };
}

/** Checks the merged config object; throws HFI_ERR_PRESET_CONFIG listing every problem. */
export function validateConfig(raw: unknown, source: string): HfiPresetConfig {
  const c = new Checker();
  if (!isObject(raw)) throw configError(source, [{ field: '(root)', message: `must be an object like ${EXAMPLE}` }]);
  c.unknownKeys(raw, '', TOP_KEYS);
  const mode = c.oneOf(raw.mode, 'mode', MODES, 'local');

  const services: HfiServiceConfig[] = [];
  if (raw.services === undefined) c.add('services', `services is required, e.g. ${EXAMPLE}`);
  else if (!Array.isArray(raw.services) || raw.services.length === 0) {
    c.add('services', 'must be a non-empty array of { name, namespace, upstream }');
  } else {
    raw.services.forEach((s: unknown, i) => {
      const service = checkService(c, s, i, mode);
      if (service) services.push(service);
    });
    const seen = new Map<string, number>();
    services.forEach((s, i) => {
      const first = seen.get(s.name);
      if (first !== undefined) {
        c.add(`services[${i}].name`, `duplicate service name ${JSON.stringify(s.name)} (also services[${first}])`);
      } else seen.set(s.name, i);
    });
    const pods = new Set<string>();
    for (const [i, s] of services.entries()) {
      const key = `${s.namespace}/${s.pod}`;
      if (mode === 'local' && pods.has(key)) c.add(`services[${i}].pod`, `duplicate pod ${key}`);
      pods.add(key);
    }
  }

  const flushIntervalMs = c.positiveInteger(raw.flushIntervalMs, 'flushIntervalMs', DEFAULT_FLUSH_INTERVAL_MS);
  const ackTimeoutMs = c.positiveInteger(raw.ackTimeoutMs, 'ackTimeoutMs', DEFAULT_PRESET_ACK_TIMEOUT_MS);
  const startupTimeoutMs = c.positiveInteger(raw.startupTimeoutMs, 'startupTimeoutMs', DEFAULT_STARTUP_TIMEOUT_MS);
  const logLevel = c.oneOf(raw.logLevel, 'logLevel', LOG_LEVELS, 'warn');
  const token = c.string(raw.token, 'token');

  let controlPlane: string | undefined;
  if (mode === 'local') {
    if (raw.controlPlane !== undefined) {
      c.add('controlPlane', 'local mode starts its own control plane; set mode to "kubernetes" to use an existing one');
    }
  } else {
    controlPlane = c.httpUrl(raw.controlPlane, 'controlPlane');
    if (raw.controlPlane === undefined) {
      c.add(
        'controlPlane',
        'kubernetes mode needs the control plane address (controlPlane, or HFI_CONTROL_PLANE_ADDR)',
      );
    }
  }
  const metrics = checkMetrics(c, raw.metrics, mode);

  if (c.issues.length > 0) throw configError(source, c.issues);
  return {
    mode,
    services,
    flushIntervalMs,
    ackTimeoutMs,
    startupTimeoutMs,
    logLevel,
    ...(controlPlane === undefined ? {} : { controlPlane }),
    ...(token === undefined ? {} : { token }),
    ...(metrics === undefined ? {} : { metrics }),
    source,
  };
}
