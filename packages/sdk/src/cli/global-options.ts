// The options every client command shares: where the control plane is, the token, and the call timeout.
import { HfiError } from '@hfi/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseControlPlaneUrl } from '../client/control-plane-client';
import { parseDurationMs } from './duration';

export const DEFAULT_CONTROL_PLANE_ADDR = 'http://localhost:8080';
export const DEFAULT_TIMEOUT = '30s';
export const ADDR_ENV = 'HFI_CONTROL_PLANE_ADDR';
export const TOKEN_ENV = 'HFI_TOKEN';

export interface ClientSettings {
  url: string;
  token?: string;
  timeoutMs: number;
}

function addrProblem(value: string): string | undefined {
  try {
    parseControlPlaneUrl(value);
    return undefined;
  } catch (err) {
    return err instanceof HfiError ? err.message : String(err);
  }
}

function parseAddr(value: string): string {
  const problem = addrProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
}

function timeoutProblem(value: string): string | undefined {
  const ms = parseDurationMs(value);
  if (ms === undefined) return `"${value}" is not a duration; use e.g. 30s, 500ms or 1m30s`;
  if (ms <= 0) return 'the timeout must be greater than zero';
  return undefined;
}

function parseTimeout(value: string): string {
  const problem = timeoutProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
}

/** Declares the shared options on the root command; they are accepted before or after the subcommand. */
export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(
      new Option(
        '--control-plane-addr <url>',
        `control plane URL, http or https (env ${ADDR_ENV}; default ${DEFAULT_CONTROL_PLANE_ADDR})`,
      ).argParser(parseAddr),
    )
    .addOption(new Option('--token <token>', `bearer token for the control plane (env ${TOKEN_ENV})`))
    .addOption(
      new Option(
        '--timeout <duration>',
        `limit for each call to the control plane (default ${DEFAULT_TIMEOUT})`,
      ).argParser(parseTimeout),
    );
}

/**
 * Resolves flags, then environment, then defaults. Environment values are checked like flags; a bad one is
 * reported through `usageError`, which does not return.
 */
export function clientSettings(
  command: Command,
  env: Record<string, string | undefined>,
  usageError: (message: string) => never,
): ClientSettings {
  const opts = command.optsWithGlobals<{ controlPlaneAddr?: string; token?: string; timeout?: string }>();
  let url = opts.controlPlaneAddr;
  if (url === undefined) {
    const fromEnv = env[ADDR_ENV];
    if (fromEnv !== undefined && fromEnv !== '') {
      const problem = addrProblem(fromEnv);
      if (problem !== undefined) usageError(`${ADDR_ENV}: ${problem}`);
      url = fromEnv;
    } else {
      url = DEFAULT_CONTROL_PLANE_ADDR;
    }
  }
  const token = opts.token ?? (env[TOKEN_ENV] === '' ? undefined : env[TOKEN_ENV]);
  const timeoutMs = parseDurationMs(opts.timeout ?? DEFAULT_TIMEOUT) as number;
  return { url, ...(token === undefined ? {} : { token }), timeoutMs };
}
