// The object `preset: '@hfi/jest-preset'` merges into a user's Jest config (jest-preset.js re-exports it). Paths are
// absolute so they resolve from any project.
import path from 'node:path';

export const preset = {
  globalSetup: path.join(__dirname, 'global-setup.js'),
  globalTeardown: path.join(__dirname, 'global-teardown.js'),
  setupFilesAfterEnv: [path.join(__dirname, 'setup-after-env.js')],
  testEnvironment: 'node',
} as const;
