// The frontend service: GET /shop lists products from the catalog. The catalog call has a deadline, and when the
// catalog fails or is too slow the page is still served from a small built-in list (marked as degraded) — the
// behaviour the chaos experiment and the test suite check under injected faults.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, PRODUCTS, type Product, type ServiceListenOptions, type StartedService, sendJson } from './catalog';

/** Served when the catalog cannot answer in time: the two best sellers, with prices that may be stale. */
export const FALLBACK_PRODUCTS: readonly Product[] = Object.freeze(PRODUCTS.slice(0, 2));

/** Request headers passed on to the catalog, so a fault can target tagged requests end to end (like trace headers). */
export const FORWARDED_HEADERS: readonly string[] = Object.freeze(['x-user', 'x-request-id']);

export const DEFAULT_CATALOG_TIMEOUT_MS = 300;

export interface FrontendOptions extends ServiceListenOptions {
  /** Where the catalog is reached: its sidecar's URL in the mesh. A function is read on every request. */
  catalogUrl: string | (() => string);
  /** Deadline for the catalog call. Default 300 ms. */
  catalogTimeoutMs?: number;
  /** Serve FALLBACK_PRODUCTS when the catalog fails. Default true; false turns catalog failures into 502/504. */
  fallback?: boolean;
}

/** What GET /shop returns. */
export interface ShopPage {
  source: 'catalog' | 'fallback';
  products: Product[];
  /** Why the fallback was served. */
  degraded?: string;
}

type CatalogResult = { ok: true; products: Product[] } | { ok: false; status: 502 | 504; reason: string };

async function fetchProducts(base: string, timeoutMs: number, req: IncomingMessage): Promise<CatalogResult> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  try {
    const res = await fetch(new URL('/products', base), { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return { ok: false, status: 502, reason: `catalog answered ${res.status}` };
    }
    const body = (await res.json()) as { products: Product[] };
    return { ok: true, products: body.products };
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { ok: false, status: 504, reason: `catalog did not answer within ${timeoutMs} ms` };
    }
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, status: 502, reason: `catalog unreachable${cause ? ` (${cause})` : ''}` };
  }
}

export function startFrontend(options: FrontendOptions): Promise<StartedService> {
  const timeoutMs = options.catalogTimeoutMs ?? DEFAULT_CATALOG_TIMEOUT_MS;
  const fallback = options.fallback ?? true;
  const catalogUrl = typeof options.catalogUrl === 'function' ? options.catalogUrl : () => options.catalogUrl as string;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://frontend').pathname;
    if (req.method === 'GET' && path === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (req.method !== 'GET' || (path !== '/shop' && path !== '/')) {
      sendJson(res, 404, { error: `no route ${req.method} ${path}` });
      return;
    }
    const result = await fetchProducts(catalogUrl(), timeoutMs, req);
    if (result.ok) {
      sendJson(res, 200, { source: 'catalog', products: result.products } satisfies ShopPage, {
        'x-shop-source': 'catalog',
      });
    } else if (fallback) {
      const page: ShopPage = { source: 'fallback', products: [...FALLBACK_PRODUCTS], degraded: result.reason };
      sendJson(res, 200, page, { 'x-shop-source': 'fallback' });
    } else {
      sendJson(res, result.status, { error: result.reason }, { 'x-shop-source': 'none' });
    }
  };

  return listen(
    createServer((req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(err) });
        else res.destroy();
      });
    }),
    options,
  );
}
