// `hfi k8s`: what running hfi in an Istio mesh takes — the manifests, the Grafana dashboard and example alerts.
import type { Command } from 'commander';
import { dashboardJson, renderManifests, renderPrometheusRule } from '../../k8s/index';
import { TOKEN_SECRET, TOKEN_SECRET_KEY } from '../../k8s/manifests/names';
import { DEFAULT_ETCD_IMAGE, DEFAULT_IMAGE, MANIFEST_DEFAULTS } from '../../k8s/manifests/options';
import type { CommandContext } from '../context';

interface ManifestFlags {
  namespace: string;
  targetNamespace: string;
  targetSelector: string;
  replicas: string;
  etcdReplicas: string;
  image: string;
  etcdImage: string;
  pluginSha256?: string;
  clusterDomain: string;
  envoyfilter: boolean;
  dashboard: boolean;
  prometheusRule?: boolean;
  output: string;
}

const MANIFESTS_HELP = `
Prints the manifests on standard output; a bad value is reported on one line and exits 1.
  Namespace <namespace>          the control plane: Deployment, Service, PodDisruptionBudget and the token Secret;
                                 etcd: StatefulSet with a volume per member, headless peer and client Services
  WasmPlugin, EnvoyFilter        in <target-namespace>: the plugin, fetched from the control plane's
                                 GET /v1/plugin.wasm and checked against the sha256 of this hfi's plugin.wasm
  ConfigMap                      the Grafana dashboard (also: hfi k8s dashboard)
  PrometheusRule                 with --prometheus-rule only (needs the Prometheus Operator; also: hfi k8s prometheus-rules)

The global --token sets the control plane's token (kept in Secret ${TOKEN_SECRET}); without it a random one is
generated (HFI_TOKEN is not read here, so a local token never slips into manifests). Read it back with
  kubectl get secret -n <namespace> ${TOKEN_SECRET} -o jsonpath='{.data.${TOKEN_SECRET_KEY}}' | base64 -d

Examples:
  hfi k8s manifests > mesh.yaml && kubectl apply -f mesh.yaml
  hfi k8s manifests --target-namespace shop --target-selector app=checkout --image registry.local/hfi:dev
`;

/** The root command's --token, only when given on the command line. */
function tokenFromCommandLine(command: Command): string | undefined {
  let root = command;
  while (root.parent !== null) root = root.parent;
  return root.getOptionValueSource('token') === 'cli' ? root.opts<{ token?: string }>().token : undefined;
}

export function registerK8sCommands(program: Command, ctx: CommandContext): void {
  const k8s = program
    .command('k8s')
    .description('deploy hfi to an Istio mesh: Kubernetes manifests, a Grafana dashboard, example alerts');

  k8s
    .command('manifests')
    .description('print the manifests that run the control plane, etcd and the plugin in an Istio mesh')
    .option('--namespace <name>', 'namespace of the control plane and etcd', MANIFEST_DEFAULTS.namespace)
    .option(
      '--target-namespace <name>',
      'namespace of the workloads to inject faults into',
      MANIFEST_DEFAULTS.targetNamespace,
    )
    .option(
      '--target-selector <labels>',
      'pod labels the plugin applies to, key=value[,key=value]; "" for every workload in the target namespace',
      MANIFEST_DEFAULTS.targetSelector,
    )
    .option('--replicas <n>', 'control plane replicas', String(MANIFEST_DEFAULTS.replicas))
    .option('--etcd-replicas <n>', 'etcd members, an odd number', String(MANIFEST_DEFAULTS.etcdReplicas))
    .option(
      '--image <ref>',
      'control plane image: a placeholder until one is published; override it with an image that has hfi on its PATH',
      DEFAULT_IMAGE,
    )
    .option('--etcd-image <ref>', 'etcd image', DEFAULT_ETCD_IMAGE)
    .option(
      '--plugin-sha256 <hex>',
      "sha256 of the plugin.wasm the image serves (default: this hfi's bundled plugin.wasm)",
    )
    .option('--cluster-domain <domain>', 'the cluster DNS domain', MANIFEST_DEFAULTS.clusterDomain)
    .option('--no-envoyfilter', 'leave out the EnvoyFilter that adds the plugin metrics to the stats inclusion list')
    .option('--no-dashboard', 'leave out the Grafana dashboard ConfigMap')
    .option('--prometheus-rule', 'add the PrometheusRule with the example alerts')
    .option(
      '-o, --output <format>',
      'yaml (multi-document, with comments) or json (a v1 List)',
      MANIFEST_DEFAULTS.output,
    )
    .addHelpText('after', MANIFESTS_HELP)
    .action((flags: ManifestFlags, command: Command) => {
      try {
        const token = tokenFromCommandLine(command);
        const rendered = renderManifests({
          namespace: flags.namespace,
          targetNamespace: flags.targetNamespace,
          targetSelector: flags.targetSelector,
          replicas: flags.replicas,
          etcdReplicas: flags.etcdReplicas,
          image: flags.image,
          etcdImage: flags.etcdImage,
          clusterDomain: flags.clusterDomain,
          envoyFilter: flags.envoyfilter,
          dashboard: flags.dashboard,
          prometheusRule: flags.prometheusRule === true,
          output: flags.output,
          ...(token === undefined ? {} : { token }),
          ...(flags.pluginSha256 === undefined ? {} : { pluginSha256: flags.pluginSha256 }),
        });
        ctx.print(rendered.text);
        if (rendered.tokenGenerated) {
          ctx.io.stderr.write(
            `Generated a random control plane token into Secret ${rendered.options.namespace}/${TOKEN_SECRET}; ` +
              'pass --token to choose one.\n',
          );
        }
      } catch (err) {
        ctx.fail(err);
      }
    });

  k8s
    .command('dashboard')
    .description('print the Grafana dashboard JSON for the plugin metrics')
    .action(() => {
      ctx.print(dashboardJson());
    });

  k8s
    .command('prometheus-rules')
    .description('print a PrometheusRule with example alerts on the plugin metrics')
    .option('--namespace <name>', 'namespace of the PrometheusRule', MANIFEST_DEFAULTS.namespace)
    .option('-o, --output <format>', 'yaml or json', MANIFEST_DEFAULTS.output)
    .action((flags: { namespace: string; output: string }) => {
      try {
        ctx.print(renderPrometheusRule({ namespace: flags.namespace, output: flags.output }));
      } catch (err) {
        ctx.fail(err);
      }
    });
}
