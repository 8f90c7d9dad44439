// The seed troubleshooting guide's solutions, one per problem and step, in hfi's terms: the WasmPlugin and the
// EnvoyFilter come from `hfi k8s manifests`, policies from `hfi policy`, the local stand-in from `hfi sidecar`.

export interface FixContext {
  mode: 'local' | 'k8s';
  /** The workloads' namespace (k8s) or the sidecar's. */
  namespace: string;
  /** The pod label selector, e.g. `app=frontend`. */
  selector: string;
  /** One affected pod, for commands that name one. */
  pod: string;
  controlPlane: string;
}

const restartPods = (c: FixContext): string[] => [
  `kubectl delete pod -n ${c.namespace} ${c.pod}`,
  `kubectl wait --for=condition=ready pod -l ${c.selector} -n ${c.namespace} --timeout=90s`,
];

function steps(lines: string[]): string {
  return lines.join('\n');
}

/** Problem 1, step 1: no Wasm plugin in the proxy (no wasm logs). */
export function fixPluginNotLoaded(c: FixContext): string {
  if (c.mode === 'local') {
    return steps([
      'Run the sidecar with the hfi plugin: start `hfi sidecar ...` without --plugin (the bundled plugin.wasm), or',
      'pass --plugin with the path of @hfi/filter/plugin.wasm; its log must show "wasm vm created", "wasm filter',
      'created" and "Defined metric: wasmcustom.hfi_faults_aborts_total".',
    ]);
  }
  return steps([
    'The WasmPlugin is not applied or does not target this pod. Apply it:',
    `  hfi k8s manifests --target-namespace ${c.namespace} --target-selector ${c.selector} | kubectl apply -f -`,
    'and check that its selector matches the pod labels:',
    `  kubectl get wasmplugin -n ${c.namespace} -o yaml`,
    `  kubectl get pod -n ${c.namespace} ${c.pod} --show-labels`,
  ]);
}

/** Problem 1, step 1: "failed to load wasm" — the plugin binary is not accessible. */
export function fixPluginNotAccessible(c: FixContext, url: string): string {
  return steps([
    `The plugin binary is not accessible at ${url}. Check the service that serves it and the file:`,
    `  kubectl get svc -n boifi hfi-control-plane`,
    `  kubectl exec -n ${c.namespace} ${c.pod} -c istio-proxy -- curl -sI ${url}`,
    'The WasmPlugin sha256 must be the sha256 of the served file (its x-sha256 response header).',
  ]);
}

/** Problem 1, step 3: the bootstrap stats matcher has no pattern that keeps the plugin metrics. */
export function fixStatsMatcher(c: FixContext): string {
  if (c.mode === 'local') {
    return steps([
      "The sidecar stats matcher drops the plugin metrics. Restart the sidecar with Istio's default inclusion list",
      '(drop --no-default-stats-inclusion) or add the plugin metrics to it:',
      '  hfi sidecar ... --stats-inclusion-prefix wasmcustom.wasmcustom.hfi_faults',
    ]);
  }
  return steps([
    'Apply the EnvoyFilter that adds the plugin metrics to the bootstrap stats inclusion list:',
    `  hfi k8s manifests --target-namespace ${c.namespace} --target-selector ${c.selector} | kubectl apply -f -`,
    'Important: restart the pod after applying the EnvoyFilter (a BOOTSTRAP patch needs a restart):',
    ...restartPods(c).map((l) => `  ${l}`),
  ]);
}

/** Problem 1, step 3 (k8s): an EnvoyFilter is present but the pod started before it. */
export function fixRestartAfterEnvoyFilter(c: FixContext): string {
  return steps([
    'The EnvoyFilter is a BOOTSTRAP patch, read only when the proxy starts. Restart the pod:',
    ...restartPods(c).map((l) => `  ${l}`),
  ]);
}

/** Problem 5: old metric names (hfi.faults.*) — an old plugin is deployed. */
export function fixOldNames(c: FixContext): string {
  if (c.mode === 'local') {
    return steps([
      '1. Rebuild the plugin with the new names: npm run build:wasm -w @hfi/filter',
      '2. Restart the sidecar with it (hfi sidecar without --plugin runs the bundled, rebuilt plugin.wasm).',
      '3. Verify: curl -s <admin>/stats/prometheus | grep wasmcustom_hfi_faults',
      'Dashboards and alerts on hfi_faults_* must move to wasmcustom_hfi_faults_*.',
    ]);
  }
  return steps([
    '1. Rebuild the plugin with the new names: npm run build:wasm -w @hfi/filter',
    '2. Update the plugin the cluster serves (the control plane image carries plugin.wasm) and the WasmPlugin sha256:',
    `     hfi k8s manifests --target-namespace ${c.namespace} --target-selector ${c.selector} | kubectl apply -f -`,
    '3. Restart the application pods to load the new plugin:',
    ...restartPods(c).map((l) => `     ${l}`),
    '4. Verify the new metrics:',
    `     kubectl exec -n ${c.namespace} <new-pod> -c istio-proxy -- curl -s localhost:15090/stats/prometheus | grep wasmcustom_hfi_faults`,
    'Dashboards, alerts and recording rules on hfi_faults_* must move to wasmcustom_hfi_faults_*.',
  ]);
}

/** Problem 2, step 1: no policy applied (or the control plane is not accessible). */
export function fixNoPolicy(c: FixContext): string {
  return steps([
    'Apply a policy (the control plane has none active):',
    `  hfi policy apply -f examples/abort-policy.yaml --control-plane-addr ${c.controlPlane}`,
    `  hfi policy list --control-plane-addr ${c.controlPlane}`,
    ...(c.mode === 'k8s' ? ['Check the control plane: kubectl get pods -n boifi -l app=hfi-control-plane'] : []),
  ]);
}

/** Problem 2, step 2: the policy selector does not match the pod. */
export function fixSelector(c: FixContext): string {
  return steps([
    "Make the policy selector match the pod: `service` must equal the workload name or the pod's app label",
    '(app.kubernetes.io/name also counts), `namespace` the pod namespace; "" or "*" matches any. Example:',
    '  selector:',
    `    service: ${c.selector.includes('=') ? c.selector.split(',')[0]?.split('=')[1] : c.selector}`,
    `    namespace: ${c.namespace}`,
    `  hfi policy describe <policy> --control-plane-addr ${c.controlPlane}`,
    ...(c.mode === 'k8s' ? [`  kubectl get pod -n ${c.namespace} ${c.pod} --show-labels`] : []),
  ]);
}

/** The sidecar has not polled (or not applied the current revision from) the control plane. */
export function fixNotPolling(c: FixContext): string {
  return steps([
    `The plugin must poll the control plane at ${c.controlPlane}: check its control_plane_address`,
    c.mode === 'k8s'
      ? `(kubectl get wasmplugin -n ${c.namespace} -o yaml, pluginConfig) and the sidecar log for poll failures:\n` +
        `  kubectl logs -n ${c.namespace} ${c.pod} -c istio-proxy --tail=100 | grep -E "(wasm|hfi)"`
      : '(hfi sidecar --control-plane) and the sidecar log for poll failures ("hfi:" lines).',
  ]);
}

/** Problem 2, step 3: traffic does not reach the proxy. */
export function fixNoTraffic(c: FixContext): string {
  if (c.mode === 'local') {
    return steps([
      'Send the traffic through the sidecar listener (hfi sidecar --listen), not straight to the upstream:',
      '  curl -v http://<sidecar listen address>/',
    ]);
  }
  return steps([
    'Generate test traffic and check that it reaches the proxy:',
    `  kubectl exec -n ${c.namespace} ${c.pod} -c server -- curl -v http://localhost:8080/`,
    `  kubectl logs -n ${c.namespace} ${c.pod} -c istio-proxy --tail=20`,
    `If no traffic shows: check the Service (kubectl get svc -n ${c.namespace}) and the pod port configuration.`,
  ]);
}

/** Problem 2, step 4: the policy's match rules do not match the requests. */
export function fixMatchRules(c: FixContext): string {
  return steps([
    'Adjust the policy match rules to the requests (e.g. the policy has prefix: /api but requests go to /):',
    `  hfi policy describe <policy> --control-plane-addr ${c.controlPlane}`,
    'If the path does not match, update the path matcher; if headers do not match, remove or adjust them.',
  ]);
}

/** Problem 3: counters reset by a restart — expected. */
export function fixRestart(c: FixContext): string {
  return steps([
    'Expected: metrics are ephemeral, kept in the proxy memory; a restart starts them at 0 again.',
    'For history, let Prometheus scrape the sidecars regularly (every 15-30s) and query it:',
    '  wasmcustom_hfi_faults_aborts_total[1h]',
    ...(c.mode === 'local'
      ? ['A fault window measures deltas within one sidecar run: keep the sidecar up across it.']
      : []),
  ]);
}

/** Problem 4, steps 1 and 3: Prometheus does not scrape the sidecar. */
export function fixPrometheusNotScraping(c: FixContext): string {
  if (c.mode === 'local') {
    return steps([
      'Add the sidecar to the Prometheus scrape configuration:',
      '  - job_name: hfi-sidecars',
      '    metrics_path: /stats/prometheus',
      '    static_configs: [{ targets: ["<admin host:port>"] }]',
    ]);
  }
  return steps([
    'Prometheus must scrape port 15090 (/stats/prometheus) of the Istio sidecars. Check its scrape configuration:',
    '  kubectl get configmap -n prometheus prometheus-server -o yaml | grep -A 20 "kubernetes_sd_configs"',
    `  kubectl get pod -n ${c.namespace} ${c.pod} -o jsonpath='{.spec.containers[?(@.name=="istio-proxy")].ports}'`,
    `  kubectl get servicemonitor -n ${c.namespace}`,
  ]);
}

/** Problem 4, step 2: the target is down. */
export function fixTargetDown(c: FixContext): string {
  return steps([
    'Prometheus cannot reach the sidecar: a network policy or firewall blocks it. Test from the Prometheus pod:',
    c.mode === 'k8s'
      ? `  kubectl exec -n prometheus <prometheus-pod> -- curl -s http://<pod-ip>:15090/stats/prometheus | grep wasmcustom`
      : '  curl -s http://<admin host:port>/stats/prometheus | grep wasmcustom (from the Prometheus host)',
  ]);
}

/** Problem 4, steps 1 and 4: scraped, but the metrics do not reach Prometheus — relabeling drops them. */
export function fixRelabelDrop(): string {
  return steps([
    'Prometheus scrapes the sidecar but keeps none of the wasmcustom_hfi_faults_* series: a metric_relabel_configs',
    'rule drops them. Remove the rule (or exclude the wasmcustom_hfi_faults_.* names from it) and reload Prometheus.',
  ]);
}
