// The metric source a worker's client uses: the local sidecars' admin endpoints (local mode), or, in kubernetes mode,
// the SDK's Kubernetes (API server pod proxy) or Prometheus source, one per service, merged into one snapshot.
import { HfiError } from '@hfi/core';
import * as sdk from '@hfi/sdk';
import { DirectSource, type MetricSource, type Snapshot } from '@hfi/sdk';
import type { PresetRuntime, PublishedService } from './published-env';

/** The constructors this file needs from the SDK's cluster sources, looked up by name: they are optional. */
type SourceConstructor = new (options: Record<string, unknown>) => MetricSource;

function sdkSource(name: 'KubernetesSource' | 'PrometheusSource'): SourceConstructor | undefined {
  const value = (sdk as Record<string, unknown>)[name];
  return typeof value === 'function' ? (value as SourceConstructor) : undefined;
}

/** Several sources as one: snapshots are taken together and their pods concatenated (first key wins). */
export class MergedSource implements MetricSource {
  constructor(private readonly sources: readonly MetricSource[]) {}

  describe(): string {
    return this.sources.map((s) => s.describe()).join('; ');
  }

  async snapshot(): Promise<Snapshot> {
    const takenAtMs = Date.now();
    const results = await Promise.allSettled(this.sources.map((s) => s.snapshot()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const seen = new Set<string>();
    const pods = results
      .flatMap((r) => (r as PromiseFulfilledResult<Snapshot>).value.pods)
      .filter((p) => !seen.has(p.pod) && seen.add(p.pod));
    return { takenAtMs, pods };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.sources.map((s) => s.close?.()));
  }
}

/** Stands in when the configured source cannot be built: windows fail to open with the reason. */
export class UnavailableSource implements MetricSource {
  constructor(private readonly reason: HfiError) {}

  describe(): string {
    return `unavailable: ${this.reason.message}`;
  }

  snapshot(): Promise<Snapshot> {
    return Promise.reject(this.reason);
  }
}

function labelSelector(service: PublishedService): string {
  return Object.entries(service.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function promSelector(service: PublishedService): string {
  const quote = (v: string) => JSON.stringify(v);
  const pairs = [
    `namespace=${quote(service.namespace)}`,
    ...Object.entries(service.labels).map(([k, v]) => `${k}=${quote(v)}`),
  ];
  return `{${pairs.join(',')}}`;
}

function unavailable(name: string, source: string): UnavailableSource {
  return new UnavailableSource(
    new HfiError(
      'HFI_ERR_METRICS_SOURCE_UNAVAILABLE',
      `metrics.source "${source}" needs ${name} from @hfi/sdk, which this installation does not provide; upgrade @hfi/sdk`,
      { field: 'metrics.source', details: { source, missing: name } },
    ),
  );
}

export function createMetricSource(runtime: PresetRuntime): MetricSource {
  const { metrics, services } = runtime;
  if (metrics.source === 'direct') {
    const targets = services
      .filter((s): s is PublishedService & { adminUrl: string } => s.adminUrl !== undefined)
      .map((s) => ({ url: s.adminUrl, pod: s.pod ?? s.adminUrl, labels: { ...s.labels, namespace: s.namespace } }));
    return new DirectSource(targets);
  }
  if (metrics.source === 'kubernetes') {
    const Source = sdkSource('KubernetesSource');
    if (!Source) return unavailable('KubernetesSource', metrics.source);
    return new MergedSource(
      services.map(
        (s) =>
          new Source({
            namespace: s.namespace,
            labelSelector: labelSelector(s),
            ...(metrics.kubeconfig === undefined ? {} : { kubeconfig: metrics.kubeconfig }),
            ...(metrics.context === undefined ? {} : { context: metrics.context }),
          }),
      ),
    );
  }
  const Source = sdkSource('PrometheusSource');
  if (!Source) return unavailable('PrometheusSource', metrics.source);
  if (metrics.prometheusUrl === undefined) {
    return new UnavailableSource(
      new HfiError('HFI_ERR_PRESET_CONFIG', 'metrics.source "prometheus" needs metrics.prometheusUrl', {
        field: 'metrics.prometheusUrl',
      }),
    );
  }
  const url = metrics.prometheusUrl;
  return new MergedSource(services.map((s) => new Source({ url, selector: promSelector(s) })));
}
