// What a test file sees, from the environment global setup publishes.

import * as sdk from '@hfi/sdk';
import { HfiClient } from '@hfi/sdk';
import { createMetricSource } from './metric-source';
import { type PresetRuntime, PUBLISHED_ENV, publishRuntime, restoreEnv } from './published-env';
import { closeWorkerClient, forgetRuntime, getHfi, hfi, presetRuntime, service, services } from './worker';

const local: PresetRuntime = {
  mode: 'local',
  controlPlane: 'http://127.0.0.1:9',
  ackTimeoutMs: 1234,
  services: [
    {
      name: 'frontend',
      namespace: 'demo',
      pod: 'frontend-local',
      labels: { app: 'frontend' },
      url: 'http://127.0.0.1:10001',
      adminUrl: 'http://127.0.0.1:10002',
      upstream: 'http://127.0.0.1:3000',
    },
    {
      name: 'catalog',
      namespace: 'demo',
      pod: 'catalog-local',
      labels: { app: 'catalog' },
      url: 'http://127.0.0.1:10003',
      adminUrl: 'http://127.0.0.1:10004',
    },
  ],
  metrics: { source: 'direct' },
};

let previous: Record<string, string | undefined> | undefined;
afterEach(async () => {
  await closeWorkerClient();
  forgetRuntime();
  if (previous) restoreEnv(previous);
  previous = undefined;
});

function publish(runtime: PresetRuntime): void {
  previous = publishRuntime(runtime);
}

describe('service()', () => {
  it('gives each configured service its proxied URL, pod and selector', () => {
    publish(local);
    const frontend = service('frontend');
    expect(frontend.url).toBe('http://127.0.0.1:10001');
    expect(frontend).toMatchObject({
      name: 'frontend',
      namespace: 'demo',
      pod: 'frontend-local',
      adminUrl: 'http://127.0.0.1:10002',
      upstream: 'http://127.0.0.1:3000',
      selector: { service: 'frontend', namespace: 'demo' },
    });
    expect(services().map((s) => s.name)).toEqual(['frontend', 'catalog']);
  });

  it('names the configured services when asked for another', () => {
    publish(local);
    expect(() => service('payments')).toThrow(
      'no service named "payments" in the hfi config; configured: "frontend", "catalog"',
    );
  });

  it('says when a kubernetes service has no url', () => {
    publish({
      ...local,
      mode: 'kubernetes',
      services: [{ name: 'frontend', namespace: 'demo', labels: { app: 'frontend' } }],
    });
    expect(() => service('frontend').url).toThrow('in kubernetes mode give services[].url in hfi.config.json');
  });

  it('says the preset is not set up when the environment has nothing', () => {
    // Saved for afterEach: another project's global setup (the examples) may have published a runtime.
    previous = Object.fromEntries(Object.values(PUBLISHED_ENV).map((name) => [name, process.env[name]]));
    for (const name of Object.values(PUBLISHED_ENV)) delete process.env[name];
    expect(() => service('frontend')).toThrow(
      "the hfi Jest preset's global setup has not run in this test process (HFI_SERVICES_JSON and HFI_CONTROL_PLANE_ADDR are not set)",
    );
  });
});

describe('hfi', () => {
  it('is an HfiClient for the published control plane, created once per test file', () => {
    publish(local);
    expect(hfi).toBeInstanceOf(HfiClient);
    expect(hfi.ackTimeoutMs).toBe(1234);
    expect(hfi.controlPlane.url).toBe(getHfi().controlPlane.url);
    expect(getHfi()).toBe(getHfi());
    expect(hfi.metrics?.describe()).toBe(
      'direct: http://127.0.0.1:10002/stats/prometheus, http://127.0.0.1:10004/stats/prometheus',
    );
    expect(presetRuntime().services).toHaveLength(2);
  });
});

describe('createMetricSource in kubernetes mode', () => {
  const cluster: PresetRuntime = {
    mode: 'kubernetes',
    controlPlane: 'http://127.0.0.1:9',
    ackTimeoutMs: 1000,
    services: [{ name: 'frontend', namespace: 'demo', labels: { app: 'frontend' } }],
    metrics: { source: 'prometheus', prometheusUrl: 'http://127.0.0.1:9/' },
  };
  const exported = (name: string) => typeof (sdk as Record<string, unknown>)[name] === 'function';

  it('builds a Prometheus source per service, or says it is not available', async () => {
    const source = createMetricSource(cluster);
    if (exported('PrometheusSource')) {
      expect(source.describe()).toContain('prometheus');
    } else {
      await expect(source.snapshot()).rejects.toMatchObject({ code: 'HFI_ERR_METRICS_SOURCE_UNAVAILABLE' });
      expect(source.describe()).toContain('needs PrometheusSource from @hfi/sdk');
    }
  });

  it('builds a Kubernetes source per service, or says it is not available', async () => {
    const source = createMetricSource({ ...cluster, metrics: { source: 'kubernetes' } });
    if (exported('KubernetesSource')) {
      expect(source.describe()).toContain('labelSelector app=frontend');
    } else {
      await expect(source.snapshot()).rejects.toMatchObject({ code: 'HFI_ERR_METRICS_SOURCE_UNAVAILABLE' });
    }
  });
});
