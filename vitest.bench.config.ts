import { defineConfig } from 'vitest/config';

/** `npm run bench:smoke`: the benchmark harness in its smallest mode, outside the default test run. */
export default defineConfig({
  test: {
    include: ['test/bench/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
