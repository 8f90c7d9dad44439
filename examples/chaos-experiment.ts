// A chaos experiment against the shop, written with the SDK directly (no test runner). It measures a steady-state
// hypothesis (the shop page stays available and fast), then opens fault windows on the catalog one after the
// other, checks the hypothesis during each and after the rollback, and prints a report. Exit code: 0 held,
// 1 the hypothesis broke, 2 inconclusive or could not run, 130 interrupted.
//
//   npm run demo                                   # builds if needed, then runs this on a local mesh
//   node -r ./examples/chaos/register-ts.js examples/chaos-experiment.ts [options]
//
// By default everything starts in this process: the shop, the control plane and a local sidecar per service
// running the real plugin.wasm. With --control-plane it connects to running ones instead.
import { parseArgs } from 'node:util';
import { DirectSource, type DirectTarget, HfiClient } from '@hfi/sdk';
import { runExperiment } from './chaos/experiment';
import { type LocalShopMesh, startLocalShopMesh } from './chaos/local-mesh';
import { Progress, type ProgressStream } from './chaos/progress';
import { exitCodeFor, formatReport } from './chaos/report';
import { type Profile, shopExperiment } from './chaos/shop-experiment';

export const USAGE = `usage: chaos-experiment [options]
  --profile full|short     how long each fault window runs (short: 2 s, for tests); default full
  --break                  run the shop without its fallback, so the hypothesis breaks (local mesh only)
  --control-plane URL      use a running control plane instead of starting a local mesh; then also:
  --frontend URL             the frontend as callers reach it (its sidecar), e.g. http://127.0.0.1:15001
  --stats POD=URL            a sidecar admin endpoint to read metrics from (repeat for each sidecar)
  --namespace NS             the services' namespace; default shop
  -h, --help`;

export interface ExperimentIo {
  out: ProgressStream;
  err: ProgressStream;
}

interface Flags {
  profile: Profile;
  break: boolean;
  namespace: string;
  connect?: { controlPlane: string; frontend: string; stats: DirectTarget[] };
}

class UsageError extends Error {}

function parseFlags(argv: string[]): Flags | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const profile = v.profile ?? 'full';
  if (profile !== 'full' && profile !== 'short')
    throw new UsageError(`--profile must be full or short, not ${profile}`);
  const flags: Flags = { profile, break: v.break === true, namespace: v.namespace ?? 'shop' };
  if (v['control-plane'] === undefined) {
    if (v.frontend !== undefined || v.stats !== undefined) {
      throw new UsageError('--frontend and --stats go with --control-plane');
    }
    return flags;
  }
  if (flags.break) throw new UsageError('--break needs the local mesh (it starts the shop without its fallback)');
  if (v.frontend === undefined) throw new UsageError('--control-plane needs --frontend');
  if (v.stats === undefined || v.stats.length === 0) throw new UsageError('--control-plane needs at least one --stats');
  const stats = v.stats.map((s): DirectTarget => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--stats takes POD=URL, got ${s}`);
    return { pod: s.slice(0, eq), url: s.slice(eq + 1) };
  });
  flags.connect = { controlPlane: v['control-plane'], frontend: v.frontend, stats };
  return flags;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      profile: { type: 'string' },
      break: { type: 'boolean' },
      'control-plane': { type: 'string' },
      frontend: { type: 'string' },
      stats: { type: 'string', multiple: true },
      namespace: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function errorText(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && code.startsWith('HFI_ERR_') ? `${message} (${code})` : message;
}

/** Runs the experiment and resolves with the exit code; every process and server it started is stopped. */
export async function main(
  argv: string[],
  io: ExperimentIo = { out: process.stdout, err: process.stderr },
): Promise<number> {
  let flags: Flags | 'help';
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err.write(`${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (flags === 'help') {
    io.out.write(`${USAGE}\n`);
    return 0;
  }

  const progress = new Progress(io.out);
  const controller = new AbortController();
  const onSignal = () => {
    // A second signal while rolling back: give up waiting.
    if (controller.signal.aborted) process.exit(130);
    progress.step('interrupted: stopping traffic and rolling back the open window');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Sidecar log lines are kept, not printed: they only matter when something failed.
  const logs: string[] = [];
  const keepLog = (line: string) => {
    logs.push(line);
    if (logs.length > 40) logs.shift();
  };
  let mesh: LocalShopMesh | undefined;
  let metrics: DirectSource | undefined;
  let hfi: HfiClient | undefined;
  try {
    let controlPlane: string;
    let frontend: string;
    let where: string[];
    if (flags.connect) {
      ({ controlPlane, frontend } = flags.connect);
      metrics = new DirectSource(flags.connect.stats);
      where = [`control plane ${controlPlane}`, `frontend ${frontend}`, `metrics ${metrics.describe()}`];
    } else {
      progress.step(
        `starting the shop${flags.break ? ' WITHOUT its fallback (--break)' : ''}, the control plane and two local sidecars (plugin.wasm)`,
      );
      mesh = await startLocalShopMesh({ namespace: flags.namespace, fallback: !flags.break, logSink: keepLog });
      controlPlane = mesh.controlPlaneUrl;
      frontend = mesh.frontendUrl;
      metrics = new DirectSource(mesh.statsTargets);
      where = [
        `control plane ${controlPlane} (memory store, in this process)`,
        `frontend ${frontend} (its sidecar) → frontend ${mesh.shop.frontend.url}` +
          `${flags.break ? ' (no fallback)' : ''} → catalog sidecar ${mesh.shop.catalogUrl} → catalog ${mesh.shop.catalog.url}`,
        `metrics ${metrics.describe()}`,
      ];
    }
    hfi = new HfiClient({ controlPlane, metrics, ackTimeoutMs: 15_000, flushTimeoutMs: 15_000 });
    const experiment = shopExperiment({ namespace: flags.namespace, profile: flags.profile });
    const report = await runExperiment(experiment, {
      hfi,
      url: new URL('/shop', frontend).toString(),
      progress,
      signal: controller.signal,
    });
    io.out.write(`\n${formatReport(report, where)}`);
    return exitCodeFor(report.verdict);
  } catch (err) {
    io.err.write(`the chaos experiment could not run: ${errorText(err)}\n`);
    if (logs.length > 0) io.err.write(`last sidecar log lines:\n${logs.join('\n')}\n`);
    return 2;
  } finally {
    // The rollback of last resort: any window still open is closed before the mesh goes away.
    await hfi?.close().catch((err: unknown) => io.err.write(`closing fault windows failed: ${errorText(err)}\n`));
    await metrics?.close();
    await mesh?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
