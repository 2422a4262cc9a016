/** Unit tests run in parallel; end-to-end tests start real processes and get more time. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
  testTimeout: 120000,
  maxWorkers: 2,
};
