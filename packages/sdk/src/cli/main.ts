// Entry point of the `hfi` binary (bin/hfi.js).
import { runCli } from './program';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `hfi policy list | head`: a reader that goes away is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  process.exitCode = await runCli(argv);
}
