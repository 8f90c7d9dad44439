/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/examples/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript', explicitResourceManagement: true } } },
    ],
  },
  moduleNameMapper: { '^@hfi/([^/]+)$': '<rootDir>/packages/$1/src/index.ts' },
  testTimeout: 30000,
  maxWorkers: 2,
};
