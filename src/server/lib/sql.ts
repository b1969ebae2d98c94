import { eq, sql } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/open.js';
import type { Preparable, Prepared, Store } from '../db/store.js';
import type * as schema from '../db/schema.js';

/**
 * `.limit(literalLimit(n))`: a LIMIT written into the SQL text, never bound.
 * SQLite reads the value of a bound LIMIT while planning, so it marks the statement to be
 * prepared again whenever that parameter is bound: every run of a prepared statement, and a
 * second preparation of a statement built for one call (docs/performance.md, "A bound LIMIT").
 * Only a non-negative safe integer is written; anything else is a programming error.
 */
export function literalLimit(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`LIMIT must be a non-negative integer, not ${String(n)}`);
  return sql.raw(String(n)) as unknown as number;
}

/** `.limit(ONE_ROW)`: at most one row, as the literal `limit 1` (see literalLimit). */
export const ONE_ROW = literalLimit(1);

/** How many statements a LimitedStatements keeps by default (least recently used dropped). */
const LIMITED_STATEMENTS_KEPT = 32;

/**
 * Prepared statements that take their LIMIT per call without binding it (see literalLimit).
 * On SQLite each (shape, limit) pair is its own statement with the limit written in, prepared
 * on first use; the `max` used most recently are kept, so a caller that varies the limit
 * costs at most one preparation per call (what a bound LIMIT costs on every call). The limits
 * the register uses itself (a listing's default page) stay prepared. On PostgreSQL a bound
 * LIMIT is planned like any parameter: one named statement per shape, the limit bound as
 * `limit` (and no statement names that grow with the values callers send).
 */
export class LimitedStatements {
  private readonly kept = new Map<string, Prepared<unknown[]>>();

  constructor(
    private readonly store: Store,
    private readonly prefix: string,
    private readonly max = LIMITED_STATEMENTS_KEPT,
  ) {}

  /**
   * Runs the statement of `shape` (a key naming what `build` writes, filters included) with
   * `limit` and the placeholder values `params`. `build` writes the LIMIT with the value it is
   * given: `.limit(limit)`.
   */
  execute<R = unknown[]>(shape: string, limit: number, build: (db: Db, tables: typeof schema, limit: number) => Preparable<unknown[]>, params: Record<string, unknown>): Promise<R> {
    if (this.store.engine !== 'sqlite') {
      return this.get(shape, () => this.store.prepare(`${this.prefix}.${shape}`, (db, t) => build(db, t, sql.placeholder('limit') as unknown as number))).execute({ ...params, limit }) as Promise<R>;
    }
    const text = literalLimit(limit);
    const key = `${shape}|${limit}`;
    return this.get(key, () => this.store.prepare(`${this.prefix}.${key}`, (db, t) => build(db, t, text))).execute(params) as Promise<R>;
  }

  private get(key: string, prepare: () => Prepared<unknown[]>): Prepared<unknown[]> {
    let stmt = this.kept.get(key);
    if (stmt) {
      // Most recently used last, so the first key is the one to drop.
      this.kept.delete(key);
    } else {
      stmt = prepare();
      if (this.kept.size >= this.max) this.kept.delete(this.kept.keys().next().value!);
    }
    this.kept.set(key, stmt);
    return stmt;
  }
}

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
