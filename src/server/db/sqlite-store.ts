/**
 * The Store on SQLite (the embedded default): one better-sqlite3 connection in WAL mode, units of
 * work batched by group commit (group-commit.ts). One process writes the file at a time, so the
 * per-key and job locks are already held by whoever writes; notifications stay in this process.
 */
import { EventEmitter } from 'node:events';
import { fillPlaceholders, type SQL } from 'drizzle-orm';
import type { GroupCommit } from './group-commit.js';
import { sqliteDialect } from './sqlite-dialect.js';
import type { Db } from './open.js';
import * as schema from './schema.js';
import type { Preparable, Prepared, PreparedValue, Store, ValueQuery } from './store.js';
import { onlyField } from './value-query.js';

export class SqliteStore implements Store {
  readonly engine = 'sqlite' as const;
  readonly tables = schema;
  readonly dialect = sqliteDialect;
  private readonly channels = new EventEmitter();

  /**
   * @param durability group commit on this connection. Read through `current` on every call,
   *   so a test can swap in an instrumented one.
   */
  constructor(
    readonly db: Db,
    private readonly current: () => GroupCommit,
  ) {
    this.channels.setMaxListeners(0);
  }

  get durability(): GroupCommit {
    return this.current();
  }

  tx<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.current().tx(fn);
  }

  prepare<R>(_name: string, build: (db: Db, tables: typeof schema) => Preparable<R>): Prepared<R> {
    // One connection: prepared once, on it.
    const q = build(this.db, schema).prepare() as unknown as { execute(p?: Record<string, unknown>): { sync(): R } };
    // better-sqlite3 runs the statement synchronously: take its result at once rather than
    // through drizzle's promise wrapper (three promise hops per query on the hottest paths).
    return {
      execute: (placeholders) => {
        try {
          return Promise.resolve(q.execute(placeholders).sync());
        } catch (err) {
          return Promise.reject(err as Error);
        }
      },
    };
  }

  prepareValue<T>(name: string, build: (db: Db, tables: typeof schema) => ValueQuery<T>): PreparedValue<T> {
    const query = build(this.db, schema);
    const { decoder } = onlyField(query, name);
    const { sql: text, params } = query.toSQL();
    // drizzle's SQL and placeholders, run by better-sqlite3 itself: `pluck().get()` hands over
    // the first row's first column, with no row array or mapped object per call. In the running
    // register drizzle's mapping of a one-row result cost about half as much as the lookup itself
    // (docs/performance.md, "1 December"). drizzle's query logger and cache are bypassed too;
    // the register configures neither (db/open.ts).
    const stmt = this.db.$client.prepare(text).pluck();
    return {
      execute: (placeholders) => {
        try {
          const value: unknown = stmt.get(...fillPlaceholders(params, placeholders ?? {}));
          // As drizzle maps a row: NULL stays null, anything else goes through the field's decoder.
          return Promise.resolve((value === undefined || value === null ? value : decoder.mapFromDriverValue(value)) as T | undefined);
        } catch (err) {
          return Promise.reject(err as Error);
        }
      },
    };
  }

  rows<T>(query: SQL): Promise<T[]> {
    return Promise.resolve(this.db.all<T>(query));
  }

  execute(query: SQL): Promise<number> {
    return Promise.resolve(this.db.run(query).changes);
  }

  lockKey(): Promise<void> {
    return Promise.resolve();
  }

  tryJobLock(): Promise<boolean> {
    return Promise.resolve(true);
  }

  afterCommit(fn: () => void): void {
    this.current().afterUnit(fn);
  }

  notify(channel: string, payload = ''): Promise<void> {
    // After the current unit (listeners then read what it wrote), and not in its context.
    this.afterCommit(() => setImmediate(() => this.channels.emit(channel, payload)));
    return Promise.resolve();
  }

  listen(channel: string, fn: (payload: string) => void): () => void {
    this.channels.on(channel, fn);
    return () => this.channels.off(channel, fn);
  }

  close(): Promise<void> {
    this.current().endBatch();
    this.channels.removeAllListeners();
    if (this.db.$client.open) this.db.$client.close();
    return Promise.resolve();
  }
}
