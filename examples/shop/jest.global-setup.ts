// Jest globalSetup for the shop suite. hfi.config.json declares the two services on fixed ports (3000 and 3001, for
// running the shop by hand with main.ts). Here the shop starts on free ports instead, so the suite can run beside
// anything else; the preset is handed a copy of the config with those upstreams (through HFI_CONFIG) and starts a
// sidecar in front of each service; then the frontend is pointed at the catalog's sidecar, so faults injected on the
// catalog are what the frontend sees.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { HfiPresetConfigInput, PublishedService } from '@hfi/jest-preset';
import { CONFIG_ENV, PUBLISHED_ENV, preset } from '@hfi/jest-preset';
import { type Shop, startShop } from './index';

type JestHook = (globalConfig: unknown, projectConfig: { rootDir: string }) => Promise<void>;

/** What setup leaves for teardown (both run in Jest's main process). */
export interface ShopSuiteState {
  shop: Shop;
  configDir: string;
  previousConfigEnv: string | undefined;
}

export const SHOP_STATE = Symbol.for('hfi.examples.shop-suite');

/**
 * The frontend's deadline for catalog calls in this suite. The shop's default (300 ms) is what the chaos experiment
 * exercises; here a loaded CI machine must not turn a slow but healthy answer into a fallback page, since the tests
 * tell injected faults apart by what the page says.
 */
export const SUITE_CATALOG_TIMEOUT_MS = 2000;

export function presetHook(file: string): JestHook {
  return (require(file) as { default: JestHook }).default;
}

export default async function globalSetup(globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const declared = JSON.parse(
    await readFile(path.join(projectConfig.rootDir, 'hfi.config.json'), 'utf8'),
  ) as HfiPresetConfigInput;
  const shop = await startShop({ catalogTimeoutMs: SUITE_CATALOG_TIMEOUT_MS });
  const upstreams: Record<string, string> = { frontend: shop.frontend.url, catalog: shop.catalog.url };
  const config = {
    ...declared,
    services: declared.services.map((s) => ({ ...s, upstream: upstreams[s.name] ?? s.upstream })),
  };
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'hfi-shop-'));
  const state: ShopSuiteState = { shop, configDir, previousConfigEnv: process.env[CONFIG_ENV.config] };
  try {
    const file = path.join(configDir, 'hfi.config.json');
    await writeFile(file, JSON.stringify(config, null, 2));
    process.env[CONFIG_ENV.config] = file;
    await presetHook(preset.globalSetup)(globalConfig, projectConfig);
  } catch (err) {
    await shop.close();
    await rm(configDir, { recursive: true, force: true });
    restoreConfigEnv(state.previousConfigEnv);
    throw err;
  }
  const published = JSON.parse(process.env[PUBLISHED_ENV.services] ?? '[]') as PublishedService[];
  const catalogSidecar = published.find((s) => s.name === 'catalog')?.url;
  if (catalogSidecar !== undefined) shop.catalogUrl = catalogSidecar;
  (globalThis as Record<symbol, unknown>)[SHOP_STATE] = state;
}

export function restoreConfigEnv(previous: string | undefined): void {
  if (previous === undefined) delete process.env[CONFIG_ENV.config];
  else process.env[CONFIG_ENV.config] = previous;
}
