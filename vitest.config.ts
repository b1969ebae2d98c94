import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['e2e/**', 'node_modules/**', 'out/**'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Clears a PostgreSQL test server a crashed run left, and stops this run's (test/support/postgres.ts).
    globalSetup: ['test/support/postgres-global.ts'],
  },
});
