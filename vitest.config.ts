import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Tests import the built packages through their public entry points ('@tenantry/kernels'), so run
// `npm run build` first (`npm test` does). Each test file gets its own process (pool 'forks'), which
// also gives each file its own kernels instance: a file that forces a build cannot affect another.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores, i.e. a single worker on the 2-core CI
    // host; the workers do all the CPU work (the main process idles), so use every core.
    maxWorkers: Math.max(2, availableParallelism()),
    // The kernel suites are CPU-bound differential checks (millions of hashes against node:crypto);
    // on a busy 2-core host a single case can take tens of seconds. No test asserts a timing.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
