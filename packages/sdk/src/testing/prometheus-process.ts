// Runs a real Prometheus server (the `prometheus` binary on PATH; Debian's package in CI) for tests: a temp dir for
// its config and TSDB, a free loopback port, and a wait on `/-/ready`. Prometheus cannot report an ephemeral port
// back, so a free one is found by binding port 0 and releasing it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfiError } from '@hfi/core';
import { stringify } from 'yaml';

export interface StaticScrapeJob {
  jobName: string;
  /** `host:port` of each target. */
  targets: string[];
  /** Target labels, as a service discovery would attach them (`pod`, `namespace`, ...). */
  labels?: Record<string, string>;
  metricsPath?: string;
  scrapeInterval?: string;
}

export interface PrometheusProcessOptions {
  /** Static scrape jobs; several entries with the same jobName become several static_configs of one job. */
  jobs: StaticScrapeJob[];
  /** Default `1s`. */
  scrapeInterval?: string;
  /** Default 60000 ms. */
  readyTimeoutMs?: number;
}

export interface PrometheusProcess extends AsyncDisposable {
  readonly url: string;
  /** Everything Prometheus logged so far. */
  readonly log: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function configYaml(options: PrometheusProcessOptions): string {
  const interval = options.scrapeInterval ?? '1s';
  const jobs = new Map<string, Record<string, unknown>>();
  for (const job of options.jobs) {
    let entry = jobs.get(job.jobName);
    if (entry === undefined) {
      entry = {
        job_name: job.jobName,
        metrics_path: job.metricsPath ?? '/stats/prometheus',
        ...(job.scrapeInterval ? { scrape_interval: job.scrapeInterval } : {}),
        static_configs: [],
      };
      jobs.set(job.jobName, entry);
    }
    (entry.static_configs as unknown[]).push({ targets: job.targets, ...(job.labels ? { labels: job.labels } : {}) });
  }
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [...jobs.values()],
  });
}

export async function startPrometheus(options: PrometheusProcessOptions): Promise<PrometheusProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'hfi-prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), configYaml(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const append = (chunk: Buffer): void => {
    log += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    const failure = await Promise.race([
      spawnError,
      exited.then(() => new Error(`prometheus exited with ${child.exitCode ?? child.signalCode}: ${log}`)),
      fetch(`${url}/-/ready`).then(
        (res) => (res.status === 200 ? null : undefined),
        () => undefined,
      ),
    ]);
    if (failure === null) break;
    if (failure !== undefined || Date.now() > deadline) {
      await stop();
      throw new HfiError('HFI_ERR_TIMEOUT', `Prometheus did not become ready on ${url}`, {
        cause: failure ?? undefined,
        details: { log },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    get log() {
      return log;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
