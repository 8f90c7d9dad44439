// `hfi nodes`: the sidecars polling the control plane and the revision each has applied.
import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { type OutputFormat, outputOption, serialize } from '../format/output';
import { nodesText } from '../format/status-text';

export function registerNodesCommand(program: Command, ctx: CommandContext): void {
  program
    .command('nodes')
    .description('list the sidecars that poll the control plane and the policy revision each has applied')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, command: Command) => {
      await ctx.withClient(command, async (client) => {
        const list = await client.nodes();
        ctx.print(opts.output === 'table' ? nodesText(list) : serialize(opts.output, list));
      });
    });
}
