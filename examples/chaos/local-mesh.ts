// The shop on a local mesh, all in this process: the control plane (memory store), and one local sidecar per
// service running the real plugin.wasm, with the frontend calling the catalog through the catalog's sidecar —
// so a fault on the catalog is what the frontend sees, as in a cluster.
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import { HfiError } from '@hfi/core';
import { type StartedSidecar, startSidecar } from '@hfi/filter';
import { ControlPlaneClient, type DirectTarget } from '@hfi/sdk';
import { type Shop, startShop } from '../shop';

export interface LocalShopMeshOptions {
  namespace?: string;
  /** false: the frontend has no fallback (the `--break` variant). Default true. */
  fallback?: boolean;
  /** Envoy's stats_flush_interval for the sidecars. Envoy's default is 5000; the demo uses 1000 to stay short. */
  flushIntervalMs?: number;
  /** Plugin VMs per sidecar (Envoy's --concurrency). Default 2. */
  workers?: number;
  /** Sidecar log lines (Envoy format). Default: dropped. */
  logSink?: (line: string) => void;
  /** Bound on the wait for every sidecar worker to poll the control plane. Default 20 000 ms. */
  readyTimeoutMs?: number;
}

export interface LocalShopMesh extends AsyncDisposable {
  readonly namespace: string;
  readonly controlPlaneUrl: string;
  /** The frontend as its callers reach it: through its sidecar. */
  readonly frontendUrl: string;
  readonly shop: Shop;
  readonly sidecars: { readonly frontend: StartedSidecar; readonly catalog: StartedSidecar };
  /** Each sidecar's admin endpoint, keyed by pod name, for a DirectSource. */
  readonly statsTargets: DirectTarget[];
  close(): Promise<void>;
}

export async function startLocalShopMesh(options: LocalShopMeshOptions = {}): Promise<LocalShopMesh> {
  const namespace = options.namespace ?? 'shop';
  const workers = options.workers ?? 2;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const shop = await startShop({ fallback: options.fallback ?? true });
    closers.push(() => shop.close());
    const cp: StartedControlPlane = await startControlPlane({ logLevel: 'silent' });
    closers.push(() => cp.close());
    const sidecar = async (workload: 'frontend' | 'catalog', upstream: string) => {
      const started = await startSidecar({
        listen: '127.0.0.1:0',
        admin: '127.0.0.1:0',
        upstream,
        controlPlane: cp.url,
        workload,
        namespace,
        pod: `${workload}-local`,
        labels: { app: workload },
        workers,
        flushIntervalMs: options.flushIntervalMs ?? 1000,
        logLevel: 'warn',
        logSink: options.logSink ?? (() => undefined),
      });
      closers.push(() => started.close());
      return started;
    };
    const catalog = await sidecar('catalog', shop.catalog.url);
    const frontend = await sidecar('frontend', shop.frontend.url);
    shop.catalogUrl = catalog.url;

    await waitForSidecars(cp.url, 2 * workers, options.readyTimeoutMs ?? 20_000);
    return {
      namespace,
      controlPlaneUrl: cp.url,
      frontendUrl: frontend.url,
      shop,
      sidecars: { frontend, catalog },
      statsTargets: [
        { url: frontend.adminUrl, pod: 'frontend-local' },
        { url: catalog.adminUrl, pod: 'catalog-local' },
      ],
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Every plugin worker has polled the control plane once, so a window's acks cover all of them. */
async function waitForSidecars(url: string, instances: number, timeoutMs: number): Promise<void> {
  const client = new ControlPlaneClient({ url });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const { nodes } = await client.nodes();
      const live = nodes.filter((n) => !n.stale).length;
      if (live >= instances) return;
      if (Date.now() > deadline) {
        throw new HfiError(
          'HFI_ERR_TIMEOUT',
          `only ${live} of ${instances} sidecar workers polled the control plane within ${timeoutMs} ms`,
          { details: { live, expected: instances, controlPlane: url } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await client.close();
  }
}
