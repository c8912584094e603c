import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`pnpm test:faults`, run.mjs). Not part of `pnpm test`: this package has no
 * `test` script. Files run one at a time so kills, outages and load of one scenario do not
 * disturb the figures of another; each test sets its own generous time limit.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    passWithNoTests: false,
    sequence: { shuffle: false },
    // The JSON report feeds the closing line of `pnpm test` (tooling/scripts/run-tests.mjs).
    reporters: ['default', ['json', { outputFile: '.test-report.json' }]],
  },
});
