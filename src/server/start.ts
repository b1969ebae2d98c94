import type Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from './app.js';
import type { RegisterConfig } from './config.js';
import type { Register } from './context.js';
import { startCheckpointer, type Checkpointer } from './db/checkpointer.js';
import { GroupCommit } from './db/group-commit.js';
import { openDatabase } from './db/open.js';
import { assertPostgresSchemaKnown } from './db/migrate-pg.js';
import { displayUrl } from './migrate-cli.js';
import { PostgresStore } from './db/postgres-store.js';
import type { Durability, Store } from './db/store.js';
import { SqliteStore } from './db/sqlite-store.js';
import type { Readiness } from './http/readiness.js';
import type { App } from './http/types.js';
import { Clock } from './lib/clock.js';
import { generateKeys, loadKeys, loadOrCreateKeys, type RegisterKeys } from './lib/keys.js';
import { AuditLog } from './services/audit.js';
import type { Services } from './services/index.js';
import { checkKeyFingerprint, followClockOffset, KeyMismatchError, loadSettings } from './services/settings.js';
import { seedDemo, type DemoSummary } from './seed/demo.js';

export interface RunningRegister {
  reg: Register;
  app: App;
  svc: Services;
  /** Base URL once listening, e.g. http://localhost:5001. */
  url: string | null;
  demo: DemoSummary | null;
  /** Said once at start about how the database is read, when it is not the usual way (see OpenedStore). */
  storageNote: string | null;
  /** Whether requests are served yet (GET /ready); see http/readiness.ts. */
  readiness: Readiness;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export class StartupError extends Error {}

/** What opening one engine gives the register: its store, and how to stop what it started. */
interface OpenedStore {
  store: Store;
  /** The SQLite connection (null on PostgreSQL). */
  sqlite: Database.Database | null;
  durability: Durability;
  keys: RegisterKeys;
  /** Names the database in errors ("/data/register.sqlite", "postgres://host/db"). */
  label: string;
  /** SQLite without its memory map (db/read-ahead.ts), and why; null otherwise. */
  storageNote: string | null;
  /** Started once listening (SQLite's WAL checkpoints). */
  startBackground(): void;
  close(): Promise<void>;
}

/** The key file named by --keys-file: it must exist, never made up here (every node shares one). */
function namedKeys(file: string): RegisterKeys {
  if (!existsSync(file)) throw new StartupError(`the key file ${file} does not exist (write one with: npm run register -- keys new ${file})`);
  try {
    return loadKeys(file);
  } catch (err) {
    throw new StartupError(`cannot read the key file ${file}: ${(err as Error).message}`);
  }
}

/** SQLite (the embedded default): the data folder's file, or an in-memory database (tests). */
function openSqlite(config: RegisterConfig, current: () => Durability): OpenedStore {
  let dbFile = ':memory:';
  let keys = config.keysFile ? namedKeys(config.keysFile) : generateKeys();
  let keyFileMissing: string | null = null;
  if (config.dataDir) {
    try {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      accessSync(config.dataDir, constants.W_OK);
    } catch (err) {
      throw new StartupError(`data directory ${config.dataDir} is not writable: ${(err as Error).message}`);
    }
    dbFile = join(config.dataDir, 'register.sqlite');
    // A database without its key file beside it was written with --keys-file (or lost its key
    // file): a fresh one written here could never read it, and would be mistaken for its key.
    // Refused once the database has opened, so a schema error is still reported first.
    if (!config.keysFile && existsSync(dbFile) && !existsSync(join(config.dataDir, 'register.keys.json'))) {
      keyFileMissing = `${dbFile} exists but ${join(config.dataDir, 'register.keys.json')} does not: start with the key file the database was written with (--keys-file <file>)`;
    } else if (!config.keysFile) {
      try {
        keys = loadOrCreateKeys(join(config.dataDir, 'register.keys.json'));
      } catch (err) {
        throw new StartupError(`cannot read or create the key file: ${(err as Error).message}`);
      }
    }
  }
  let opened;
  try {
    opened = openDatabase(dbFile, config.migrationsFolder);
  } catch (err) {
    throw new StartupError(`database ${dbFile} could not be opened or migrated: ${(err as Error).message}`);
  }
  const { sqlite, db, reads } = opened;
  if (keyFileMissing) {
    sqlite.close();
    throw new StartupError(keyFileMissing);
  }
  const durability = new GroupCommit(sqlite, dbFile === ':memory:' ? null : `${dbFile}-wal`);
  // WAL checkpoints run on a worker thread, off the event loop (db/checkpointer.ts); started
  // once listening, so the thread's start-up does not delay the first answer.
  const reported = new Set<string>();
  let checkpointer: Checkpointer | null = null;
  return {
    // Through `current` (the register's durability, not this local) so a test can swap in an instrumented one.
    store: new SqliteStore(db, () => current() as GroupCommit),
    sqlite,
    durability,
    keys,
    label: dbFile,
    storageNote: reads.note,
    startBackground() {
      if (dbFile === ':memory:' || checkpointer) return;
      checkpointer = startCheckpointer(sqlite, dbFile, 100, (message) => {
        if (reported.has(message)) return;
        reported.add(message);
        process.stderr.write(`register: background WAL checkpoint failed (the register's own checkpoint still runs): ${message}\n`);
      });
    },
    async close() {
      await checkpointer?.stop();
      // Commit the open batch (its requests, if any, were answered only after a durable() that
      // committed it; this catches background writes of the last turn).
      current().endBatch();
      durability.close();
      sqlite.close();
    },
  };
}

/**
 * PostgreSQL (deployments, `--db postgres://…`): one of several nodes sharing the database. The
 * schema must be exactly this code's version (nodes never migrate by themselves:
 * `npm run register -- migrate --db <url>`), and the key file is named (--keys-file), the same
 * on every node.
 */
async function openPostgres(config: RegisterConfig, url: string): Promise<OpenedStore> {
  if (!config.keysFile) throw new StartupError('a register on PostgreSQL needs --keys-file <file>, the same key file on every node (write one with: npm run register -- keys new <file>)');
  const keys = namedKeys(config.keysFile);
  const label = displayUrl(url);
  const store = new PostgresStore({ url, applicationName: 'dar-register' });
  try {
    const client = await store.pool.connect();
    try {
      await assertPostgresSchemaKnown(client, config.pgMigrationsFolder);
    } finally {
      client.release();
    }
  } catch (err) {
    await store.close().catch(() => undefined);
    throw new StartupError(`database ${label}: ${(err as Error).message}`);
  }
  return { store, sqlite: null, durability: store.durability, keys, label, storageNote: null, startBackground: () => undefined, close: () => store.close() };
}

/** Opens the data folder and database, migrates (SQLite), seeds, builds the app. Does not listen yet. */
export async function createRegister(config: RegisterConfig, logger: boolean | object = false): Promise<RunningRegister> {
  const reg = {} as Register;
  const opened = config.databaseUrl ? await openPostgres(config, config.databaseUrl) : openSqlite(config, () => reg.durability);
  const { store, keys } = opened;
  const clock = new Clock();
  Object.assign(reg, {
    config,
    origin: config.origin ?? `http://localhost:${config.port}`,
    sqlite: opened.sqlite,
    store,
    keys,
    clock,
    audit: new AuditLog(store, keys.signingKey, clock),
    tx: <T>(fn: () => Promise<T> | T): Promise<T> => store.tx(fn),
    durability: opened.durability,
  } satisfies Omit<Register, 'db'>);
  // The current unit's handle: on PostgreSQL each unit of work has a connection of its own.
  Object.defineProperty(reg, 'db', { get: () => store.db, enumerable: true });
  try {
    await checkKeyFingerprint(reg);
  } catch (err) {
    await opened.close();
    if (err instanceof KeyMismatchError) throw new StartupError(`refusing to start on ${opened.label}: ${err.message}. Start with the key file it was written with (--keys-file), or with a new data folder.`);
    throw err;
  }
  await loadSettings(reg);
  // Another node sharing the database may move the sandbox clock: follow it (services/settings.ts).
  const stopFollowingClock = await followClockOffset(reg);

  const { app, svc, readiness } = await buildApp(reg, logger);
  const running: RunningRegister = {
    reg,
    app,
    svc,
    url: null,
    demo: null,
    storageNote: opened.storageNote,
    readiness,
    async listen() {
      // The demo's return URLs name the port, which `--port 0` only fixes once listening:
      // until the demo is loaded, every request answers 503 + Retry-After (never a 401 for a
      // demo account that does not exist yet).
      if (config.seed === 'demo') readiness.notReady('loading the demo data');
      try {
        await app.listen({ port: config.port, host: config.host });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new StartupError(`port ${config.port} on ${config.host} is already in use (try --port)`);
        if (e.code === 'EACCES') throw new StartupError(`not allowed to listen on ${config.host}:${config.port}`);
        throw new StartupError(`could not listen on ${config.host}:${config.port}: ${e.message}`);
      }
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : config.port;
      if (!config.origin) reg.origin = `http://localhost:${actualPort}`;
      if (config.seed === 'demo') running.demo = await seedDemo(reg, svc);
      readiness.markReady();
      running.url = `http://localhost:${actualPort}`;
      opened.startBackground();
      if (config.workers) for (const w of svc.workers) w.start();
      return running.url;
    },
    async close() {
      readiness.notReady('shutting down');
      stopFollowingClock();
      for (const w of [...svc.workers].reverse()) await w.stop();
      await app.close();
      svc.snapshots.dispose();
      await opened.close();
    },
  };
  return running;
}
