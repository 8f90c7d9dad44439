import { isHfiError } from '@hfi/core';
import { type AdminServer, startAdminServer } from '../stats/admin-server';
import { createStatsStore } from '../stats/store';
import { PrometheusServer, type StartedPrometheusServer } from './prometheus';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('PrometheusServer configuration', () => {
  test('entries of one job become its static_configs; job settings and relabel rules are written once', () => {
    const drop = [{ source_labels: ['__name__'], regex: 'wasmcustom_.*', action: 'drop' as const }];
    const config = new PrometheusServer({ scrapeInterval: '2s' })
      .withScrapeJob({ jobName: 'sidecars', targets: ['127.0.0.1:1'], labels: { pod: 'a' } })
      .withScrapeJob({ jobName: 'sidecars', targets: ['127.0.0.1:2'] })
      .withScrapeJob({
        jobName: 'filtered',
        targets: ['127.0.0.1:3'],
        metricsPath: '/metrics',
        scrapeInterval: '5s',
        metricRelabelConfigs: drop,
      })
      .config();
    expect(config).toEqual({
      global: { scrape_interval: '2s', evaluation_interval: '2s' },
      scrape_configs: [
        {
          job_name: 'sidecars',
          metrics_path: '/stats/prometheus',
          static_configs: [{ targets: ['127.0.0.1:1'], labels: { pod: 'a' } }, { targets: ['127.0.0.1:2'] }],
        },
        {
          job_name: 'filtered',
          metrics_path: '/metrics',
          scrape_interval: '5s',
          static_configs: [{ targets: ['127.0.0.1:3'] }],
          metric_relabel_configs: drop,
        },
      ],
    });
  });

  test('two entries of one job with different job settings are a config error naming the field', () => {
    const builder = new PrometheusServer({
      jobs: [
        { jobName: 'sidecars', targets: ['127.0.0.1:1'] },
        { jobName: 'sidecars', targets: ['127.0.0.1:2'], metricsPath: '/metrics' },
      ],
    });
    expect(() => builder.config()).toThrow(
      expect.objectContaining({ code: 'HFI_ERR_CONFIG', field: 'jobs[1].metricsPath' }),
    );
  });
});

describe('a started PrometheusServer (real prometheus)', () => {
  let kept: AdminServer;
  let dropped: AdminServer;

  beforeAll(async () => {
    const store = createStatsStore();
    store.incrementMetric(store.defineMetric('counter', 'wasmcustom.hfi_faults_aborts_total'), 3n);
    [kept, dropped] = await Promise.all([startAdminServer({ stats: store }), startAdminServer({ stats: store })]);
  });

  afterAll(async () => {
    await kept?.close();
    await dropped?.close();
  });

  test('scrapes its targets, applies metric_relabel_configs, and stops at the end of an `await using` block', async () => {
    let url: string;
    {
      await using prometheus = await new PrometheusServer()
        .withScrapeJob({ jobName: 'kept', targets: [`127.0.0.1:${kept.port}`] })
        .withScrapeJob({
          jobName: 'dropped',
          targets: [`127.0.0.1:${dropped.port}`],
          metricRelabelConfigs: [{ source_labels: ['__name__'], regex: 'wasmcustom_.*', action: 'drop' }],
        })
        .start();
      url = prometheus.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(url).not.toBe('http://127.0.0.1:0');
      await prometheus.waitForTargetUp(`127.0.0.1:${dropped.port}`);
      const aborts = await prometheus.waitForSeries('wasmcustom_hfi_faults_aborts_total');
      expect(aborts.map((s) => [s.metric.job, s.value[1]])).toEqual([['kept', '3']]);
      // The dropped job is scraped (its envoy_ gauges are there) but keeps no wasmcustom_ series.
      await prometheus.waitForSeries('envoy_server_live{job="dropped"}');
      expect(await prometheus.query('wasmcustom_hfi_faults_aborts_total{job="dropped"}')).toEqual([]);
    }
    await expect(fetch(`${url}/-/ready`)).rejects.toThrow();
  }, 120_000);

  test('close() stops it too, and can be called twice', async () => {
    const prometheus: StartedPrometheusServer = await new PrometheusServer().start();
    expect((await fetch(`${prometheus.url}/-/ready`)).status).toBe(200);
    await prometheus.close();
    await prometheus.close();
    await expect(fetch(`${prometheus.url}/-/ready`)).rejects.toThrow();
  }, 120_000);

  test('a bad query is an HfiError; a series that never comes times out with one', async () => {
    await using prometheus = await new PrometheusServer().start();
    const bad = await rejection(prometheus.query('up{'));
    expect(isHfiError(bad, 'HFI_ERR_PROMETHEUS_QUERY')).toBe(true);
    const none = await rejection(prometheus.waitForSeries('no_such_metric', { timeoutMs: 300 }));
    expect(isHfiError(none, 'HFI_ERR_TIMEOUT')).toBe(true);
    expect((none as Error).message).toContain('no_such_metric');
  }, 120_000);

  test('a Prometheus that exits at start (invalid config) fails start() with its log', async () => {
    const err = await rejection(
      new PrometheusServer()
        .withReadyTimeout(100_000)
        .withScrapeJob({ jobName: 'x', targets: ['127.0.0.1:1'], scrapeInterval: 'soon' })
        .start(),
    );
    expect(isHfiError(err, 'HFI_ERR_TIMEOUT')).toBe(true);
    expect(String((err as Error).cause)).toContain('prometheus exited');
    expect(JSON.stringify((err as { details: unknown }).details)).toContain('soon');
  }, 120_000);
});
