/**
 * The register's storage interface: what services need from a database engine, whichever it is
 * (docs/deploying.md "The storage layer"). SQLite (the embedded default) implements it with group
 * commit on one connection (sqlite-store.ts); PostgreSQL for deployments of several nodes.
 *
 * Queries themselves are drizzle builders over `store.db` and `store.tables`, awaited: the two
 * engines' schemas have identical table and column names and row types (schema-parity.ts), so
 * one service runs on either. Never `.get()`, `.all()` or `.run()`: those exist on SQLite's
 * builders only (test/store-boundary.test.ts holds the line).
 */
import type { SQL } from 'drizzle-orm';
import type { Dialect } from './dialect.js';
import type { Db } from './open.js';
import type * as schema from './schema.js';

/** When what was written is on disk. */
export interface Durability {
  /** True when something written is not yet known to be committed and durable. */
  readonly pending: boolean;
  /** Resolves once every change made before the call is committed and on stable storage. */
  durable(): Promise<void>;
  /** Commits an open batch now (before a file-level operation or close); no-op where commits are immediate. */
  endBatch(): void;
}

/** A drizzle builder that can be prepared (select, insert, update, delete). */
export interface Preparable<R> {
  prepare(): { execute(placeholders?: Record<string, unknown>): PromiseLike<R> };
}

/** A prepared query: `execute` with its placeholder values. */
export interface Prepared<R> {
  execute(placeholders?: Record<string, unknown>): Promise<R>;
}

/** A select of exactly one field, e.g. `db.select({ json: … }).from(…).where(…)`. */
export interface ValueQuery<T> extends Preparable<Record<string, T>[]> {
  toSQL(): { sql: string; params: unknown[] };
}

/** A prepared one-value query: `execute` resolves to the first row's value, or undefined when no row matches. */
export interface PreparedValue<T> {
  execute(placeholders?: Record<string, unknown>): Promise<T | undefined>;
}

export type Engine = 'sqlite' | 'postgres';

export interface Store {
  readonly engine: Engine;
  /**
   * The drizzle handle for the current unit of work: inside `tx`, its transaction (on
   * PostgreSQL a connection of its own); outside, the engine's shared handle. Typed as SQLite's;
   * the row types are the same on both engines.
   */
  readonly db: Db;
  /** The engine's table objects (the same names and row types on both). */
  readonly tables: typeof schema;
  /** SQL the engines write differently (db/dialect.ts). */
  readonly dialect: Dialect;
  /**
   * Runs `fn` as one all-or-nothing unit; every query `fn` makes through `db` takes part.
   * A `tx` inside a `tx` nests (a savepoint). Resolves once committed (not necessarily durable:
   * see `durability`).
   */
  tx<T>(fn: () => Promise<T> | T): Promise<T>;
  /** Group commit on SQLite; on PostgreSQL a commit is durable when it returns. */
  readonly durability: Durability;
  /**
   * A query built once and run many times (docs/performance.md: statements prepared once).
   * `build` gets the engine's handle and tables and returns a drizzle builder with
   * `sql.placeholder(...)` values; `execute` runs it in the current unit of work. `name` is
   * unique per query (PostgreSQL names its prepared statements).
   */
  prepare<R>(name: string, build: (db: Db, tables: typeof schema) => Preparable<R>): Prepared<R>;
  /**
   * `prepare` for a select of one field where only the first row counts (a lookup by key, an
   * existence check): resolves to that row's value (decoded as drizzle would), or undefined
   * when no row matches. On SQLite it skips drizzle's row mapping, which in the running register
   * cost about half as much as the lookup itself (docs/performance.md, "1 December"). Throws at
   * prepare time if the query selects other than exactly one field.
   */
  prepareValue<T>(name: string, build: (db: Db, tables: typeof schema) => ValueQuery<T>): PreparedValue<T>;
  /** Rows of a raw statement (drizzle `sql` template; placeholders per engine). */
  rows<T>(query: SQL): Promise<T[]>;
  /** Runs a raw statement; resolves to the number of rows it changed. */
  execute(query: SQL): Promise<number>;
  /**
   * Inside `tx`: waits until no other unit holds `key`, and holds it until this unit ends. For a
   * check-then-act on something that has no row to lock yet. SQLite: already the only writer.
   */
  lockKey(key: string): Promise<void>;
  /**
   * Inside `tx`: takes the cluster-wide lock of job `name` if it is free, until this unit ends;
   * false when another node runs that job now. SQLite: always true (one writer on the file).
   */
  tryJobLock(name: string): Promise<boolean>;
  /**
   * Calls `fn` once the current unit has committed (at once outside a unit; never if it rolls
   * back), outside its context: for waking a worker on this node that must see what the unit
   * wrote, and whose own units must not join it.
   */
  afterCommit(fn: () => void): void;
  /** Tells every node (this one included) that `channel` changed; sent when the unit commits. */
  notify(channel: string, payload?: string): Promise<void>;
  /** Calls `fn` whenever `channel` is notified, on any node. Returns the unsubscribe function. */
  listen(channel: string, fn: (payload: string) => void): () => void;
  /** Closes the connection(s); pending work is committed first. */
  close(): Promise<void>;
}

/**
 * How many rows an awaited insert, update or delete changed: better-sqlite3 answers
 * `{ changes }`, node-postgres `{ rowCount }`.
 */
export function affectedRows(result: unknown): number {
  const r = result as { changes?: number; rowCount?: number | null };
  return r.changes ?? r.rowCount ?? 0;
}

/**
 * Takes the job lock `name` (Store.tryJobLock) inside the current unit of work, trying again
 * every 20 ms while another node holds it, for up to `waitMs` milliseconds. Resolves to whether
 * it was taken. For work asked for now (a check, a catch-up) that should follow another node's
 * run rather than skip; periodic passes call tryJobLock once and skip.
 */
export async function waitForJobLock(store: Pick<Store, 'tryJobLock'>, name: string, waitMs: number): Promise<boolean> {
  for (const until = Date.now() + waitMs; ;) {
    if (await store.tryJobLock(name)) return true;
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
