import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Native addon + real interfaces: separate processes, not worker threads.
    pool: 'forks',
    // Two cores: capture tests inject traffic at high rates; more workers only
    // add scheduling noise.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/faults/**'] },
      },
      {
        // Fault tests stop and restart the shared test servers (versitygw):
        // they run after every other test, one file at a time.
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
