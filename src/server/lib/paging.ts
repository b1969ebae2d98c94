import { and, count, desc, getTableColumns, lt, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/open.js';
import { literalLimit } from './sql.js';

/**
 * Keyset paging on the `seq` column: queries fetch `limit + 1` rows newest first; the extra
 * row only tells whether another page exists. `next-cursor` is the last returned `seq`.
 */
export function takePage<T extends { seq: number }>(fetched: T[], limit: number): { rows: T[]; nextCursor: string | null } {
  if (fetched.length <= limit) return { rows: fetched, nextCursor: null };
  const rows = fetched.slice(0, limit);
  return { rows, nextCursor: String(rows[rows.length - 1].seq) };
}

/**
 * The list shape every paged endpoint answers with: the rows matching `filters` (all must
 * hold), newest first, one page after `cursor`, and how many match in all. `extra` adds
 * computed columns to each row (e.g. a record's API JSON written by SQLite).
 */
export async function newestFirstPage<T extends SQLiteTable & { seq: SQLiteColumn }, E extends Record<string, SQL<unknown>> = Record<never, SQL<unknown>>>(
  db: Db,
  table: T,
  filters: SQL[],
  page: { limit: number; cursor?: number },
  extra?: E,
): Promise<{ rows: (T['$inferSelect'] & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never })[]; total: number; nextCursor: string | null }> {
  const where = filters.length ? and(...filters) : undefined;
  const [{ n: total }] = await db
    .select({ n: count() })
    .from(table as SQLiteTable)
    .where(where);
  const fetched = (await db
    .select({ ...getTableColumns(table as SQLiteTable), ...extra })
    .from(table as SQLiteTable)
    .where(page.cursor ? and(where, lt(table.seq, page.cursor)) : where)
    .orderBy(desc(table.seq))
    .limit(literalLimit(page.limit + 1))) as (T['$inferSelect'] & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never } & { seq: number })[];
  return { ...takePage(fetched, page.limit), total };
}
