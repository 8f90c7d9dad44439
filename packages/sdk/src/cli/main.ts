// Entry point of the `hfi` binary (bin/hfi.js).
import { runCli } from './program';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv);
}
