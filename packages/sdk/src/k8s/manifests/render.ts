// Assembles the documents in apply order and writes them as multi-document YAML (with comments) or a JSON List.
import { randomBytes } from 'node:crypto';
import { HfiError } from '@hfi/core';
import { Document, isMap, isScalar, type Scalar } from 'yaml';
import { SDK_VERSION } from '../../version';
import {
  controlPlaneBudgetDocument,
  controlPlaneDeploymentDocument,
  controlPlaneServiceDocument,
  namespaceDocument,
  tokenSecretDocument,
} from './control-plane';
import { dashboardConfigMapDocument } from './dashboard';
import {
  etcdBudgetDocument,
  etcdClientServiceDocument,
  etcdPeerServiceDocument,
  etcdStatefulSetDocument,
} from './etcd';
import { envoyFilterDocument, wasmPluginDocument } from './istio';
import { type ManifestFormat, type ManifestInput, type ManifestOptions, resolveManifestOptions } from './options';
import { pluginSha256 } from './plugin-wasm';
import { prometheusRuleDocument } from './prometheus-rules';
import type { FieldComment, ManifestDocument } from './types';

export interface BuiltManifests {
  options: ManifestOptions;
  documents: ManifestDocument[];
  /** The token in the Secret. */
  token: string;
  /** True when no token was given and a random one was generated. */
  tokenGenerated: boolean;
  pluginSha256: string;
}

export interface RenderedManifests extends Omit<BuiltManifests, 'documents'> {
  text: string;
}

/** 32 URL-safe characters from 24 random bytes. */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Resolves the options and builds every document; nothing is validated against schemas here (see validate). */
export function buildManifests(input: ManifestInput = {}): BuiltManifests {
  const options = resolveManifestOptions(input);
  const sha256 = options.pluginSha256 ?? pluginSha256();
  const token = options.token ?? generateToken();
  const documents: ManifestDocument[] = [
    namespaceDocument(options),
    tokenSecretDocument(options, token),
    etcdPeerServiceDocument(options),
    etcdClientServiceDocument(options),
    etcdStatefulSetDocument(options),
    etcdBudgetDocument(options),
    controlPlaneServiceDocument(options),
    controlPlaneDeploymentDocument(options),
    controlPlaneBudgetDocument(options),
    wasmPluginDocument(options, sha256),
  ];
  if (options.envoyFilter) documents.push(envoyFilterDocument(options));
  if (options.dashboard) documents.push(dashboardConfigMapDocument(options));
  if (options.prometheusRule) documents.push(prometheusRuleDocument(options));
  return { options, documents, token, tokenGenerated: options.token === undefined, pluginSha256: sha256 };
}

/** Runs every model's JSON-schema check; an object that does not conform is an HfiError naming it. */
export function validateDocuments(documents: readonly ManifestDocument[]): void {
  for (const { object } of documents) {
    try {
      object.validate();
    } catch (cause) {
      throw new HfiError(
        'HFI_ERR_INTERNAL',
        `${object.kind} ${object.metadata?.name ?? ''} does not match its schema: ${(cause as Error).message}`,
        { details: { kind: object.kind, name: object.metadata?.name }, cause },
      );
    }
  }
}

function comment(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? '' : ` ${line}`))
    .join('\n');
}

function addFieldComment(doc: Document, { path, comment: text }: FieldComment): void {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const key = path[path.length - 1];
  const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
  if (pair === undefined) throw new HfiError('HFI_ERR_INTERNAL', `No field ${path.join('.')} to comment on`);
  (pair.key as Scalar).commentBefore = comment(text);
}

function yamlDocument(entry: ManifestDocument, header?: string): string {
  const doc = new Document(entry.object.toJSON());
  const parts = [header, entry.comment].filter((p): p is string => p !== undefined);
  if (parts.length > 0) doc.commentBefore = comment(parts.join('\n\n'));
  for (const field of entry.fieldComments ?? []) addFieldComment(doc, field);
  return doc.toString({ lineWidth: 0 });
}

function streamHeader(options: ManifestOptions): string {
  const selector = Object.entries(options.targetSelector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return (
    `hfi ${SDK_VERSION} on Istio: control plane in namespace ${options.namespace}, plugin for ` +
    `${selector === '' ? 'every workload' : selector} in namespace ${options.targetNamespace}.\n` +
    'Rendered by `hfi k8s manifests`; apply with `kubectl apply -f <this file>`.'
  );
}

export function formatDocuments(
  documents: readonly ManifestDocument[],
  format: ManifestFormat,
  header?: string,
): string {
  if (format === 'json') {
    const list = { apiVersion: 'v1', kind: 'List', items: documents.map((d) => d.object.toJSON()) };
    return `${JSON.stringify(list, null, 2)}\n`;
  }
  return documents.map((d, i) => yamlDocument(d, i === 0 ? header : undefined)).join('---\n');
}

/** Builds, schema-checks and formats the manifests as `hfi k8s manifests` prints them. */
export function renderManifests(input: ManifestInput = {}): RenderedManifests {
  const { documents, ...built } = buildManifests(input);
  validateDocuments(documents);
  return { ...built, text: formatDocuments(documents, built.options.output, streamHeader(built.options)) };
}

/** The PrometheusRule alone (what `hfi k8s prometheus-rules` prints). */
export function renderPrometheusRule(input: Pick<ManifestInput, 'namespace' | 'output'> = {}): string {
  const options = resolveManifestOptions({ namespace: input.namespace, output: input.output });
  const documents = [prometheusRuleDocument(options)];
  validateDocuments(documents);
  return formatDocuments(documents, options.output);
}
