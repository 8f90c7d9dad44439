// A real Prometheus (the `prometheus` binary on PATH; Debian's package in CI) for tests that scrape the local
// sidecar: a builder for the scrape configuration, then a started server in a temp dir, on an ephemeral loopback
// port, ready (`/-/ready`) before start() resolves, removed again by close() or `await using`.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfiError } from '@hfi/core';

/** One rule of `metric_relabel_configs`, in prometheus.yml's own keys. */
export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  modulus?: number;
  target_label?: string;
  replacement?: string;
  action?:
    | 'replace'
    | 'keep'
    | 'drop'
    | 'keepequal'
    | 'dropequal'
    | 'hashmod'
    | 'labelmap'
    | 'labeldrop'
    | 'labelkeep'
    | 'lowercase'
    | 'uppercase';
}

export interface ScrapeJob {
  jobName: string;
  /** `host:port` of each target. */
  targets: string[];
  /** Target labels, as a service discovery would attach them (`pod`, `namespace`, ...). */
  labels?: Record<string, string>;
  /** Default `/stats/prometheus`, the sidecar's page. */
  metricsPath?: string;
  /** This job's interval; the server-wide one when omitted. */
  scrapeInterval?: string;
  /** Applied to every scraped sample before storage (how a user's Prometheus drops series). */
  metricRelabelConfigs?: RelabelConfig[];
}

export interface PrometheusServerOptions {
  /** Scrape jobs; entries with the same jobName become several static_configs of one job. */
  jobs?: ScrapeJob[];
  /** Global scrape and evaluation interval. Default `1s`. */
  scrapeInterval?: string;
  /** How long start() waits for `/-/ready`. Default 60000 ms. */
  readyTimeoutMs?: number;
}

export interface PrometheusWaitOptions {
  /** Default 60000 ms. */
  timeoutMs?: number;
}

/** One series of an instant query's vector result. */
export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface StartedPrometheusServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Everything Prometheus logged so far. */
  readonly log: string;
  /** An instant query (`/api/v1/query`); the vector it returns. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** Until an instant query returns at least one series; resolves with them. */
  waitForSeries(promql: string, options?: PrometheusWaitOptions): Promise<PrometheusSample[]>;
  /** Until Prometheus has scraped `address` (`host:port`) successfully. */
  waitForTargetUp(address: string, options?: PrometheusWaitOptions): Promise<void>;
  /** Stops Prometheus and removes its directory; idempotent. */
  close(): Promise<void>;
  /** The same as close(). */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
// Prometheus takes port 0 and reports the port it got at info level ("Listening on" address=127.0.0.1:43059).
const LISTENING = /Listening on"? address=(127\.0\.0\.1:\d+)/;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function mergeJobs(jobs: readonly ScrapeJob[]): Record<string, unknown>[] {
  const merged = new Map<string, { job: ScrapeJob; entry: Record<string, unknown>; staticConfigs: unknown[] }>();
  jobs.forEach((job, index) => {
    let known = merged.get(job.jobName);
    if (known === undefined) {
      const staticConfigs: unknown[] = [];
      const entry: Record<string, unknown> = {
        job_name: job.jobName,
        metrics_path: job.metricsPath ?? '/stats/prometheus',
        ...(job.scrapeInterval ? { scrape_interval: job.scrapeInterval } : {}),
        static_configs: staticConfigs,
        ...(job.metricRelabelConfigs ? { metric_relabel_configs: job.metricRelabelConfigs } : {}),
      };
      known = { job, entry, staticConfigs };
      merged.set(job.jobName, known);
    } else {
      // Only targets and labels differ between static_configs; the rest belongs to the job.
      for (const key of ['metricsPath', 'scrapeInterval', 'metricRelabelConfigs'] as const) {
        if (job[key] !== undefined && JSON.stringify(job[key]) !== JSON.stringify(known.job[key])) {
          throw new HfiError('HFI_ERR_CONFIG', `Scrape job ${job.jobName} is given two different ${key}`, {
            field: `jobs[${index}].${key}`,
            details: { first: known.job[key], again: job[key] },
          });
        }
      }
    }
    known.staticConfigs.push({ targets: job.targets, ...(job.labels ? { labels: job.labels } : {}) });
  });
  return [...merged.values()].map(({ entry }) => entry);
}

/** Builds the scrape configuration of a test Prometheus; start() runs it. */
export class PrometheusServer {
  private readonly jobs: ScrapeJob[];
  private scrapeInterval: string;
  private readyTimeoutMs: number;

  constructor(options: PrometheusServerOptions = {}) {
    this.jobs = [...(options.jobs ?? [])];
    this.scrapeInterval = options.scrapeInterval ?? '1s';
    this.readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  withScrapeJob(job: ScrapeJob): this {
    this.jobs.push(job);
    return this;
  }

  withScrapeInterval(interval: string): this {
    this.scrapeInterval = interval;
    return this;
  }

  withReadyTimeout(ms: number): this {
    this.readyTimeoutMs = ms;
    return this;
  }

  /** The prometheus.yml start() writes. */
  config(): Record<string, unknown> {
    return {
      global: { scrape_interval: this.scrapeInterval, evaluation_interval: this.scrapeInterval },
      scrape_configs: mergeJobs(this.jobs),
    };
  }

  async start(): Promise<StartedPrometheusServer> {
    // YAML reads JSON, so the config needs no YAML writer.
    const config = JSON.stringify(this.config(), null, 2);
    const dir = await mkdtemp(join(tmpdir(), 'hfi-prometheus-'));
    await writeFile(join(dir, 'prometheus.yml'), config);
    let log = '';
    const child: ChildProcess = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:0',
        '--log.level=info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let address: string | undefined;
    const append = (chunk: Buffer): void => {
      log += chunk.toString();
      address ??= LISTENING.exec(log)?.[1];
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    };

    // Ready once `/-/ready` answers 200 on the port Prometheus reported; an exit or a spawn error ends the wait early.
    const ready = async (): Promise<boolean> => {
      const ok =
        address !== undefined &&
        (await fetch(`http://${address}/-/ready`).then(
          (res) => res.status === 200,
          () => false,
        ));
      if (!ok) await pause(POLL_MS);
      return ok;
    };
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      const outcome = await Promise.race([
        spawnError,
        exited.then(() => new Error(`prometheus exited with ${child.exitCode ?? child.signalCode}: ${log}`)),
        ready(),
      ]);
      if (outcome === true) break;
      if (outcome instanceof Error || Date.now() > deadline) {
        await close();
        throw new HfiError('HFI_ERR_TIMEOUT', `Prometheus did not become ready on ${address ?? '127.0.0.1:0'}`, {
          cause: outcome instanceof Error ? outcome : undefined,
          details: { log },
        });
      }
    }
    return startedServer(`http://${address}`, () => log, close);
  }
}

function startedServer(url: string, log: () => string, close: () => Promise<void>): StartedPrometheusServer {
  const query = async (promql: string): Promise<PrometheusSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data?: { result: PrometheusSample[] }; error?: string };
    if (body.status !== 'success' || body.data === undefined) {
      throw new HfiError('HFI_ERR_PROMETHEUS_QUERY', `Prometheus rejected ${promql}: ${body.error ?? res.status}`, {
        details: { status: res.status, body },
      });
    }
    return body.data.result;
  };

  const waitFor = async <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) {
        throw new HfiError('HFI_ERR_TIMEOUT', `Prometheus on ${url}: no ${what} within ${timeoutMs} ms`, {
          cause: last,
          details: { log: log() },
        });
      }
      await pause(POLL_MS);
    }
  };

  return {
    url,
    get log() {
      return log();
    },
    query,
    waitForSeries: (promql, options = {}) =>
      waitFor(`series for ${promql}`, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, async () => {
        const result = await query(promql);
        return result.length > 0 ? result : undefined;
      }),
    waitForTargetUp: (address, options = {}) =>
      waitFor(`healthy target ${address}`, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, async () => {
        const res = await fetch(`${url}/api/v1/targets`);
        const body = (await res.json()) as { data: { activeTargets: { scrapeUrl: string; health: string }[] } };
        const up = body.data.activeTargets.some((t) => new URL(t.scrapeUrl).host === address && t.health === 'up');
        return up ? true : undefined;
      }).then(() => undefined),
    close,
    stop: close,
    [Symbol.asyncDispose]: close,
  };
}

/** `new PrometheusServer(options).start()`. */
export function startPrometheus(options: PrometheusServerOptions = {}): Promise<StartedPrometheusServer> {
  return new PrometheusServer(options).start();
}
