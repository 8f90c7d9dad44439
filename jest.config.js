// The packages' tests (and the examples' plain tests), with @hfi/* mapped to the sources. The example shop's suite
// runs through the hfi Jest preset with its own config (examples/shop/jest.config.js), as a second Jest run in
// `npm test`: a preset's global setup publishes through process.env, which would leak into other projects' workers.
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
module.exports = { ...packages, maxWorkers: 2 };
