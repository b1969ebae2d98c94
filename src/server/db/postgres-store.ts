/**
 * The Store on PostgreSQL (deployments: several register nodes on one database). A pool of
 * connections; a unit of work (`tx`) holds one of them from BEGIN to COMMIT, and every query made
 * inside it, however deep in the call chain, is routed to that connection (AsyncLocalStorage).
 * Commit is durable when it returns (synchronous_commit on, PostgreSQL's default), so there is
 * no group commit to wait for. Locks are PostgreSQL's own: advisory locks scoped to the
 * transaction (they end with it, also when a node dies), and notifications are NOTIFY/LISTEN,
 * which PostgreSQL delivers only when the notifying transaction commits.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { postgresDialect } from './postgres-dialect.js';
import type { Db } from './open.js';
import type * as schema from './schema.js';
import * as pgSchema from './schema-pg.js';
import type { Durability, Preparable, Prepared, PreparedValue, Store, ValueQuery } from './store.js';
import { onlyField } from './value-query.js';

type PgDb = NodePgDatabase<typeof pgSchema>;

/** Nothing to wait for: PostgreSQL's COMMIT returns once the commit record is flushed. */
const COMMITTED_IS_DURABLE: Durability = { pending: false, durable: () => Promise.resolve(), endBatch: () => undefined };

/** An advisory lock key (bigint) for a name: the first 8 bytes of its SHA-256, signed. */
export function advisoryKey(name: string): bigint {
  return createHash('sha256').update(name).digest().readBigInt64BE(0);
}

// int8 (counts, ms instants, ids) read as JS numbers, as SQLite's integers are: every value
// the register stores is below 2^53. drizzle's node-postgres session falls back to pg's global
// parser table for every type it does not parse itself, and passes its own `types` with each
// query (overriding a pool's), so the global table is the one place this takes effect.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

/**
 * SQLSTATEs that mean the server cannot serve this connection now, not that the query is wrong:
 * class 08 (connection exception), 57P01–57P03 (terminated by a shutdown or crash, or "the
 * database system is starting up / in recovery"), 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** node-postgres's own messages for a connection that broke, closed or never opened in time. */
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect)$/;
/** Socket and name-lookup failures on the way to the server. */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether an error means PostgreSQL was unreachable or went away (a restart, a failover, a
 * network cut), so the request may be retried once it is back: the error handler answers these
 * 503 SRV001 with Retry-After rather than 500. Looks through drizzle's DrizzleQueryError (`cause`)
 * and Node's AggregateError (`errors`: one per address tried). Never true for a fault of the query
 * itself (a constraint, a syntax error) nor for SQLite's errors.
 */
export function databaseUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 5) return false;
  const code = (err as { code?: unknown }).code;
  if (err instanceof pg.DatabaseError) return typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code);
  if (typeof code === 'string' && UNAVAILABLE_ERRNO.has(code)) return true;
  if (UNAVAILABLE_MESSAGE.test(err.message)) return true;
  if (err instanceof AggregateError && err.errors.some((e) => databaseUnavailable(e, depth + 1))) return true;
  return databaseUnavailable(err.cause, depth + 1);
}

/**
 * How long a query waits for a connection before failing, in ms: a new one (the server does not
 * answer), or a free one from the pool (every connection busy that long: the request is shed with
 * a 503 rather than queued without end).
 */
export const CONNECT_TIMEOUT_MS = 5000;

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections in the pool (default 10). */
  max?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
}

export class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  readonly tables = pgSchema as unknown as typeof schema;
  readonly dialect = postgresDialect;
  readonly durability = COMMITTED_IS_DURABLE;
  readonly pool: pg.Pool;
  private readonly root: PgDb;
  /**
   * The current unit: its transaction, what waits for its commit, and whether it is still
   * running. Work the unit schedules (a timer, a worker's kick) inherits this store too; once the
   * unit has ended (`live` false) that work's queries go to the pool and its units are units of
   * their own, never savepoints on a connection already handed back.
   */
  private readonly unit = new AsyncLocalStorage<{ tx: PgDb; after: (() => void)[]; live: boolean }>();
  /** Outermost units running now (on their own connections). */
  private liveUnits = 0;
  private readonly channels = new EventEmitter();
  private listener: pg.Client | null = null;
  private listening = new Set<string>();
  private listenerReady: Promise<void> | null = null;
  private closed = false;

  constructor(options: PostgresStoreOptions) {
    // connectionTimeoutMillis: with the server unreachable (packets dropped rather than refused),
    // a request fails after CONNECT_TIMEOUT_MS (503, see databaseUnavailable) instead of hanging.
    this.pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 10, application_name: options.applicationName ?? 'dar-register', connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle connection that dies (the server restarts) must not crash the node; the pool
    // drops it and the next query opens a new one.
    this.pool.on('error', () => undefined);
    // Nor one that dies while checked out (a unit of work holds it): the pool listens for errors
    // only on idle connections, and node-postgres emits 'error' on the connection besides
    // failing its query, which with no listener would end the process. The query's own failure
    // reaches the caller; the broken connection is dropped when it is released.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.root = drizzle(this.pool, { schema: pgSchema });
    this.channels.setMaxListeners(0);
  }

  /** The current unit's transaction, or the pool (each query then takes any free connection). */
  get db(): Db {
    return this.handle as unknown as Db;
  }

  private get handle(): PgDb {
    return this.current()?.tx ?? this.root;
  }

  /** The running unit, if this call chain is inside one that has not ended. */
  private current() {
    const unit = this.unit.getStore();
    return unit?.live ? unit : undefined;
  }

  async tx<T>(fn: () => Promise<T> | T): Promise<T> {
    const outer = this.current();
    // Inside a unit: a savepoint on the same connection (drizzle nests that way); what it
    // defers to after commit waits for the outermost unit.
    if (outer) {
      return outer.tx.transaction(async (tx) => {
        const inner = { tx, after: outer.after, live: true };
        try {
          return await this.unit.run(inner, async () => fn());
        } finally {
          inner.live = false;
        }
      });
    }
    const after: (() => void)[] = [];
    const result = await this.root.transaction(async (tx) => {
      const unit = { tx, after, live: true };
      this.liveUnits++;
      try {
        return await this.unit.run(unit, async () => fn());
      } finally {
        // Ended before COMMIT is sent: nothing scheduled from it can join it from now on.
        unit.live = false;
        // With no unit running, no call chain needs its marker until the next unit's `run`
        // turns the storage on again; while it is on, Node calls a hook for every promise the
        // process creates (docs/performance.md "Asynchronous context between units").
        if (--this.liveUnits === 0) this.unit.disable();
      }
    });
    for (const f of after) this.unit.exit(f);
    return result;
  }

  afterCommit(fn: () => void): void {
    const unit = this.current();
    if (unit) unit.after.push(fn);
    else this.unit.exit(fn);
  }

  prepare<R>(name: string, build: (db: Db, tables: typeof schema) => Preparable<R>): Prepared<R> {
    type Query = { execute(p?: Record<string, unknown>): Promise<R> };
    const prepareOn = (db: Db) => (build(db, this.tables) as unknown as { prepare(name: string): Query }).prepare(name);
    // Outside a unit the query runs on the pool, the same handle every time: built once (building
    // it was about a tenth of the register's time serving verify). Inside a unit it is bound to
    // that unit's transaction, so built per call. PostgreSQL keeps the named statement prepared
    // per connection either way.
    let pooled: Query | null = null;
    return {
      execute: (placeholders) => {
        if (this.current()) return prepareOn(this.db).execute(placeholders);
        pooled ??= prepareOn(this.root as unknown as Db);
        return pooled.execute(placeholders);
      },
    };
  }

  prepareValue<T>(name: string, build: (db: Db, tables: typeof schema) => ValueQuery<T>): PreparedValue<T> {
    const { key } = onlyField(build(this.root as unknown as Db, this.tables), name);
    const query = this.prepare(name, build);
    return {
      execute: async (placeholders) => {
        const [row] = await query.execute(placeholders);
        return row?.[key];
      },
    };
  }

  async rows<T>(query: SQL): Promise<T[]> {
    return (await this.handle.execute(query)).rows as T[];
  }

  async execute(query: SQL): Promise<number> {
    return (await this.handle.execute(query)).rowCount ?? 0;
  }

  private inUnit(what: string): PgDb {
    const unit = this.current();
    if (!unit) throw new Error(`${what} needs a unit of work (store.tx)`);
    return unit.tx;
  }

  async lockKey(key: string): Promise<void> {
    await this.inUnit('lockKey').execute(sql`select pg_advisory_xact_lock(${advisoryKey(`key:${key}`)})`);
  }

  async tryJobLock(name: string): Promise<boolean> {
    const { rows } = await this.inUnit('tryJobLock').execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${advisoryKey(`job:${name}`)}) as locked`);
    return rows[0].locked;
  }

  async notify(channel: string, payload = ''): Promise<void> {
    // Inside a unit, PostgreSQL holds the notification until COMMIT (and drops it on rollback).
    await this.handle.execute(sql`select pg_notify(${channel}, ${payload})`);
  }

  listen(channel: string, fn: (payload: string) => void): () => void {
    this.channels.on(channel, fn);
    this.listening.add(channel);
    void this.ensureListener().catch(() => undefined);
    return () => this.channels.off(channel, fn);
  }

  /**
   * One connection of its own LISTENs on every channel. When it breaks (the server restarted),
   * it is opened again after a second and re-LISTENs; notifications sent meanwhile are lost,
   * which is why every listener also polls (a notification only makes things faster).
   */
  private ensureListener(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.listenerReady ??= (async () => {
      const client = new pg.Client({ connectionString: this.pool.options.connectionString, application_name: 'dar-register listen', connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      client.on('notification', (n) => this.channels.emit(n.channel, n.payload ?? ''));
      const reopen = () => {
        if (this.listener !== client) return;
        this.listener = null;
        this.listenerReady = null;
        if (!this.closed) setTimeout(() => void this.ensureListener().catch(() => undefined), 1000).unref();
      };
      client.on('error', reopen);
      client.on('end', reopen);
      try {
        await client.connect();
        this.listener = client;
        for (const channel of this.listening) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
      } catch (err) {
        this.listenerReady = null;
        await client.end().catch(() => undefined);
        if (!this.closed) setTimeout(() => void this.ensureListener().catch(() => undefined), 1000).unref();
        throw err;
      }
    })();
    // A channel added after the connection was made.
    return this.listenerReady.then(async () => {
      const client = this.listener;
      if (!client) return;
      for (const channel of this.listening) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.removeAllListeners();
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}
