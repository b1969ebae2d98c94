/**
 * vitest global setup: no PostgreSQL starts here (test files start it on demand, see
 * postgres.ts); this only clears what a crashed earlier run left and, at the end, stops the
 * server if this run started one.
 */
import { cleanupStale, ownedByThisRun, stopServer } from './postgres.js';

export function setup(): () => void {
  process.env.DAR_TEST_PG_RUN = String(process.pid);
  cleanupStale();
  return () => {
    if (!ownedByThisRun()) return;
    const ms = stopServer();
    if (ms !== null && process.env.DAR_TEST_PG_TIMINGS) console.log(`[postgres] test server stopped in ${Math.round(ms)} ms`);
  };
}
