import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real processes; two cores are shared, so keep file-level parallelism modest.
    maxWorkers: 2,
  },
});
