/**
 * SQL that the two engines write differently, one function per need (docs/deploying.md "The
 * storage layer"). Services build queries with drizzle, which writes most SQL for either engine;
 * what drizzle cannot express portably (case-insensitive matching on an index, JSON built inside the
 * database, engine functions) comes from `reg.store.dialect`. Each engine's version lives in its
 * own file (sqlite-dialect.ts, postgres-dialect.ts), never behind an `if`.
 */
import type { AnyColumn, SQL } from 'drizzle-orm';

export interface Dialect {
  /**
   * `column = value`, ignoring ASCII case, using the case-folded index: SQLite's NOCASE indexes,
   * PostgreSQL's indexes on lower(column) (schema-pg.ts).
   */
  sameIgnoringCase(column: AnyColumn | SQL, value: unknown): SQL;
  /** `column` starts with `term`, ignoring case, as an index range scan (no LIKE). */
  prefixIgnoringCase(column: AnyColumn | SQL, term: string): SQL;
  /** An expression to sort by ignoring case (SQLite: `x collate nocase`; PostgreSQL: `lower(x)`). */
  ignoringCase(expr: AnyColumn | SQL): SQL;
  /**
   * `column like pattern escape '\'` ignoring case: SQLite's LIKE already ignores ASCII case;
   * PostgreSQL's does not (ilike).
   */
  likeIgnoringCase(column: AnyColumn | SQL, pattern: string): SQL;
  /**
   * A finished select (after where, orderBy, limit) that locks the rows it returns until the
   * unit of work ends, for a check-then-act on rows that exist: another node's unit touching
   * them waits, then sees what this one wrote. With `skipLocked`, rows another unit holds are
   * passed over rather than waited for, so nodes claiming queued work at the same time take
   * different rows. PostgreSQL: `for update [skip locked]`. SQLite: the query unchanged (a unit
   * is already the only writer). Call it inside `store.tx`.
   */
  lockRows<Q>(query: Q, opts?: { skipLocked?: boolean }): Q;
  /**
   * An ISO 8601 instant (text, as the register stores them) rewritten in the millisecond form
   * `2026-03-24T09:00:00.000Z`, so instants written with and without milliseconds compare as
   * text. With `days`, moved by that many days (`sign`: '+' later, '-' earlier), counted in UTC.
   */
  isoInstant(value: unknown, days?: { sign: '+' | '-'; count: AnyColumn | SQL }): SQL;
  /** Whether the JSON array of strings in `column` holds `value`. */
  jsonArrayHas(column: AnyColumn | SQL, value: string): SQL;
  /**
   * The id the next insert into `table` takes in its identity column `column` (an expression),
   * to be read inside the writing unit and inserted explicitly. SQLite: its AUTOINCREMENT
   * counter plus one (the unit is the only writer, so nothing takes it meanwhile); PostgreSQL:
   * `nextval` of the column's sequence (taken, so no other unit gets it).
   */
  nextId(table: string, column: string): SQL;
  /** The highest id the database ever handed out for `table`.`column`, 0 for none (an expression). */
  highestId(table: string, column: string): SQL;
  /**
   * Whether the ids handed out have no holes: SQLite's AUTOINCREMENT gives a rolled-back
   * insert's id back, so a missing id was deleted. PostgreSQL sequences skip values on rollback.
   */
  readonly gaplessIds: boolean;
  /**
   * JSON built inside the database (services/record-json.ts): the name of the function that
   * builds an object from `'key', value, …` arguments, keeping the keys in the order written, as
   * `${dialect.jsonObject}('a', x, 'b', y)`. SQLite: json_object; PostgreSQL: json_build_object
   * (a `json` value: put it through `asText` where text is needed).
   */
  readonly jsonObject: SQL;
  /** A JSON column's value inside a jsonObject, or as JSON text joined with `||`. */
  json(column: AnyColumn | SQL): SQL;
  /** A text value as JSON text: quoted and escaped, SQL NULL as `null` (SQLite's json_quote). */
  jsonQuote(expr: AnyColumn | SQL): SQL;
  /** The member `key` of the object in a JSON column, as minified JSON text (SQL NULL when absent). */
  jsonMember(column: AnyColumn | SQL, key: string): SQL;
  /**
   * Texts joined into one, in order, none of them SQL NULL (the JSON the database writes,
   * services/record-json.ts). SQLite: one concat(…) call, which sizes the result once, where a
   * chain of `||` copies everything joined so far at every step (docs/performance.md,
   * "30 November, night: listings"); PostgreSQL: `||`.
   */
  joinAll(parts: (AnyColumn | SQL)[]): SQL;
  /**
   * An expression as text where the engine will not convert by itself (a jsonObject joined with
   * `||` or next to text in a CASE, a number in a CASE with text). SQLite converts by itself:
   * the expression unchanged.
   */
  asText(expr: AnyColumn | SQL): SQL;
  /**
   * An aggregate: the texts of `expr` over the group joined with `separator`, in the order
   * `orderBy` gives (SQL NULL for no rows). SQLite: group_concat(… order by …) (3.44+);
   * PostgreSQL: string_agg.
   */
  joinText(expr: AnyColumn | SQL, separator: string, orderBy: SQL): SQL;
  /**
   * NULLs placed as SQLite places them (first when ascending, last when descending), for a sort
   * whose keyset cursor assumes that: nothing on SQLite, `nulls first` / `nulls last` on
   * PostgreSQL, whose default is the reverse. null when nothing needs writing.
   */
  nullsAsSqlite(dir: 'asc' | 'desc'): SQL | undefined;
  /**
   * One statement that folds the pending changes of access_record_count_deltas into
   * access_record_counts and deletes them, atomically (a reader sees either the changes or their
   * sum); null where the count triggers write access_record_counts directly and leave no changes
   * to fold (SQLite). See services/record-counts.ts.
   */
  foldRecordCountDeltas: SQL | null;
}
