// Two Jest projects: the packages' tests (and the examples' plain tests) with @hfi/* mapped to the sources, and the
// example shop's suite, which runs through the hfi Jest preset with its own config (examples/shop/jest.config.js).
const packages = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/examples/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/examples/shop/'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript', explicitResourceManagement: true } } },
    ],
  },
  moduleNameMapper: { '^@hfi/([^/]+)$': '<rootDir>/packages/$1/src/index.ts' },
  testTimeout: 30000,
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [packages, '<rootDir>/examples/shop'],
  testTimeout: 30000,
  maxWorkers: 2,
};
