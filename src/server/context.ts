import type Database from 'better-sqlite3';
import type { RegisterConfig } from './config.js';
import type { Db } from './db/open.js';
import type { Durability, Store } from './db/store.js';
import type { Clock } from './lib/clock.js';
import type { RegisterKeys } from './lib/keys.js';
import type { AuditLog } from './services/audit.js';

/**
 * Everything a request handler or worker needs, created once at start-up and passed in.
 * There are no module-level singletons: two registers can run in one process (tests).
 */
export interface Register {
  config: RegisterConfig;
  /** The origin customers see (magic links, passkey pages), e.g. http://localhost:5001. */
  origin: string;
  /** The SQLite connection, for what only SQLite has (snapshots, checkpoints, its search index); null on PostgreSQL. */
  sqlite: Database.Database | null;
  /** `store.db`: the drizzle handle of the current unit of work (a getter: on PostgreSQL each unit has its own). */
  readonly db: Db;
  /** The storage engine (db/store.ts): transactions, locks, durability, notifications. */
  store: Store;
  keys: RegisterKeys;
  clock: Clock;
  audit: AuditLog;
  /**
   * Runs `fn` as one all-or-nothing unit: the state change and its audit/outbox rows commit
   * together. Units handled in the same turn of the event loop share one COMMIT (group commit).
   * The same as `store.tx`.
   */
  tx<T>(fn: () => Promise<T> | T): Promise<T>;
  /**
   * `durability.durable()` resolves once everything committed so far is on disk; every HTTP
   * response, webhook and e-mail waits for it. SQLite: group commit (db/group-commit.ts);
   * PostgreSQL: a commit is durable when it returns.
   */
  durability: Durability;
}
