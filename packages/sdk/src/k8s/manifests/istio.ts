// The Istio side, in the target namespace: the WasmPlugin that loads plugin.wasm from the control plane, and the
// optional EnvoyFilter that adds the plugin's metrics to the bootstrap stats inclusion list.
import { type IWasmPlugin, WasmPlugin } from '@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin';
import { EnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter';
import { CONTROL_PLANE, commonLabels, controlPlaneAddress, ENVOY_FILTER, pluginUrl, WASM_PLUGIN } from './names';
import type { ManifestOptions } from './options';
import type { ManifestDocument } from './types';

/** Istio ≥ 1.19 accepts these; the typed model (generated from Istio 1.18's CRDs) predates the field. */
export const WASM_FAIL_STRATEGIES = ['FAIL_CLOSE', 'FAIL_OPEN', 'FAIL_RELOAD'] as const;
type WasmPluginSpec = NonNullable<IWasmPlugin['spec']> & { failStrategy?: (typeof WASM_FAIL_STRATEGIES)[number] };

/**
 * Envoy creates a plugin metric as `wasmcustom.<name the plugin defined>`; the plugin defines
 * `wasmcustom.hfi_faults_*` (so Prometheus shows `wasmcustom_hfi_faults_*`), so the stats matcher sees
 * `wasmcustom.wasmcustom.hfi_faults_*`.
 */
export const STATS_PREFIX_MATCHING_PLUGIN = 'wasmcustom.wasmcustom.hfi_faults';
/** The seed's pattern: matches no metric this plugin (or the reference's) defines, kept for tools that look for it. */
export const STATS_PREFIX_FROM_SEED = 'wasmcustom.hfi_faults';

function selectorComment(options: ManifestOptions): string {
  const pairs = Object.entries(options.targetSelector);
  return pairs.length === 0
    ? `every workload in namespace ${options.targetNamespace}`
    : `pods in ${options.targetNamespace} labelled ${pairs.map(([k, v]) => `${k}=${v}`).join(',')}`;
}

export function wasmPluginDocument(options: ManifestOptions, sha256: string): ManifestDocument {
  const selector = options.targetSelector;
  const spec: WasmPluginSpec = {
    ...(Object.keys(selector).length === 0 ? {} : { selector: { matchLabels: { ...selector } } }),
    url: pluginUrl(options),
    sha256,
    phase: 'AUTHN',
    failStrategy: 'FAIL_OPEN',
    // No token: the plugin only reads policies (GET), which the control plane serves without one.
    pluginConfig: { control_plane_address: controlPlaneAddress(options) },
  };
  return {
    object: new WasmPlugin({
      metadata: { name: WASM_PLUGIN, namespace: options.targetNamespace, labels: commonLabels('wasm-plugin') },
      spec,
    }),
    comment:
      `Loads the hfi filter into the sidecars of ${selectorComment(options)}. istio-agent downloads it from the\n` +
      `${CONTROL_PLANE} Service; the plugin then polls that Service through Istio's outbound cluster for it, which\n` +
      'exists unless a Sidecar resource narrows egress (then add the control plane namespace to its hosts).\n' +
      'FAIL_OPEN: if the module cannot be fetched or fails, traffic flows without faults.',
    fieldComments: [
      {
        path: ['spec', 'sha256'],
        comment:
          'sha256 of the plugin.wasm the control plane serves; compare with its x-sha256 response header:\n' +
          `  kubectl exec -n ${options.targetNamespace} <pod> -c istio-proxy -- curl -sI ${pluginUrl(options)}`,
      },
    ],
  };
}

export function envoyFilterDocument(options: ManifestOptions): ManifestDocument {
  const selector = options.targetSelector;
  return {
    object: new EnvoyFilter({
      metadata: {
        name: ENVOY_FILTER,
        namespace: options.targetNamespace,
        labels: { ...commonLabels('envoyfilter'), feature: 'metrics-exposure' },
      },
      spec: {
        ...(Object.keys(selector).length === 0 ? {} : { workloadSelector: { labels: { ...selector } } }),
        configPatches: [
          {
            applyTo: 'BOOTSTRAP',
            patch: {
              operation: 'MERGE',
              value: {
                stats_config: {
                  stats_matcher: {
                    inclusion_list: {
                      patterns: [{ prefix: STATS_PREFIX_MATCHING_PLUGIN }, { prefix: STATS_PREFIX_FROM_SEED }],
                    },
                  },
                },
              },
            },
          },
        ],
      },
    }),
    comment:
      'Optional (--no-envoyfilter leaves it out). Istio 1.6+ already keeps every stat whose name starts with `wasm`,\n' +
      'which covers the plugin metrics; this patch keeps them if a mesh setting ever narrows that list. MERGE appends\n' +
      "to Istio's own patterns instead of replacing them.\n" +
      'BOOTSTRAP patch: Envoy reads it only at start, so pods must restart after it is applied or changed:\n' +
      `  kubectl delete pod -n ${options.targetNamespace}${podSelectorFlag(options)}`,
    fieldComments: [
      {
        path: [
          'spec',
          'configPatches',
          0,
          'patch',
          'value',
          'stats_config',
          'stats_matcher',
          'inclusion_list',
          'patterns',
        ],
        comment:
          `The matcher sees full names: Envoy prepends \`wasmcustom.\` to the plugin's \`wasmcustom.hfi_faults_*\`,\n` +
          `so ${STATS_PREFIX_MATCHING_PLUGIN} is the prefix that matches. ${STATS_PREFIX_FROM_SEED} is the seed's.`,
      },
    ],
  };
}

function podSelectorFlag(options: ManifestOptions): string {
  const pairs = Object.entries(options.targetSelector);
  return pairs.length === 0 ? ' --all' : ` -l ${pairs.map(([k, v]) => `${k}=${v}`).join(',')}`;
}
