/**
 * `npm run register -- migrate --db <postgres://… | SQLite file>`: brings a database's schema up
 * to this register's version and exits; no server starts (docs/deploying.md). PostgreSQL runs
 * under an advisory lock, so concurrent runs are safe; a SQLite file goes through the same path
 * the register takes when it opens it.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { nextFlag, PROJECT_ROOT, UsageError } from './config.js';
import { compareSchema, newerSchemaMessage, readJournal, SchemaVersionError, sqliteAppliedMigrations, type SchemaVersion } from './db/schema-version.js';

const USAGE = `Usage: npm run register -- migrate --db <postgres://user@host:port/database | SQLite file>`;

export function parseMigrateArgs(argv: string[]): { db: string } | 'help' {
  let db: string | undefined;
  const args = [...argv];
  while (args.length > 0) {
    const next = nextFlag(args);
    if (next === 'help') return 'help';
    if (next.flag !== '--db') throw new UsageError(`migrate: unknown option "${next.flag}"`);
    db = next.take();
  }
  if (!db) throw new UsageError('migrate needs --db <postgres://… or SQLite file>');
  return { db };
}

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/** A database URL without its password, for messages and logs. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

const show = (v: SchemaVersion) => `version ${v.version}${v.tag ? ` (${v.tag})` : ''}`;

/** Runs the command; resolves with the process exit code. */
export async function runMigrateCommand(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  let parsed;
  try {
    parsed = parseMigrateArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`register: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const started = performance.now();
  try {
    if (isPostgresUrl(parsed.db)) {
      const { migratePostgres } = await import('./db/migrate-pg.js');
      const r = await migratePostgres(parsed.db, resolve(PROJECT_ROOT, 'drizzle-pg'));
      const ms = Math.round(performance.now() - started);
      const waited = r.waitedMs >= 50 ? ` after waiting ${Math.round(r.waitedMs)} ms for another migrate run` : '';
      out.write(
        r.applied > 0
          ? `register: migrated ${displayUrl(parsed.db)} from ${show(r.from)} to ${show(r.to)}: ${r.applied} migration(s) applied in ${ms} ms${waited}\n`
          : `register: ${displayUrl(parsed.db)} is already at ${show(r.to)}; nothing to apply${waited}\n`,
      );
    } else {
      const file = resolve(parsed.db);
      const folder = resolve(PROJECT_ROOT, 'drizzle');
      // Said plainly, before SQLite answers "disk I/O error" or "unable to open database file".
      if (existsSync(file) && !statSync(file).isFile()) throw new SchemaVersionError(`${file} is a directory, not a SQLite database file (e.g. --db ./data/register.sqlite)`);
      if (!existsSync(dirname(file))) throw new SchemaVersionError(`there is no folder ${dirname(file)} for ${file}; check the path`);
      const before = existsSync(file) ? sqliteState(file, folder) : null;
      if (before?.status === 'newer') throw new SchemaVersionError(newerSchemaMessage(before));
      const { openDatabase } = await import('./db/open.js');
      const { sqlite } = openDatabase(file, folder);
      sqlite.close();
      const after = sqliteState(file, folder);
      if (after.status !== 'current') throw new SchemaVersionError(`migration ended at an unexpected schema state: ${after.status}`);
      const from = before?.database ?? { version: 0, tag: null };
      const ms = Math.round(performance.now() - started);
      out.write(after.database.version > from.version ? `register: migrated ${file} from ${show(from)} to ${show(after.database)} in ${ms} ms\n` : `register: ${file} is already at ${show(after.database)}; nothing to apply\n`);
    }
    return 0;
  } catch (e) {
    const message = e instanceof SchemaVersionError ? e.message : `migration failed: ${(e as Error).message}`;
    err.write(`register: ${message}\n`);
    return 1;
  }
}

/** SQLite's applied migrations, read without migrating (drizzle's own table). */
function sqliteState(file: string, folder: string) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return compareSchema(sqliteAppliedMigrations(db), readJournal(folder));
  } finally {
    db.close();
  }
}
