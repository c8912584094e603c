import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings. Service-backed suites share Postgres/Redis/RabbitMQ with the rest of
 * the machine, so timeouts are generous and files run in forked workers (PGlite and child
 * processes are happier out of worker threads).
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // The JSON report feeds the one closing line of `pnpm test` (tooling/scripts/run-tests.mjs).
    reporters: ['default', ['json', { outputFile: '.test-report.json' }]],
    passWithNoTests: false,
  },
});
