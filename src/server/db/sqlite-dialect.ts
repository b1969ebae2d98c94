/** SQLite's side of db/dialect.ts. */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Dialect } from './dialect.js';

export const sqliteDialect: Dialect = {
  sameIgnoringCase: (column: AnyColumn | SQL, value: unknown): SQL => sql`${column} = ${value} collate nocase`,
  // A range on the NOCASE index: every string that starts with `term` sorts between it and
  // `term` followed by the highest code point.
  prefixIgnoringCase: (column: AnyColumn | SQL, term: string): SQL => sql`(${column} >= ${term} collate nocase and ${column} < ${term + '\u{10FFFF}'} collate nocase)`,
  ignoringCase: (expr: AnyColumn | SQL): SQL => sql`${expr} collate nocase`,
  likeIgnoringCase: (column: AnyColumn | SQL, pattern: string): SQL => sql`${column} like ${pattern} escape '\\'`,
  // One writer on the file: a unit already excludes every other, so there is nothing to lock.
  lockRows: <Q>(query: Q): Q => query,
  isoInstant: (value: unknown, days?: { sign: '+' | '-'; count: AnyColumn | SQL }): SQL =>
    days === undefined ? sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${value})` : sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${value}, ${sql.raw(`'${days.sign}'`)} || ${days.count} || ' days')`,
  jsonArrayHas: (column: AnyColumn | SQL, value: string): SQL => sql`exists (select 1 from json_each(${column}) where json_each.value = ${value})`,
  nextId: (table: string): SQL => sql`coalesce((select seq from sqlite_sequence where name = ${table}), 0) + 1`,
  highestId: (table: string): SQL => sql`coalesce((select seq from sqlite_sequence where name = ${table}), 0)`,
  gaplessIds: true,
  jsonObject: sql.raw('json_object'),
  json: (column: AnyColumn | SQL): SQL => sql`json(${column})`,
  jsonQuote: (expr: AnyColumn | SQL): SQL => sql`json_quote(${expr})`,
  // `->` gives the member minified; a key that is not a plain name is quoted in the path.
  jsonMember: (column: AnyColumn | SQL, key: string): SQL => sql`${column} -> ${sql.raw(`'$.${/^[a-z]+$/.test(key) ? key : `"${key}"`}'`)}`,
  asText: (expr: AnyColumn | SQL): SQL => sql`${expr}`,
  // concat (3.44+) reads NULL as '': the callers pass no NULLs, as `||` would have made all of it NULL.
  joinAll: (parts: (AnyColumn | SQL)[]): SQL => sql`concat(${sql.join(parts, sql`, `)})`,
  joinText: (expr: AnyColumn | SQL, separator: string, orderBy: SQL): SQL => sql`group_concat(${expr}, ${separator} order by ${orderBy})`,
  nullsAsSqlite: () => undefined,
  // One writer: the count triggers update access_record_counts themselves (drizzle/0003_record_counts.sql).
  foldRecordCountDeltas: null,
};
