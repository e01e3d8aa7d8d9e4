import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Native addon + real interfaces: separate processes, not worker threads.
    pool: 'forks',
    // Two cores: capture tests inject traffic at high rates; more workers only
    // add scheduling noise.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
