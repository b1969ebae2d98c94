import { defineConfig } from 'vitest/config';

/**
 * The PostgreSQL pass (`DAR_TEST_DB=postgres`, run by `npm test` after the SQLite pass): every
 * test file runs again with its registers on PostgreSQL, except these.
 */
const NOT_ON_POSTGRES: Record<string, string> = {
  // SQLite's own mechanics, or files that run both engines themselves.
  'test/group-commit.test.ts': 'group commit is SQLite’s',
  'test/durability.test.ts': 'kills a register writing a SQLite file',
  'test/checkpointer.test.ts': 'WAL checkpoints are SQLite’s',
  'test/file-modes.test.ts': 'the SQLite file’s permissions',
  'test/audit-chain.test.ts': 'tampers with rows and the id counter in the SQLite file',
  'test/sandbox-snapshots.test.ts': 'snapshots copy the SQLite file (PostgreSQL refuses them, 409)',
  'test/admin-search-queue.test.ts': 'the trigram index and its queue are SQLite’s',
  'test/schema-parity.test.ts': 'compares both engines itself',
  'test/engine-parity.test.ts': 'compares both engines itself',
  'test/admin-search-postgres.test.ts': 'compares both engines itself',
  'test/record-counts-postgres.test.ts': 'PostgreSQL only, in both passes',
  'test/postgres-store.test.ts': 'PostgreSQL only, in both passes',
  'test/postgres-harness.test.ts': 'PostgreSQL only, in both passes',
  'test/migrate.test.ts': 'migrates both engines itself',
};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['e2e/**', 'node_modules/**', 'out/**', 'test/cluster/**', ...(process.env.DAR_TEST_DB === 'postgres' ? Object.keys(NOT_ON_POSTGRES) : [])],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Clears a PostgreSQL test server a crashed run left, and stops this run's (test/support/postgres.ts).
    globalSetup: ['test/support/postgres-global.ts'],
  },
});
