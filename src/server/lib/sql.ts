import { eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/open.js';

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
 * The row of `table` whose `column` equals the placeholder `key`, as a statement prepared
 * once (docs/performance.md): `.get({ [key]: value })`.
 */
export function rowByKey<T extends SQLiteTable>(db: Db, table: T, column: SQLiteColumn, key: string) {
  return db
    .select()
    .from(table)
    .where(eq(column, sql.placeholder(key)))
    .prepare();
}
