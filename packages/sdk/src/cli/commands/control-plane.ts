// `hfi control-plane`: runs the policy server in this process until SIGINT/SIGTERM.
import { type ControlPlaneFlags, resolveControlPlaneConfig, runControlPlane } from '@hfi/control-plane';
import type { Command } from 'commander';
import type { CommandContext } from '../context';

export function registerControlPlaneCommand(program: Command, ctx: CommandContext): void {
  program
    .command('control-plane')
    .description('run the control plane (the /v1 policy API) in the foreground until SIGINT or SIGTERM')
    .option('--listen <host:port>', 'address to listen on (env LISTEN_ADDR; default 127.0.0.1:8080)')
    .option(
      '--store <backend>',
      'policy store: memory, file:PATH or etcd:ENDPOINTS (env STORAGE_BACKEND; default memory)',
    )
    .option('--storage <backend>', "the reference's spelling of --store: memory, file or etcd")
    .option('--etcd-endpoints <list>', 'comma-separated etcd endpoints for --storage etcd (env ETCD_ENDPOINTS)')
    .option('--insecure', 'allow a non-loopback --listen address without a token (env HFI_INSECURE)')
    .option('--max-delay-ms <n>', 'largest fixed_delay_ms accepted (env HFI_MAX_DELAY_MS; default 30000)')
    .option('--watch-timeout-ms <n>', 'how long a watch is held by default (env HFI_WATCH_TIMEOUT_MS; default 25000)')
    .option('--node-stale-ms <n>', 'a sidecar silent this long is stale (env HFI_NODE_STALE_MS; default 60000)')
    .option('--log-level <level>', 'debug, info, warn or error (env LOG_LEVEL; default info)')
    .addHelpText(
      'after',
      '\nThe global --token (env HFI_TOKEN) makes every write (POST, PUT, DELETE) require\n' +
        '"Authorization: Bearer <token>". Without a token the control plane listens only on loopback addresses\n' +
        'unless --insecure is given.\n',
    )
    .action(async (opts: ControlPlaneFlags, command: Command) => {
      const globals = command.optsWithGlobals<{ token?: string }>();
      // The token is a global option (the client commands send it); hand it over only when given on the command line,
      // so the control plane's own HFI_TOKEN handling applies otherwise.
      const tokenFromFlag = command.parent?.getOptionValueSource('token') === 'cli' ? globals.token : undefined;
      try {
        const config = resolveControlPlaneConfig({
          flags: { ...opts, ...(tokenFromFlag === undefined ? {} : { token: tokenFromFlag }) },
          env: ctx.io.env,
        });
        const running = await runControlPlane(config);
        await running.stopped;
      } catch (err) {
        ctx.fail(err);
      }
    });
}
