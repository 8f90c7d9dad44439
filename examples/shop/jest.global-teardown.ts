// Jest globalTeardown for the shop suite: the preset's teardown (it stops the sidecars and the control plane and
// fails the run if a fault policy was left open), then the shop.
import { rm } from 'node:fs/promises';
import { preset } from '@hfi/jest-preset';
import { presetHook, restoreConfigEnv, SHOP_STATE, type ShopSuiteState } from './jest.global-setup';

export default async function globalTeardown(globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const holder = globalThis as Record<symbol, ShopSuiteState | undefined>;
  const state = holder[SHOP_STATE];
  holder[SHOP_STATE] = undefined;
  try {
    await presetHook(preset.globalTeardown)(globalConfig, projectConfig);
  } finally {
    if (state) {
      await state.shop.close();
      await rm(state.configDir, { recursive: true, force: true });
      restoreConfigEnv(state.previousConfigEnv);
    }
  }
}
