/**
 * `npm run register -- migrate --db …` (docs/deploying.md "Migrating"): PostgreSQL under an
 * advisory lock, with the schema version recorded, and the start-up check that refuses a
 * database migrated by a newer register; the same command for a SQLite file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbProbe } from './support/db-probe.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/server/config.js';
import { openDatabase } from '../src/server/db/open.js';
import { assertPostgresSchemaKnown, MIGRATE_LOCK_KEY, migratePostgres } from '../src/server/db/migrate-pg.js';
import { readJournal, SchemaVersionError } from '../src/server/db/schema-version.js';
import { connect, PG_MIGRATIONS, postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';
import { tempDir } from './support/temp-files.js';

const CLI = join(process.cwd(), 'src', 'server', 'cli.ts');
const PG_VERSION = readJournal(PG_MIGRATIONS).length;
const PG_TAG = readJournal(PG_MIGRATIONS).at(-1)!.tag;
const LITE_MIGRATIONS = defaultConfig().migrationsFolder;
const LITE_VERSION = readJournal(LITE_MIGRATIONS).length;

const migrateSync = (db: string) => spawnSync(process.execPath, ['--import', 'tsx', CLI, 'migrate', '--db', db], { encoding: 'utf8', timeout: 60_000 });

function migrateAsync(db: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'migrate', '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('exit', (code) => res({ code, stdout, stderr })));
}

/** A copy of a migrations folder with one more migration, as a newer register would ship. */
function newerFolder(from: string, sql: string): string {
  const dir = join(tempDir('dar-migrations-'), 'm');
  cpSync(from, dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number; when: number; tag: string }[] };
  const idx = journal.entries.length;
  const tag = `${String(idx).padStart(4, '0')}_from_the_future`;
  journal.entries.push({ ...journal.entries[idx - 1], idx, when: journal.entries[idx - 1].when + 1000, tag });
  writeFileSync(journalFile, JSON.stringify(journal));
  writeFileSync(join(dir, `${tag}.sql`), sql);
  return dir;
}

describe('migrate --db <SQLite file>', () => {
  it('migrates a new file, then finds nothing to do', async () => {
    const file = join(tempDir('dar-migrate-'), 'register.sqlite');
    const first = migrateSync(file);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`from version 0 to version ${LITE_VERSION} (`);
    const again = migrateSync(file);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`is already at version ${LITE_VERSION}`);
    const db = DbProbe.open(file, { readonly: true });
    expect(await db.migrationsApplied()).toBe(LITE_VERSION);
    db.close();
  });

  it('refuses a file a newer register migrated, and leaves it as it was', async () => {
    const file = join(tempDir('dar-migrate-'), 'register.sqlite');
    openDatabase(file, newerFolder(LITE_MIGRATIONS, 'CREATE TABLE future_things (x integer);')).sqlite.close();
    const res = migrateSync(file);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`newer than this register's version ${LITE_VERSION}`);
    expect(res.stderr).toContain('this register does not know');
    const db = DbProbe.open(file, { readonly: true });
    expect(await db.migrationsApplied()).toBe(LITE_VERSION + 1);
    db.close();
  });

  it('the register refuses to start on a file a newer register migrated, naming both versions', () => {
    const data = tempDir('dar-migrate-');
    const file = join(data, 'register.sqlite');
    openDatabase(file, newerFolder(LITE_MIGRATIONS, 'CREATE TABLE future_things (x integer);')).sqlite.close();
    expect(() => openDatabase(file, LITE_MIGRATIONS)).toThrow(SchemaVersionError);
    const res = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--data', data, '--port', '0', '--log-level', 'silent'], { encoding: 'utf8', timeout: 60_000 });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`the database's schema is version ${LITE_VERSION + 1} (it has a migration from`);
    expect(res.stderr).toContain(`newer than this register's version ${LITE_VERSION} (`);
  });

  it('needs --db', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'migrate'], { encoding: 'utf8', timeout: 60_000 });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('migrate needs --db');
  });
});

describe.skipIf(!postgresAvailable())('migrate --db postgres://…', () => {
  const dbs: TestDatabase[] = [];
  const fresh = async (label: string) => {
    const d = await testDatabase(label, { migrated: false });
    dbs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  let timings = '';
  beforeAll(async () => {
    const d = await fresh('migrate_timing');
    const t = performance.now();
    await migratePostgres(d.url, PG_MIGRATIONS);
    timings = `migrate from scratch (in process): ${Math.round(performance.now() - t)} ms`;
  });

  it('migrates an empty database, records the version, and a second run finds nothing to do', async () => {
    const d = await fresh('migrate_cli');
    const first = migrateSync(d.url);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`from version 0 to version ${PG_VERSION} (${PG_TAG}): ${PG_VERSION} migration(s) applied`);
    const again = migrateSync(d.url);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`is already at version ${PG_VERSION} (${PG_TAG}); nothing to apply`);
    const c = await connect(d.name);
    try {
      expect((await c.query('select version, tag from drizzle.register_schema')).rows).toEqual([{ version: PG_VERSION, tag: PG_TAG }]);
      expect((await c.query('select count(*)::int as n from drizzle.__drizzle_migrations')).rows[0].n).toBe(PG_VERSION);
      expect(await assertPostgresSchemaKnown(c, PG_MIGRATIONS)).toEqual({ version: PG_VERSION, tag: PG_TAG });
    } finally {
      await c.end();
    }
    console.log(`[postgres] ${timings}`);
  });

  it('two migrate runs at once: one applies the migrations, the other waits on the advisory lock and finds nothing to do', async () => {
    const d = await fresh('migrate_race');
    const holder = await connect(d.name);
    try {
      // Hold the lock so that both runs are certainly waiting at the same time.
      await holder.query('select pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
      const runs = [migrateAsync(d.url), migrateAsync(d.url)];
      const waiting = async () =>
        (await holder.query<{ n: number }>("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())")).rows[0].n;
      const deadline = Date.now() + 30_000;
      while ((await waiting()) < 2) {
        if (Date.now() > deadline) throw new Error('the two migrate runs never both waited on the lock');
        await new Promise((r) => setTimeout(r, 50));
      }
      // Both are queued; hold on a little longer, so that each has waited well past the
      // 50 ms the CLI counts as "waiting" whichever of them the lock goes to first.
      await new Promise((r) => setTimeout(r, 250));
      await holder.query('select pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]);
      const results = await Promise.all(runs);
      for (const r of results) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
      const outputs = results.map((r) => r.stdout);
      expect(outputs.filter((o) => o.includes(`${PG_VERSION} migration(s) applied`))).toHaveLength(1);
      expect(outputs.filter((o) => o.includes('nothing to apply'))).toHaveLength(1);
      expect(outputs.every((o) => o.includes('after waiting'))).toBe(true);
      expect((await holder.query('select count(*)::int as n from drizzle.__drizzle_migrations')).rows[0].n).toBe(PG_VERSION);
    } finally {
      await holder.end();
    }
  });

  it('a node refuses a database a newer register migrated, naming both versions; migrate refuses it too', async () => {
    const d = await fresh('migrate_newer');
    await migratePostgres(d.url, newerFolder(PG_MIGRATIONS, 'CREATE TABLE "future_things" ("x" integer);'));
    const c = await connect(d.name);
    try {
      const refused = await assertPostgresSchemaKnown(c, PG_MIGRATIONS).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(SchemaVersionError);
      const message = (refused as Error).message;
      expect(message).toContain(`the database's schema is version ${PG_VERSION + 1} (${String(PG_VERSION).padStart(4, '0')}_from_the_future)`);
      expect(message).toContain(`newer than this register's version ${PG_VERSION} (${PG_TAG})`);
    } finally {
      await c.end();
    }
    const res = migrateSync(d.url);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('newer than this register');
  });

  it('a node refuses a database that is not migrated yet, and says to run migrate', async () => {
    const d = await fresh('migrate_empty');
    const c = await connect(d.name);
    try {
      await expect(assertPostgresSchemaKnown(c, PG_MIGRATIONS)).rejects.toThrow(/has no register schema yet; this register needs version \d+ .*npm run register -- migrate --db/);
    } finally {
      await c.end();
    }
    // A template clone is at the current version.
    const clone = await testDatabase('migrate_clone');
    dbs.push(clone);
    const cc = await connect(clone.name);
    try {
      expect(await assertPostgresSchemaKnown(cc, PG_MIGRATIONS)).toEqual({ version: PG_VERSION, tag: PG_TAG });
    } finally {
      await cc.end();
    }
  });

  it('fails clearly on a database it cannot reach, without printing the password', () => {
    const res = migrateSync('postgres://dar:s3cret-pw@127.0.0.1:1/register');
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('migration failed');
    expect(res.stderr).toContain('ECONNREFUSED');
    expect(res.stderr + res.stdout).not.toContain('s3cret-pw');
  });
});
