// `hfi doctor`: the seed's troubleshooting guide, run against local sidecars or a cluster, with the fix for each
// problem found. Exit 0 no problem, 1 a problem found, 2 the environment could not be checked.
import type { Command } from 'commander';
import { DEFAULT_K8S_NAMESPACE, DEFAULT_K8S_SELECTOR, diagnose } from '../../doctor/diagnose';
import { renderReport } from '../../doctor/render';
import { parseRequestSpec } from '../../doctor/request-spec';
import type { DiagnoseOptions, RequestSpec } from '../../doctor/types';
import type { CommandContext } from '../context';
import { parseDurationMs } from '../duration';
import { errorLine } from '../error-line';
import { ADDR_ENV, clientSettings } from '../global-options';

interface DoctorFlags {
  local?: boolean;
  k8s?: boolean;
  admin: string[];
  log: string[];
  namespace: string;
  selector: string;
  kubeconfig?: string;
  context?: string;
  prometheus?: string;
  request?: string;
  header: string[];
  baseline?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const DOCTOR_HELP = `
Checks, in the order of the metrics troubleshooting guide (Problems 1-5: not visible, not incrementing, lost after a
restart, missing in Prometheus, old names):
  1 plugin loaded  2 metrics visible (stats matcher)  3 metric names (old hfi.faults.*)  4 policy applied,
  selector, ack, traffic, match rules  5 restart (counters reset)  6 Prometheus targets and series (--prometheus)
Each prints ok, PROBLEM (with the fix) or "could not check".

Exit codes: 0 no problem found; 1 a problem was found; 2 the environment could not be checked (control plane,
sidecar admin, Prometheus or API server unreachable, or bad options).

Examples:
  hfi doctor --local --control-plane-addr http://127.0.0.1:8080 --admin http://127.0.0.1:15000
  hfi doctor --local --admin http://127.0.0.1:15000 --log sidecar.log --request 'GET /api' -H 'x-user: test'
  hfi doctor --k8s --namespace demo --selector app=frontend --control-plane-addr http://localhost:8080
`;

/** The control plane: the global flag or HFI_CONTROL_PLANE_ADDR; local mode also falls back to the default address. */
function controlPlaneFor(command: Command, ctx: CommandContext, k8s: boolean): { url?: string; token?: string } {
  const settings = clientSettings(command, ctx.io.env, (message) => ctx.usageError(command, message));
  const explicit =
    command.optsWithGlobals<{ controlPlaneAddr?: string }>().controlPlaneAddr !== undefined ||
    (ctx.io.env[ADDR_ENV] ?? '') !== '';
  return {
    ...(k8s && !explicit ? {} : { url: settings.url }),
    ...(settings.token ? { token: settings.token } : {}),
  };
}

function requestTimeoutMs(command: Command): number | undefined {
  const timeout = command.optsWithGlobals<{ timeout?: string }>().timeout;
  return timeout === undefined ? undefined : parseDurationMs(timeout);
}

export function registerDoctorCommand(program: Command, ctx: CommandContext): void {
  program
    .command('doctor')
    .description("diagnose why fault metrics do not show: the seed's troubleshooting checks, with their fixes")
    .option('--local', 'check local sidecars through their admin URLs (--admin)')
    .option('--k8s', 'check the pods of a cluster through the Kubernetes API (pods, logs, pod proxy)')
    .option('--admin <url>', 'local: a sidecar admin URL, e.g. http://127.0.0.1:15000 (repeatable)', collect, [])
    .option('--log <file>', 'local: the log file of the sidecar, in --admin order (repeatable)', collect, [])
    .option('--namespace <name>', 'k8s: the workloads namespace', DEFAULT_K8S_NAMESPACE)
    .option('--selector <labels>', 'k8s: pod label selector', DEFAULT_K8S_SELECTOR)
    .option('--kubeconfig <file>', 'k8s: kubeconfig file (default $KUBECONFIG, ~/.kube/config)')
    .option('--context <name>', 'k8s: kubeconfig context')
    .option('--prometheus <url>', 'also check that this Prometheus scrapes the sidecars and keeps the hfi series')
    .option('--request <request>', "a request that should be faulted, e.g. 'GET /api/users'")
    .option('-H, --header <header>', "a header of --request, 'name: value' (repeatable)", collect, [])
    .option('--baseline <file>', 'compare counters with this file from an earlier run (then update it)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', DOCTOR_HELP)
    .action(async (flags: DoctorFlags, command: Command) => {
      if (flags.local && flags.k8s) ctx.usageError(command, '--local and --k8s exclude each other');
      const k8s = flags.k8s === true;
      if (!k8s && flags.admin.length === 0) {
        ctx.usageError(command, 'local mode needs --admin URL (a sidecar admin address), or pass --k8s');
      }
      if (k8s && (flags.admin.length > 0 || flags.log.length > 0)) {
        ctx.usageError(command, '--admin and --log are for --local');
      }
      if (flags.log.length > flags.admin.length) ctx.usageError(command, 'more --log files than --admin URLs');
      if (flags.header.length > 0 && flags.request === undefined) ctx.usageError(command, '-H needs --request');
      try {
        const request: RequestSpec | undefined =
          flags.request === undefined ? undefined : parseRequestSpec(flags.request, flags.header);
        const cp = controlPlaneFor(command, ctx, k8s);
        const timeoutMs = requestTimeoutMs(command);
        const common = {
          ...(cp.url ? { controlPlane: cp.url } : {}),
          ...(cp.token ? { token: cp.token } : {}),
          ...(flags.prometheus ? { prometheus: flags.prometheus } : {}),
          ...(request ? { request } : {}),
          ...(flags.baseline ? { baselineFile: flags.baseline } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        };
        const options: DiagnoseOptions = k8s
          ? {
              mode: 'k8s',
              namespace: flags.namespace,
              selector: flags.selector,
              ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
              ...(flags.context ? { context: flags.context } : {}),
              ...common,
            }
          : {
              mode: 'local',
              sidecars: flags.admin.map((admin, i) => ({
                admin,
                ...(flags.log[i] ? { logFile: flags.log[i] } : {}),
              })),
              ...common,
            };
        const report = await diagnose(options);
        ctx.print(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
        ctx.exitCode = report.exitCode;
      } catch (err) {
        // Bad options or baseline: nothing could be checked.
        ctx.io.stderr.write(`${errorLine(err)}\n`);
        ctx.exitCode = 2;
      }
    });
}
