// A real Prometheus (the `prometheus` binary on PATH) with the scrape configuration a test writes in full, including
// `metric_relabel_configs`, which the shared static-jobs launcher (testing/prometheus-process.ts) does not express.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

export async function startPrometheusWith(scrapeConfigs: Record<string, unknown>[]): Promise<RunningPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-doctor-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(
    config,
    stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, scrape_configs: scrapeConfigs }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, stop };
}

/** Until Prometheus has scraped `address` successfully (its target is up). */
export async function waitForTargetUp(prometheus: string, address: string): Promise<void> {
  for (;;) {
    const body = (await (await fetch(`${prometheus}/api/v1/targets`)).json()) as {
      data: { activeTargets: { scrapeUrl: string; health: string }[] };
    };
    if (body.data.activeTargets.some((t) => t.scrapeUrl.includes(address) && t.health === 'up')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Until an instant query returns at least one series. */
export async function waitForSeries(prometheus: string, promql: string): Promise<void> {
  for (;;) {
    const body = (await (await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as {
      data: { result: unknown[] };
    };
    if (body.data.result.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
