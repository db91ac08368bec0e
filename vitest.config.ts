import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The benchmark harness's own check runs graphile-worker and pg-boss: `npm run bench:smoke`.
    exclude: [...configDefaults.exclude, 'test/bench/**'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/skip-reasons.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files share one Postgres server; each file works in its own database.
    fileParallelism: true,
  },
});
