import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/** Case-insensitive prefix match that can use a NOCASE index (range scan, no LIKE). */
export function prefixMatch(column: AnyColumn, term: string): SQL {
  return sql`(${column} >= ${term} collate nocase and ${column} < ${term + '\u{10FFFF}'} collate nocase)`;
}
