// The shop: a frontend that calls a catalog. Both run in this process; the frontend reaches the catalog at
// `catalogUrl` (in the mesh: the catalog's sidecar), which can be set after start because the sidecar usually starts
// after the service it fronts.
import { type StartedService, startCatalog } from './catalog';
import { DEFAULT_CATALOG_TIMEOUT_MS, startFrontend } from './frontend';

export { PRODUCTS, type Product, type StartedService, startCatalog } from './catalog';
export {
  DEFAULT_CATALOG_TIMEOUT_MS,
  FALLBACK_PRODUCTS,
  FORWARDED_HEADERS,
  type FrontendOptions,
  type ShopPage,
  startFrontend,
} from './frontend';

export interface ShopOptions {
  /** Default 0 (ephemeral). */
  catalogPort?: number;
  /** Default 0 (ephemeral). */
  frontendPort?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where the frontend calls the catalog; default the catalog itself (no sidecar in between). */
  catalogUrl?: string;
  /** The frontend's deadline for the catalog call. Default 300 ms. */
  catalogTimeoutMs?: number;
  /** false: the frontend has no fallback, so catalog failures reach its callers. Default true. */
  fallback?: boolean;
}

export interface Shop extends AsyncDisposable {
  readonly catalog: StartedService;
  readonly frontend: StartedService;
  /** Where the frontend currently sends catalog calls. */
  catalogUrl: string;
  close(): Promise<void>;
}

export async function startShop(options: ShopOptions = {}): Promise<Shop> {
  const host = options.host ?? '127.0.0.1';
  const catalog = await startCatalog({ port: options.catalogPort ?? 0, host });
  let catalogUrl = options.catalogUrl ?? catalog.url;
  let frontend: StartedService;
  try {
    frontend = await startFrontend({
      port: options.frontendPort ?? 0,
      host,
      catalogUrl: () => catalogUrl,
      catalogTimeoutMs: options.catalogTimeoutMs ?? DEFAULT_CATALOG_TIMEOUT_MS,
      fallback: options.fallback ?? true,
    });
  } catch (err) {
    await catalog.close();
    throw err;
  }
  const close = async () => {
    await Promise.all([frontend.close(), catalog.close()]);
  };
  return {
    catalog,
    frontend,
    get catalogUrl() {
      return catalogUrl;
    },
    set catalogUrl(url: string) {
      catalogUrl = url;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
