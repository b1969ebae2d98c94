import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: three real register nodes on one PostgreSQL behind the round-robin
 * proxy of `npm run cluster` (test/cluster/). Kept out of `npm test` (vitest.config.ts excludes
 * test/cluster/**): it spawns processes and runs for DAR_CLUSTER_SECONDS (default 12).
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: 'forks',
    globalSetup: ['test/support/postgres-global.ts'],
  },
});
