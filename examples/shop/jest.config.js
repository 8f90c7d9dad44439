// The shop's test suite, run through the hfi Jest preset. The root `npm test` runs it after the packages' tests.
//   npx jest -c examples/shop/jest.config.js        (after `npm run build`: the preset runs from the built packages)
/** @type {import('jest').Config} */
module.exports = {
  displayName: 'shop',
  preset: '@hfi/jest-preset',
  // Wraps the preset's own setup and teardown: the shop starts first, on free ports, so the sidecars the preset
  // starts can point at it (see jest.global-setup.ts).
  globalSetup: '<rootDir>/jest.global-setup.ts',
  globalTeardown: '<rootDir>/jest.global-teardown.ts',
  testMatch: ['<rootDir>/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript', explicitResourceManagement: true } } },
    ],
  },
  testTimeout: 60000,
};
