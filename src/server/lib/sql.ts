import { eq, sql } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Store } from '../db/store.js';

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
