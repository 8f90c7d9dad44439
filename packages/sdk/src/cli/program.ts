// The `hfi` command tree (commander) and the function that runs it and returns the exit code.
import { Command, CommanderError } from 'commander';
import { SDK_VERSION } from '../version';
import { registerControlPlaneCommand } from './commands/control-plane';
import { registerDoctorCommand } from './commands/doctor';
import { registerK8sCommands } from './commands/k8s';
import { registerMetricsCommand } from './commands/metrics';
import { registerNodesCommand } from './commands/nodes';
import { registerPolicyCommands } from './commands/policy';
import { registerSidecarCommand } from './commands/sidecar';
import { CommandContext } from './context';
import { errorLine } from './error-line';
import { addGlobalOptions } from './global-options';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo } from './io';

const EXIT_CODES_HELP = `
Exit codes: 0 success; 1 the command failed (one line "Error: <message> (HFI_ERR_...)" on stderr);
2 the command line was wrong (the error and a usage hint on stderr).
`;

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current !== null; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

// A short usage hint after a usage error, instead of commander's full help or nothing.
function addUsageHints(command: Command): void {
  const path = commandPath(command);
  command.showHelpAfterError(`Usage: ${path} ${command.usage()}\nRun '${path} --help' for details.`);
  for (const sub of command.commands) addUsageHints(sub);
}

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('hfi')
    .description('HTTP fault injection for Istio/Envoy meshes: manage policies on an hfi control plane, or run one')
    .version(SDK_VERSION, '-V, --version', 'print the hfi version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'Error: ')),
    })
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXIT_CODES_HELP);
  addGlobalOptions(program);
  registerPolicyCommands(program, ctx);
  registerNodesCommand(program, ctx);
  registerMetricsCommand(program, ctx);
  registerControlPlaneCommand(program, ctx);
  registerK8sCommands(program, ctx);
  registerSidecarCommand(program, ctx);
  registerDoctorCommand(program, ctx);
  addUsageHints(program);
  return program;
}

/** Runs `hfi` with `argv` (arguments after the program name) and resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const ctx = new CommandContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    io.stderr.write(`${errorLine(err)}\n`);
    return EXIT_FAILURE;
  }
}
