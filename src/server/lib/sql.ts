import { eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Store } from '../db/store.js';

/** Case-insensitive prefix match that can use a NOCASE index (range scan, no LIKE). */
export function prefixMatch(column: AnyColumn, term: string): SQL {
  return sql`(${column} >= ${term} collate nocase and ${column} < ${term + '\u{10FFFF}'} collate nocase)`;
}

/**
 * Equality ignoring (ASCII) case, for organisation references (contract §8: a DCC report
 * `org_abc123def456` matches an account's `ORG_ABC123DEF456`). Uses the NOCASE indexes.
 */
export function sameIgnoringCase(column: AnyColumn, value: unknown): SQL {
  return sql`${column} = ${value} collate nocase`;
}

/**
 * `.limit(ONE_ROW)`: at most one row, written into the statement as the literal `limit 1`.
 * drizzle binds a numeric limit as a parameter, and SQLite (built with STAT4, as
 * better-sqlite3 is) re-plans a statement whose LIMIT is a parameter on every run: a
 * primary-key lookup measured 27 µs instead of 11 (docs/performance.md).
 */
export const ONE_ROW = sql.raw('1') as unknown as number;

/**
 * The row of `table` whose `column` equals the placeholder `key`, as a query prepared once
 * (docs/performance.md): `await q.find({ [key]: value })`, undefined when there is none.
 */
export function rowByKey<T extends SQLiteTable>(store: Store, name: string, table: T, column: SQLiteColumn, key: string) {
  const q = store.prepare(name, (db) =>
    db
      .select()
      .from(table)
      .where(eq(column, sql.placeholder(key)))
      .limit(ONE_ROW),
  );
  return { find: async (args: Record<string, unknown>): Promise<T['$inferSelect'] | undefined> => (await q.execute(args))[0] as T['$inferSelect'] | undefined };
}
