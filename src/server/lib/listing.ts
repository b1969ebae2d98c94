import type { Dialect } from '../db/dialect.js';
import { and, count, getTableColumns, gte, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/open.js';
import { invalid } from './errors.js';
import { literalLimit } from './sql.js';

/**
 * Sorted, filtered, paged admin lists (docs/api.md "Admin lists").
 *
 * A list is ordered by one sort expression and then by `seq`, in the same direction, so ties
 * always come out in a stable order. Pages follow either
 * - `cursor` (keyset): the default sort (newest first) keeps the plain `seq` cursor every
 *   list has always had; any other sort gets an opaque cursor carrying the last row's sort
 *   value and `seq`, and the next page starts strictly after that pair; or
 * - `offset`: jump to a row number (e.g. row 2,000) in one request. The sort expressions are
 *   index-backed, so SQLite steps over the skipped rows in the index without reading them.
 *
 * SQLite orders NULL first ascending and last descending; the keyset conditions below follow
 * that, so rows without a sort value (a record without expiry) are neither lost nor repeated.
 */
export type SortDir = 'asc' | 'desc';
export interface Sort {
  expr: SQL | SQLiteColumn;
  dir: SortDir;
  /**
   * Where NULLs go, written out where the engine's default differs from SQLite's (first when
   * ascending, last when descending), which the keyset cursor below assumes (dialect.nullsAsSqlite).
   */
  nulls?: SQL;
}
export interface PageRequest {
  limit: number;
  cursor?: string;
  offset?: number;
}
export interface PageResult<R> {
  rows: R[];
  total: number;
  nextCursor: string | null;
}

type SortValue = string | number | null;

function encodeCursor(value: SortValue, seq: number): string {
  return Buffer.from(JSON.stringify([value, seq])).toString('base64url');
}

function decodeCursor(cursor: string): [SortValue, number] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && (v[0] === null || typeof v[0] === 'string' || typeof v[0] === 'number') && Number.isSafeInteger(v[1]) && (v[1] as number) > 0) return [v[0] as SortValue, v[1] as number];
  } catch {
    // fall through to the 400
  }
  throw invalid('cursor: not a next-cursor of this list and sort; start again without a cursor');
}

/** The rows strictly after (value, seq) in `sort` order (ties by seq in the same direction). */
function after(sort: Sort, seqCol: SQLiteColumn, value: SortValue, seq: number): SQL {
  const e = sort.expr;
  if (sort.dir === 'asc') {
    if (value === null) return or(sql`(${e} is null and ${seqCol} > ${seq})`, sql`${e} is not null`)!;
    return sql`(${e}, ${seqCol}) > (${value}, ${seq})`;
  }
  if (value === null) return sql`(${e} is null and ${seqCol} < ${seq})`;
  return or(sql`(${e}, ${seqCol}) < (${value}, ${seq})`, sql`${e} is null`)!;
}

/**
 * One page of `table` matching every filter, in `sort` order (none = newest first), with the
 * total that match. `extra` adds computed columns to each row.
 */
export interface PlanHints {
  /** How to count the matching rows, when there is a cheaper way than counting the table. */
  count?: () => Promise<number>;
  /** The filters for fetching the page, given the total (e.g. another plan for many matches). */
  pageFilters?: (total: number) => SQL[];
}

export async function sortedPage<T extends SQLiteTable & { seq: SQLiteColumn }, E extends Record<string, SQL<unknown>> = Record<never, SQL<unknown>>>(
  db: Db,
  table: T,
  filters: SQL[],
  sort: Sort | undefined,
  page: PageRequest,
  extra?: E,
  hints: PlanHints = {},
): Promise<PageResult<T['$inferSelect'] & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never }>> {
  if (page.cursor !== undefined && page.offset !== undefined) throw invalid('cursor and offset: give one or the other');
  const where = filters.length ? and(...filters) : undefined;
  const total = hints.count
    ? await hints.count()
    : (
        await db
          .select({ n: count() })
          .from(table as SQLiteTable)
          .where(where)
      )[0].n;
  const seqCol = table.seq;
  const conditions = [...(hints.pageFilters ? hints.pageFilters(total) : filters)];
  if (page.cursor !== undefined) {
    if (!sort) {
      if (!/^[0-9]{1,18}$/.test(page.cursor)) throw invalid('cursor: not a next-cursor of this list and sort; start again without a cursor');
      conditions.push(lt(seqCol, Number(page.cursor)));
    } else {
      const [value, seq] = decodeCursor(page.cursor);
      conditions.push(after(sort, seqCol, value, seq));
    }
  }
  const order = sort ? [sort.nulls ? sql`${sort.expr} ${sql.raw(sort.dir)} ${sort.nulls}` : sql`${sort.expr} ${sql.raw(sort.dir)}`, sql`${seqCol} ${sql.raw(sort.dir)}`] : [sql`${seqCol} desc`];
  let q = db
    .select({ ...getTableColumns(table as SQLiteTable), ...extra, __sort: sort ? sql<SortValue>`${sort.expr}` : sql<SortValue>`null` })
    .from(table as SQLiteTable)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(...order)
    .limit(literalLimit(page.limit + 1))
    .$dynamic();
  if (page.offset) q = q.offset(page.offset);
  const fetched = (await q) as unknown as (T['$inferSelect'] & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never } & { seq: number; __sort: SortValue })[];
  const more = fetched.length > page.limit;
  const rows = more ? fetched.slice(0, page.limit) : fetched;
  const last = rows[rows.length - 1];
  const nextCursor = !more || !last ? null : sort ? encodeCursor(last.__sort, last.seq) : String(last.seq);
  for (const r of rows) delete (r as { __sort?: unknown }).__sort;
  return { rows, total, nextCursor };
}

/**
 * Every row matching `filters` in `sort` order, a chunk at a time (for streamed exports): each
 * chunk is its own short query, so no statement stays open on the shared connection while the
 * client reads.
 */
export async function* sortedChunks<T extends SQLiteTable & { seq: SQLiteColumn }, E extends Record<string, SQL<unknown>> = Record<never, SQL<unknown>>>(
  db: Db,
  table: T,
  filters: SQL[],
  sort: Sort | undefined,
  chunk: number,
  extra?: E,
  hints: PlanHints = {},
): AsyncGenerator<(T['$inferSelect'] & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never })[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await sortedPage(db, table, filters, sort, { limit: chunk, cursor }, extra, hints);
    if (page.rows.length) yield page.rows;
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
}

/** Query-string schema pattern for a date (YYYY-MM-DD) or an RFC 3339 date-time. */
export const DATE_OR_DATE_TIME_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,3})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$';

function instant(name: string, value: string, endOfDay: boolean): string {
  const dateOnly = value.length === 10;
  const ms = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms) || (dateOnly && new Date(ms).toISOString().slice(0, 10) !== value)) throw invalid(`${name}: not a real date or date-time`);
  // Stored timestamps are ISO 8601 UTC with milliseconds; compare in that form. A `to` date
  // names its whole day, and a `to` date-time in whole seconds (as the API shows times) its
  // whole second, so each ends just before the next one starts.
  const span = !endOfDay ? 0 : dateOnly ? 86_400_000 : value.includes('.') ? 1 : 1000;
  return new Date(ms + span - (span ? 1 : 0)).toISOString();
}

/**
 * A date range on a text timestamp column, both ends inclusive. A `to` given as a date
 * (YYYY-MM-DD) includes that whole day, one in whole seconds that whole second. `from` after
 * `to` is a 400.
 */
export function dateRange(column: SQLiteColumn, from: string | undefined, to: string | undefined, names: [string, string] = ['from', 'to']): SQL[] {
  const out: SQL[] = [];
  const start = from ? instant(names[0], from, false) : undefined;
  const end = to ? instant(names[1], to, true) : undefined;
  if (start && end && start > end) throw invalid(`${names[0]}: must not be after ${names[1]}`);
  if (start) out.push(gte(column, start));
  if (end) out.push(lte(column, end));
  return out;
}

/**
 * The sort of a list from its `sort` and `order` query values. `created` is insertion order
 * (`seq`): newest first by default, which is the plain keyset list (no sort). Every other
 * column sorts ascending unless `order` says otherwise.
 */
export function listSort<K extends string>(dialect: Dialect, columns: Record<Exclude<K, 'created'>, SQL | SQLiteColumn>, seqCol: SQLiteColumn, sort: K | 'created' | undefined, order: SortDir | undefined): Sort | undefined {
  const key = sort ?? 'created';
  const dir = order ?? (key === 'created' ? 'desc' : 'asc');
  if (key === 'created') return dir === 'desc' ? undefined : { expr: seqCol, dir };
  return { expr: columns[key as Exclude<K, 'created'>], dir, nulls: dialect.nullsAsSqlite(dir) };
}

/** A LIKE pattern matching `term` anywhere, with LIKE's own wildcards taken literally (escape '\'). */
export function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Rows whose text `column` starts with `prefix`, as a range (`>= prefix and < prefix + U+FFFF`)
 * so the column's index is used (LIKE 'x%' would not be: SQLite's LIKE is case-insensitive and
 * the indexes use the binary collation).
 */
export function prefixOf(column: SQLiteColumn | SQL, prefix: string): SQL {
  return sql`(${column} >= ${prefix} and ${column} < ${prefix + '\uffff'})`;
}

/** The direction of a list sorted by `sort`: newest first for the default (creation), else ascending. */
export function sortDirection(sort: string | undefined, order: SortDir | undefined, defaultSort = 'created'): SortDir {
  return order ?? (sort === undefined || sort === defaultSort ? 'desc' : 'asc');
}
