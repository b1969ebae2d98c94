import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';
import { readPlan, type ReadPlan } from './read-ahead.js';
import { compareSchema, newerSchemaMessage, readJournal, SchemaVersionError, sqliteAppliedMigrations } from './schema-version.js';

/** drizzle's handle; `$client` is the better-sqlite3 connection underneath (as `drizzle()` returns it). */
export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface OpenedDatabase {
  /** The raw better-sqlite3 handle: transactions, pragmas, integrity checks. */
  sqlite: Database.Database;
  /** The drizzle handle every service uses. */
  db: Db;
  /** How the file is read: through a memory map or by pread(), from its disk's read-ahead (db/read-ahead.ts). */
  reads: ReadPlan;
}

/**
 * Opens (or creates) the register's database and brings its schema up to date.
 * `file` may be ':memory:' for fast tests. The handle is created once by the caller
 * and passed down; there is no global connection.
 */
export function openDatabase(file: string, migrationsFolder: string, plan: (file: string) => ReadPlan = readPlan): OpenedDatabase {
  if (file !== ':memory:') restrictToOwner(file);
  const sqlite = new Database(file);
  // WAL lets readers proceed during writes; FULL makes every commit durable across power loss
  // (migrations run with it). Once the register runs, group commit switches to NORMAL and makes
  // commits durable itself, with one fsync for many, before anything is answered
  // (db/group-commit.ts).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Reads come straight from the OS's pages of the file instead of a pread() copy per page
  // outside SQLite's own 16 MB cache: measured at 100k records, verify 7–25 % less CPU per
  // request (docs/performance.md "Memory and `mmap_size`"). The mapped pages are file-backed,
  // which the OS may drop at any time, so they are not part of the anonymous-memory budget.
  // SQLite's build caps the map at 2 GiB; a larger file is read by pread() beyond that. Not on
  // a disk that reads far ahead around each page fault: there a cold page costs megabytes of
  // reading (db/read-ahead.ts).
  const reads = file === ':memory:' ? { mmapBytes: 0, readAheadKb: null, note: null } : plan(file);
  sqlite.pragma(`mmap_size = ${reads.mmapBytes}`);
  const db = drizzle(sqlite, { schema });
  // A file a newer register migrated would otherwise be served as if current (drizzle applies
  // only migrations newer than the last one recorded): refuse it instead.
  const known = compareSchema(sqliteAppliedMigrations(sqlite), readJournal(migrationsFolder));
  if (known.status === 'newer') {
    sqlite.close();
    throw new SchemaVersionError(newerSchemaMessage(known));
  }
  migrate(db, { migrationsFolder });
  // Refresh planner statistics where they are stale (cheap; recommended at connection open).
  // Start-up time (docs/performance.md): without a limit, the first optimize on a large database runs a
  // full ANALYZE (≈0.5 s per 100 k records, many seconds at 1 M); analysis_limit makes it an
  // approximate one that reads a bounded number of rows per index, as SQLite recommends.
  sqlite.pragma('analysis_limit = 1000');
  sqlite.pragma('optimize = 0x10002');
  return { sqlite, db, reads };
}

/**
 * The database holds personal data (encrypted e-mail copies, identity records), so its files are
 * readable by the register's user only (0600), whatever the data folder's mode or the umask.
 * The file is created (or tightened) before SQLite opens it; SQLite then creates the WAL and
 * shared-memory files with the database file's permissions. Leftover WAL/SHM files from an
 * earlier run are tightened too.
 */
function restrictToOwner(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}
