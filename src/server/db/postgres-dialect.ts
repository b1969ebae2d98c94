/** PostgreSQL's side of db/dialect.ts. */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Dialect } from './dialect.js';

export const postgresDialect: Dialect = {
  // lower() on both sides, so the lower(column) indexes of schema-pg.ts serve it.
  sameIgnoringCase: (column: AnyColumn | SQL, value: unknown): SQL => sql`lower(${column}) = lower(${value})`,
  // LIKE on lower(column) with the pattern's own wildcards escaped; the lower(column) indexes
  // serve a prefix LIKE under the C collation (the register's databases are created with it).
  prefixIgnoringCase: (column: AnyColumn | SQL, term: string): SQL => sql`lower(${column}) like ${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`) + '%'}`,
  ignoringCase: (expr: AnyColumn | SQL): SQL => sql`lower(${expr})`,
  likeIgnoringCase: (column: AnyColumn | SQL, pattern: string): SQL => sql`${column} ilike ${pattern} escape '\\'`,
  // The store's builders are typed as SQLite's, which have no locking clause; on this engine
  // they are PostgreSQL's, whose `for` writes it.
  lockRows: <Q>(query: Q, opts: { skipLocked?: boolean } = {}): Q => (query as unknown as { for(strength: 'update', config?: { skipLocked?: boolean }): Q }).for('update', opts.skipLocked ? { skipLocked: true } : undefined),
  // Timestamps are ISO 8601 UTC text on both engines: parsed, moved in UTC (no daylight saving
  // in the arithmetic), and written back in the form SQLite's strftime gives.
  isoInstant: (value: unknown, days?: { sign: '+' | '-'; count: AnyColumn | SQL }): SQL =>
    sql`to_char((${value})::timestamptz at time zone 'UTC'${days === undefined ? sql`` : sql` ${sql.raw(days.sign)} (${days.count}) * interval '1 day'`}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  jsonArrayHas: (column: AnyColumn | SQL, value: string): SQL => sql`exists (select 1 from json_array_elements_text(${column}) as e(value) where e.value = ${value})`,
  nextId: (table: string, column: string): SQL => sql`nextval(pg_get_serial_sequence(${table}, ${column}))`,
  // Never called: 0. Called: the last value handed out (by any node, committed or not).
  highestId: (table: string, column: string): SQL => sql`coalesce(pg_sequence_last_value(pg_get_serial_sequence(${table}, ${column})::regclass), 0)`,
  gaplessIds: false,
  jsonObject: sql.raw('json_build_object'),
  // json columns are type json: already a JSON value, and `text || json` joins its text.
  json: (column: AnyColumn | SQL): SQL => sql`${column}`,
  // As text first: a bare `null` has no type for to_json to take.
  jsonQuote: (expr: AnyColumn | SQL): SQL => sql`coalesce(to_json((${expr})::text)::text, 'null')`,
  // A json column keeps the text it was given (drizzle writes it minified), and `->` returns
  // the member's text as stored.
  jsonMember: (column: AnyColumn | SQL, key: string): SQL => sql`(${column} -> ${sql.raw(`'${key.replace(/'/g, "''")}'`)})::text`,
  asText: (expr: AnyColumn | SQL): SQL => sql`(${expr})::text`,
  joinAll: (parts: (AnyColumn | SQL)[]): SQL => sql`(${sql.join(parts, sql` || `)})`,
  joinText: (expr: AnyColumn | SQL, separator: string, orderBy: SQL): SQL => sql`string_agg(${expr}, ${separator}::text order by ${orderBy})`,
  nullsAsSqlite: (dir: 'asc' | 'desc') => (dir === 'asc' ? sql`nulls first` : sql`nulls last`),
  // The count triggers append changes (drizzle-pg/0006_record_count_deltas.sql); this sums the
  // ones committed so far into the counts and removes exactly those rows.
  foldRecordCountDeltas: sql`with folded as (delete from access_record_count_deltas returning duid, state, n)
    insert into access_record_counts (duid, state, n)
    select duid, state, sum(n) from folded group by duid, state
    on conflict (duid, state) do update set n = access_record_counts.n + excluded.n`,
};
