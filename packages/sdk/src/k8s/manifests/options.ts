// What `hfi k8s manifests` can be told, its defaults (the seed's names), and the checks on every value. A bad value
// is an HfiError naming the flag, so the CLI prints one line and exits 1.
import { HfiError } from '@hfi/core';
import { SDK_VERSION } from '../../version';

export const MANIFEST_FORMATS = ['yaml', 'json'] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];

/** Everything optional, as a caller or the command line gives it (numbers may still be strings). */
export interface ManifestInput {
  namespace?: string;
  targetNamespace?: string;
  /** `key=value[,key=value]`; an empty string selects every workload of the target namespace. */
  targetSelector?: string;
  replicas?: number | string;
  etcdReplicas?: number | string;
  image?: string;
  etcdImage?: string;
  /** The control plane's bearer token; generated when absent. */
  token?: string;
  /** The sha256 of the plugin.wasm the control plane image serves; read from @hfi/filter when absent. */
  pluginSha256?: string;
  clusterDomain?: string;
  envoyFilter?: boolean;
  dashboard?: boolean;
  prometheusRule?: boolean;
  output?: string;
}

export interface ManifestOptions {
  namespace: string;
  targetNamespace: string;
  /** Empty: the plugin applies to every workload of the target namespace. */
  targetSelector: Readonly<Record<string, string>>;
  replicas: number;
  etcdReplicas: number;
  image: string;
  etcdImage: string;
  /** Absent: the caller generates one (see generateToken). */
  token?: string;
  pluginSha256?: string;
  clusterDomain: string;
  envoyFilter: boolean;
  dashboard: boolean;
  prometheusRule: boolean;
  output: ManifestFormat;
}

/** A placeholder: no image is published under this name yet; build one with `hfi` on its PATH and override. */
export const DEFAULT_IMAGE = `ghcr.io/hfi/hfi:${SDK_VERSION}`;
export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.5.21';

export const MANIFEST_DEFAULTS = {
  namespace: 'boifi',
  targetNamespace: 'demo',
  targetSelector: 'app=frontend',
  replicas: 2,
  etcdReplicas: 3,
  image: DEFAULT_IMAGE,
  etcdImage: DEFAULT_ETCD_IMAGE,
  clusterDomain: 'cluster.local',
  output: 'yaml',
} as const;

const MAX_REPLICAS = 20;
const MAX_ETCD_REPLICAS = 9;
const MIN_TOKEN_LENGTH = 16;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
// Printable ASCII without spaces: the token travels in an `Authorization: Bearer` header.
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

function invalid(flag: string, message: string, value: unknown): HfiError {
  return new HfiError('HFI_ERR_CONFIG', `--${flag}: ${message}`, { field: flag, details: { value } });
}

function namespaceName(flag: string, value: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    throw invalid(
      flag,
      `"${value}" is not a namespace name (lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit)`,
      value,
    );
  }
  return value;
}

function count(flag: string, value: number | string, max: number): number {
  const text = String(value).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw invalid(flag, `"${value}" is not a whole number from 1 to ${max}`, value);
  }
  return n;
}

function etcdCount(value: number | string): number {
  const n = count('etcd-replicas', value, MAX_ETCD_REPLICAS);
  // An even member count tolerates no more failures than the odd count below it and needs a larger quorum.
  if (n % 2 === 0) {
    throw invalid(
      'etcd-replicas',
      `${n} is even; use an odd number (1, 3, 5, 7 or 9) so a quorum survives failures`,
      value,
    );
  }
  return n;
}

function labelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

function labelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && LABEL_NAME.test(value));
}

/** `app=frontend,version=v1` → `{app: 'frontend', version: 'v1'}`; `''` → `{}` (every workload). */
export function parseTargetSelector(text: string): Record<string, string> {
  const selector: Record<string, string> = {};
  const trimmed = text.trim();
  if (trimmed === '') return selector;
  for (const part of trimmed.split(',')) {
    const pair = part.trim();
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw invalid('target-selector', `"${pair}" is not key=value (e.g. app=frontend)`, text);
    }
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!labelKey(key)) throw invalid('target-selector', `"${key}" is not a label key`, text);
    if (!labelValue(value)) throw invalid('target-selector', `"${value}" is not a label value`, text);
    if (key in selector) throw invalid('target-selector', `the label "${key}" is given twice`, text);
    selector[key] = value;
  }
  return selector;
}

function image(flag: string, value: string): string {
  if (value.trim() === '' || /\s/.test(value)) throw invalid(flag, `"${value}" is not an image reference`, value);
  return value;
}

function token(value: string): string {
  if (!TOKEN_CHARS.test(value)) {
    throw invalid('token', 'the token must be printable ASCII without spaces', '<redacted>');
  }
  if (value.length < MIN_TOKEN_LENGTH) {
    throw invalid(
      'token',
      `the token must be at least ${MIN_TOKEN_LENGTH} characters (omit it to generate one)`,
      '<redacted>',
    );
  }
  return value;
}

function sha256(value: string): string {
  const lower = value.trim().toLowerCase();
  if (!SHA256_HEX.test(lower)) throw invalid('plugin-sha256', `"${value}" is not a sha256 (64 hex digits)`, value);
  return lower;
}

function clusterDomain(value: string): string {
  if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
    throw invalid('cluster-domain', `"${value}" is not a DNS domain (e.g. cluster.local)`, value);
  }
  return value;
}

function format(value: string): ManifestFormat {
  const found = MANIFEST_FORMATS.find((f) => f === value);
  if (found === undefined) throw invalid('output', `"${value}" is not one of ${MANIFEST_FORMATS.join(', ')}`, value);
  return found;
}

/** Checks every value and fills in the defaults. */
export function resolveManifestOptions(input: ManifestInput = {}): ManifestOptions {
  const options: ManifestOptions = {
    namespace: namespaceName('namespace', input.namespace ?? MANIFEST_DEFAULTS.namespace),
    targetNamespace: namespaceName('target-namespace', input.targetNamespace ?? MANIFEST_DEFAULTS.targetNamespace),
    targetSelector: parseTargetSelector(input.targetSelector ?? MANIFEST_DEFAULTS.targetSelector),
    replicas: count('replicas', input.replicas ?? MANIFEST_DEFAULTS.replicas, MAX_REPLICAS),
    etcdReplicas: etcdCount(input.etcdReplicas ?? MANIFEST_DEFAULTS.etcdReplicas),
    image: image('image', input.image ?? MANIFEST_DEFAULTS.image),
    etcdImage: image('etcd-image', input.etcdImage ?? MANIFEST_DEFAULTS.etcdImage),
    clusterDomain: clusterDomain(input.clusterDomain ?? MANIFEST_DEFAULTS.clusterDomain),
    envoyFilter: input.envoyFilter ?? true,
    dashboard: input.dashboard ?? true,
    prometheusRule: input.prometheusRule ?? false,
    output: format(input.output ?? MANIFEST_DEFAULTS.output),
  };
  if (input.token !== undefined) options.token = token(input.token);
  if (input.pluginSha256 !== undefined) options.pluginSha256 = sha256(input.pluginSha256);
  return options;
}
