// What every command action gets: the streams, error reporting, and a client built from the flags.
import type { Command } from 'commander';
import { ControlPlaneClient } from '../client/control-plane-client';
import { type ErrorContext, errorLine } from './error-line';
import { clientSettings } from './global-options';
import { type CliIo, EXIT_FAILURE, EXIT_OK } from './io';

export const USAGE_ERROR_CODE = 'hfi.usage';

export class CommandContext {
  exitCode = EXIT_OK;

  constructor(readonly io: CliIo) {}

  print(text: string): void {
    this.io.stdout.write(text);
  }

  /** Reports a command-line mistake the way commander reports its own (message, usage hint, exit 2). */
  usageError(command: Command, message: string): never {
    return command.error(`error: ${message}`, { exitCode: 2, code: USAGE_ERROR_CODE });
  }

  /** Prints the one-line error and makes the command exit 1. */
  fail(err: unknown, context: ErrorContext = {}): void {
    this.io.stderr.write(`${errorLine(err, context)}\n`);
    this.exitCode = EXIT_FAILURE;
  }

  /**
   * Runs `fn` with a client built from the flags and environment, closes it afterwards, and turns a failure
   * into the one-line error.
   */
  async withClient(
    command: Command,
    fn: (client: ControlPlaneClient) => Promise<void>,
    context: ErrorContext = {},
  ): Promise<void> {
    const settings = clientSettings(command, this.io.env, (message) => this.usageError(command, message));
    const client = new ControlPlaneClient({ url: settings.url, token: settings.token, timeoutMs: settings.timeoutMs });
    try {
      await fn(client);
    } catch (err) {
      this.fail(err, context);
    } finally {
      await client.close();
    }
  }
}
