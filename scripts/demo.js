// `npm run demo`: builds hfi when it is not built yet, then runs the chaos experiment (examples/chaos-experiment.ts)
// against the example shop on a local mesh — the control plane and a sidecar per service running the real
// plugin.wasm — and prints its report. Everything runs in this one process (the build is the only child, and it is
// stopped on Ctrl-C), so nothing is left behind. The exit code is the experiment's: 0 the hypothesis held,
// 1 it broke, 2 inconclusive or could not run, 130 interrupted.
//
//   npm run demo                     the experiment; should pass thanks to the shop's fallback
//   npm run demo -- --break          the same faults on a shop without its fallback; the hypothesis breaks (exit 1)
//   npm run demo -- --profile short  shorter fault windows
//   npm run demo -- --build          build first even when built; --no-build: never build
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
/** What the demo runs from: the plugin and every package it loads, built. */
const ARTIFACTS = [
  'packages/filter/plugin.wasm',
  'packages/core/dist/index.js',
  'packages/control-plane/dist/index.js',
  'packages/filter/dist/index.js',
  'packages/sdk/dist/index.js',
];
const BUILD_FLAGS = new Set(['--build', '--no-build']);

function missingArtifacts() {
  return ARTIFACTS.filter((file) => !existsSync(path.join(root, file)));
}

/** Runs `npm run build` with one progress line; resolves with its exit code. */
function build(reason) {
  const out = process.stdout;
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  out.write(`building hfi (plugin.wasm and the packages) because ${reason}…${out.isTTY ? '' : '\n'}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // Its own process group, so an interrupt stops npm and everything npm started.
  const child = spawn(npm, ['run', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = [];
  const keep = (chunk) => {
    log.push(chunk.toString());
    if (log.length > 200) log.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = out.isTTY
    ? setInterval(() => out.write(`\r\x1b[Kbuilding hfi (plugin.wasm and the packages)… ${elapsed()}`), 500)
    : undefined;
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (out.isTTY) out.write('\r\x1b[K');
      if (code === 0) {
        out.write(`built hfi in ${elapsed()}\n`);
        resolve(0);
      } else if (signal) {
        out.write(`\nthe build was interrupted (${signal})\n`);
        resolve(130);
      } else {
        out.write(`\nthe build failed (exit code ${code}); its last output:\n${log.join('').slice(-4000)}\n`);
        resolve(2);
      }
    });
  });
}

async function run() {
  const args = process.argv.slice(2);
  const experimentArgs = args.filter((a) => !BUILD_FLAGS.has(a));
  const help = args.includes('--help') || args.includes('-h');
  const missing = missingArtifacts();
  if (!help && (args.includes('--build') || missing.length > 0)) {
    if (args.includes('--no-build')) {
      process.stderr.write(`hfi is not built (missing ${missing.join(', ')}): run npm run build\n`);
      return 2;
    }
    const code = await build(missing.length > 0 ? `${missing[0]} is missing` : '--build was given');
    if (code !== 0) return code;
  }
  // The experiment is TypeScript, compiled as it loads; its @hfi/* imports resolve to the built packages.
  require(path.join(root, 'examples/chaos/register-ts.js'));
  const { main } = require(path.join(root, 'examples/chaos-experiment.ts'));
  if (help) {
    process.stdout.write('npm run demo -- [--build | --no-build] [experiment options]\n');
  }
  return main(experimentArgs);
}

run().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`the demo failed: ${err?.stack ?? err}\n`);
    process.exit(2);
  },
);
