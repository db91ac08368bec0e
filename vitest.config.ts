import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/skip-reasons.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files share one Postgres server; each file works in its own database.
    fileParallelism: true,
  },
});
