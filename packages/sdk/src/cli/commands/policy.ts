// `hfi policy apply|list|get|describe|delete|status`.
import type { Policy } from '@hfi/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from '../context';
import { type OutputFormat, outputOption, serialize } from '../format/output';
import { describePolicy, policyTable } from '../format/policy-text';
import { policyStatusText } from '../format/status-text';
import { applyOverrides, loadValidPolicies } from '../policy-input';

const RESOURCE = 'faultinjectionpolicy.hfi.dev';

function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number >= 0');
  return Number(value);
}

export function registerPolicyCommands(program: Command, ctx: CommandContext): void {
  const policy = program.command('policy').description('manage fault injection policies');

  policy
    .command('apply')
    .description('create or replace the policies in a YAML or JSON file (every document of a multi-document file)')
    .requiredOption('-f, --filename <file>', 'policy file, YAML or JSON; "-" reads standard input')
    .addOption(
      new Option('--start-delay-ms <n>', 'when n > 0, set start_delay_ms on every rule of every policy').argParser(
        parseNonNegativeInt,
      ),
    )
    .addOption(
      new Option('--duration-seconds <n>', 'when n > 0, set duration_seconds on every rule of every policy').argParser(
        parseNonNegativeInt,
      ),
    )
    .addHelpText(
      'after',
      '\nEvery document is checked before anything is sent; one invalid document applies nothing.\n' +
        '--start-delay-ms and --duration-seconds change every rule (the reference CLI changed only the first).\n' +
        'Examples:\n  hfi policy apply -f examples/policies/basic/abort-policy.yaml\n' +
        '  cat policy.yaml | hfi policy apply -f - --duration-seconds 60\n',
    )
    .action(async (opts: { filename: string; startDelayMs?: number; durationSeconds?: number }, command: Command) => {
      let policies: Policy[];
      try {
        policies = await loadValidPolicies(opts.filename, ctx.io.stdin);
      } catch (err) {
        ctx.fail(err);
        return;
      }
      const overrides = { startDelayMs: opts.startDelayMs, durationSeconds: opts.durationSeconds };
      await ctx.withClient(command, async (client) => {
        for (const each of policies) {
          const stored = await client.applyPolicy(applyOverrides(each, overrides));
          ctx.print(`${RESOURCE} "${stored.metadata.name}" applied\n`);
        }
      });
    });

  const showPolicies = async (name: string | undefined, format: OutputFormat, command: Command) => {
    await ctx.withClient(
      command,
      async (client) => {
        if (name !== undefined) {
          const one = await client.getPolicy(name);
          ctx.print(format === 'table' ? policyTable([one]) : serialize(format, one));
          return;
        }
        const { policies } = await client.listPolicies();
        ctx.print(format === 'table' ? policyTable(policies) : serialize(format, policies));
      },
      name === undefined ? {} : { policyName: name },
    );
  };

  policy
    .command('list')
    .description('list every policy (table: NAME, RULES, MATCHES, FAULTS; yaml and json show everything)')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, command: Command) => showPolicies(undefined, opts.output, command));

  policy
    .command('get')
    .description('show one policy, or all of them when no name is given')
    .argument('[name]', 'policy name')
    .addOption(outputOption())
    .action(async (name: string | undefined, opts: { output: OutputFormat }, command: Command) =>
      showPolicies(name, opts.output, command),
    );

  policy
    .command('describe')
    .description('show a policy in detail: selector, every rule, its match conditions, faults and status')
    .argument('<name>', 'policy name')
    .addOption(outputOption())
    .action(async (name: string, opts: { output: OutputFormat }, command: Command) => {
      await ctx.withClient(
        command,
        async (client) => {
          const one = await client.getPolicy(name);
          ctx.print(opts.output === 'table' ? describePolicy(one) : serialize(opts.output, one));
        },
        { policyName: name },
      );
    });

  policy
    .command('delete')
    .description('delete a policy (no confirmation)')
    .argument('<name>', 'policy name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await ctx.withClient(
        command,
        async (client) => {
          await client.deletePolicy(name);
          ctx.print(`${RESOURCE} "${name}" deleted\n`);
        },
        { policyName: name },
      );
    });

  policy
    .command('status')
    .description('summary: how many policies there are, by fault type, and which are active')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, command: Command) => {
      await ctx.withClient(command, async (client) => {
        const report = await client.policyStatus();
        ctx.print(opts.output === 'table' ? policyStatusText(report) : serialize(opts.output, report));
      });
    });
}
