// `hfi sidecar`: a local stand-in for the Istio sidecar (the real plugin.wasm in the Node host) until SIGINT/SIGTERM.
// Its flags belong to @hfi/filter's parser, so commander passes them through untouched.
import { runSidecarCli } from '@hfi/filter';
import type { Command } from 'commander';
import type { CommandContext } from '../context';

export function registerSidecarCommand(program: Command, ctx: CommandContext): void {
  program
    .command('sidecar')
    .description('run a local sidecar: an HTTP proxy running plugin.wasm with Envoy admin endpoints (--help for flags)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]')
    .action(async (flags: string[]) => {
      try {
        const sidecar = await runSidecarCli(flags, { stdout: (text) => ctx.io.stdout.write(text) });
        if (sidecar === undefined) return;
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await sidecar.close();
      } catch (err) {
        ctx.fail(err);
      }
    });
}
