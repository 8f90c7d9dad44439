// @hfi/jest-preset: `preset: '@hfi/jest-preset'` in a Jest config; in tests, `import { hfi, service } from
// '@hfi/jest-preset'`. The matchers are registered by the preset; for Vitest, `expect.extend(hfiMatchers)`.

// Configuration
export { applyEnvOverrides, CONFIG_ENV, CONFIG_FILE_NAMES, findConfigFile, loadConfig } from './config/load-config';
export type {
  HfiMode,
  HfiPresetConfig,
  HfiPresetConfigInput,
  HfiServiceConfig,
  HfiServiceInput,
  PresetLogLevel,
} from './config/types';
export { validateConfig } from './config/validate';
// Matchers
export * from './matchers/index';
// The preset object (what jest-preset.js exports)
export { preset } from './preset';
// What tests use
export { type PresetRuntime, PUBLISHED_ENV, type PublishedService } from './runtime/published-env';
export { getHfi, hfi, presetRuntime, type ServiceHandle, service, services } from './runtime/worker';
