/**
 * A private PostgreSQL for the tests (docs/deploying.md "Tests and CI"): Debian's binaries,
 * `initdb` in a temporary folder owned by the `postgres` user, listening on 127.0.0.1 only,
 * port 55432 (DAR_TEST_PG_PORT). It starts on demand, the first time a test file asks for a
 * database, so SQLite-only runs never touch it. The first caller also builds a template
 * database migrated through drizzle-pg/; each test file then gets its own database cloned
 * from it (CREATE DATABASE … TEMPLATE …), which takes milliseconds.
 *
 * The vitest global setup (postgres-global.ts) clears what a crashed earlier run left (a
 * server still running from the folder, a stale PID file) and stops the server at the end.
 *
 * Binaries missing: outside CI the PostgreSQL tests skip with a message; with CI set (true, 1)
 * they fail, so CI cannot go green without them.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { migratePostgres } from '../../src/server/db/migrate-pg.js';

export const PG_PORT = Number(process.env.DAR_TEST_PG_PORT ?? 55432);
export const PG_HOST = '127.0.0.1';
/** Fixed per port, so a later run finds what a crashed one left. */
export const PG_ROOT = join(tmpdir(), `dar-test-pg-${PG_PORT}`);
const DATA = join(PG_ROOT, 'data');
const OWNER = join(PG_ROOT, 'owner');
const LOCK = `${PG_ROOT}.lock`;
export const PG_MIGRATIONS = resolve(import.meta.dirname, '..', '..', 'drizzle-pg');

/** The folder holding initdb/pg_ctl: DAR_TEST_PG_BIN, else the newest Debian install, else pg_config's. */
export function pgBinDir(): string | null {
  const fromEnv = process.env.DAR_TEST_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : null;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(debian, versions[0], 'bin');
  }
  const cfg = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = cfg.status === 0 ? cfg.stdout.trim() : '';
  return dir && existsSync(join(dir, 'initdb')) ? dir : null;
}

/**
 * Whether this machine can run the PostgreSQL tests. With CI set a missing PostgreSQL throws
 * (the test file fails); elsewhere it returns a reason to skip, printed once per file.
 */
export function postgresAvailable(): boolean {
  if (pgBinDir()) return true;
  const why = 'PostgreSQL binaries not found (apt-get install postgresql, or set DAR_TEST_PG_BIN to the folder holding initdb)';
  const ci = (process.env.CI ?? '').toLowerCase();
  if (ci !== '' && ci !== 'false' && ci !== '0') throw new Error(`CI: ${why}; the PostgreSQL tests cannot be skipped in CI`);
  console.warn(`skipping the PostgreSQL tests: ${why}`);
  return false;
}

export const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary (initdb, pg_ctl) from pgBinDir(), as the `postgres` user when we are root (initdb and postgres refuse to run as root). */
export function pgRun(cmd: string, args: string[], timeout = 60_000): SpawnSyncReturns<string> {
  const bin = join(pgBinDir()!, cmd);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  return asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8', env, timeout, cwd: '/' }) : spawnSync(bin, args, { encoding: 'utf8', env, timeout });
}

function mustRun(cmd: string, args: string[]): void {
  const r = pgRun(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}${logTail()}`);
}

function logTail(): string {
  const log = join(PG_ROOT, 'server.log');
  return existsSync(log) ? `\n--- server.log ---\n${readFileSync(log, 'utf8').slice(-2000)}` : '';
}

/**
 * Whether a process is running. A zombie counts as gone: a postmaster stopped after its parent
 * died is re-parented to PID 1, and in a container PID 1 may never reap it, so `kill(pid, 0)`
 * alone would call it alive for good (proc(5): state Z in /proc/<pid>/stat).
 */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two checks
  }
}

const running = () => existsSync(join(DATA, 'postmaster.pid')) && pgRun('pg_ctl', ['status', '-D', DATA]).status === 0;

/** The vitest run this server belongs to: its main process (set by the global setup). */
const runId = () => Number(process.env.DAR_TEST_PG_RUN ?? process.ppid);

/**
 * Clears what an earlier run left: a server still running from our folder (stopped through its
 * PID file), a stale PID file, the folder itself. Leaves a server whose run is still alive.
 */
export function cleanupStale(): void {
  if (!existsSync(PG_ROOT)) return;
  const owner = existsSync(OWNER) ? Number(readFileSync(OWNER, 'utf8')) : 0;
  if (owner && owner !== runId() && alive(owner)) return; // another live run's server
  if (running()) pgRun('pg_ctl', ['stop', '-D', DATA, '-m', 'immediate', '-w']);
  rmSync(PG_ROOT, { recursive: true, force: true });
  rmSync(LOCK, { recursive: true, force: true });
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: PG_HOST, port });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

/** A lock between vitest's worker processes: mkdir is atomic. Breaks a lock older than 2 min. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface ServerTimings {
  /** initdb, in ms (null when the server was already running). */
  initdbMs: number | null;
  /** pg_ctl start until it accepts connections, in ms. */
  startMs: number | null;
  /** Migrating the template through drizzle-pg/, in ms (null when it existed). */
  templateMigrateMs: number | null;
}

/** Starts the server if it is not running and builds the template; idempotent across workers. */
export async function ensureServer(): Promise<ServerTimings & { template: string }> {
  if (!pgBinDir()) throw new Error('PostgreSQL binaries not found');
  return withLock(async () => {
    const timings: ServerTimings = { initdbMs: null, startMs: null, templateMigrateMs: null };
    const owner = existsSync(OWNER) ? Number(readFileSync(OWNER, 'utf8')) : 0;
    // A server whose run crashed is stopped and rebuilt rather than adopted: nothing of it is trusted.
    if (running() && owner !== runId() && !alive(owner)) cleanupStale();
    if (!running()) {
      cleanupStale();
      if (await portInUse(PG_PORT)) {
        throw new Error(`port ${PG_PORT} on ${PG_HOST} is in use by another process (not this test server); stop it or set DAR_TEST_PG_PORT`);
      }
      mkdirSync(PG_ROOT, { recursive: true, mode: 0o700 });
      if (asRoot) spawnSync('chown', ['postgres:postgres', PG_ROOT]);
      writeFileSync(OWNER, String(runId()));
      let t = performance.now();
      // trust: the server listens on 127.0.0.1 only and lives for one test run.
      mustRun('initdb', ['-D', DATA, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
      timings.initdbMs = performance.now() - t;
      t = performance.now();
      // fsync off: a test server's data need not survive a power cut, and it saves the 2-core CI machine's disk.
      const opts = `-p ${PG_PORT} -c listen_addresses=${PG_HOST} -c unix_socket_directories=${PG_ROOT} -c fsync=off -c full_page_writes=off -c max_connections=200`;
      mustRun('pg_ctl', ['start', '-D', DATA, '-l', join(PG_ROOT, 'server.log'), '-w', '-t', '60', '-o', opts]);
      timings.startMs = performance.now() - t;
    }
    const template = templateName();
    const admin = await connect('postgres');
    try {
      const has = await admin.query('select 1 from pg_database where datname = $1', [template]);
      if (has.rowCount === 0) {
        // Built under another name and renamed when complete, so a crash never leaves a half-migrated template.
        const building = `${template}_building`;
        await admin.query(`drop database if exists "${building}"`);
        await admin.query(`create database "${building}"`);
        const t = performance.now();
        await migratePostgres(urlFor(building), PG_MIGRATIONS);
        timings.templateMigrateMs = performance.now() - t;
        await admin.query(`alter database "${building}" rename to "${template}"`);
        await admin.query(`alter database "${template}" with is_template true`);
      }
    } finally {
      await admin.end();
    }
    if (process.env.DAR_TEST_PG_TIMINGS && (timings.startMs !== null || timings.templateMigrateMs !== null)) {
      const ms = (n: number | null) => (n === null ? '-' : `${Math.round(n)} ms`);
      console.log(`[postgres] initdb ${ms(timings.initdbMs)}, start ${ms(timings.startMs)}, template migrated in ${ms(timings.templateMigrateMs)}`);
    }
    return { ...timings, template };
  });
}

/** The template's name follows drizzle-pg/'s contents, so a changed migration builds a new one. */
function templateName(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(f).update(readFileSync(p));
    }
  };
  walk(PG_MIGRATIONS);
  return `dar_template_${h.digest('hex').slice(0, 12)}`;
}

export const urlFor = (database: string) => `postgres://postgres@${PG_HOST}:${PG_PORT}/${database}`;

export async function connect(database: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: urlFor(database) });
  await c.connect();
  return c;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** CREATE DATABASE … TEMPLATE …, in ms. */
  cloneMs: number;
  drop(): Promise<void>;
}

let seq = 0;

/**
 * A database of the test file's own: a clone of the migrated template, or empty (`migrated:
 * false`) for tests that migrate it themselves. Drop it in afterAll.
 */
export async function testDatabase(label: string, { migrated = true } = {}): Promise<TestDatabase> {
  const { template } = await ensureServer();
  const name = `t_${label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30)}_${process.pid}_${++seq}`;
  const admin = await connect('postgres');
  try {
    const t = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(migrated ? `create database "${name}" template "${template}"` : `create database "${name}"`);
        break;
      } catch (e) {
        // 55006: the template is briefly in use (another worker cloning it); try again.
        if ((e as { code?: string }).code !== '55006' || attempt >= 50) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const cloneMs = performance.now() - t;
    return {
      name,
      url: urlFor(name),
      cloneMs,
      drop: async () => {
        const c = await connect('postgres');
        try {
          await c.query(`drop database if exists "${name}" with (force)`);
        } finally {
          await c.end();
        }
      },
    };
  } finally {
    await admin.end();
  }
}

/** Stops the server by its PID file (pg_ctl) and removes its folder. Returns the time taken, or null if none ran. */
export function stopServer(): number | null {
  if (!existsSync(PG_ROOT)) return null;
  const t = performance.now();
  // immediate: the folder is deleted next, so a shutdown checkpoint would be wasted work.
  if (running()) pgRun('pg_ctl', ['stop', '-D', DATA, '-m', 'immediate', '-w']);
  rmSync(PG_ROOT, { recursive: true, force: true });
  return performance.now() - t;
}

/** Whether this run (not another live one) owns the server folder. */
export function ownedByThisRun(): boolean {
  return existsSync(OWNER) && Number(readFileSync(OWNER, 'utf8')) === runId();
}
