import type Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Register } from '../context.js';
import { apiTime } from '../lib/clock.js';
import { hmacHex } from '../lib/crypto.js';
import { ApiError, conflict, notFound } from '../lib/errors.js';
import { checkKeyFingerprint, loadSettings } from './settings.js';
import { forgetQueuedSearch } from './search-index.js';

/** A snapshot's id: `snap_` and 24 lowercase hex characters (it names its files, so nothing else is accepted). */
export const SNAPSHOT_ID_PATTERN = '^snap_[0-9a-f]{24}$';
/** Letters, digits, spaces, dots, underscores and hyphens; starts with a letter or digit. */
export const SNAPSHOT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 ._-]*$';
export const SNAPSHOT_NAME_MAX = 64;

export interface SnapshotView {
  id: string;
  name: string;
  'created-at': string;
  'size-bytes': number;
}

interface SnapshotMeta {
  id: string;
  name: string;
  /** The register's clock when it was taken (sandbox clock included). */
  createdAt: string;
  /** Migrations applied to the database it was taken from: only the same schema restores. */
  migrations: number;
  /** HMAC of a constant under the audit key: only a register holding the same key file can restore it (the audit chain and the encrypted columns need that key). */
  keyCheck: string;
  /** SHA-256 of the `.sqlite` file as saved: a file damaged or replaced since is refused, not half-read. */
  sha256: string;
}

const ID_RE = new RegExp(SNAPSHOT_ID_PATTERN);

/** A description read from disk is only trusted when it has every field, and describes the file it is named after. */
function isMeta(v: unknown, id: string): v is SnapshotMeta {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const m = v as Record<string, unknown>;
  return (
    m.id === id &&
    typeof m.name === 'string' &&
    typeof m.createdAt === 'string' &&
    !Number.isNaN(Date.parse(m.createdAt)) &&
    Number.isInteger(m.migrations) &&
    typeof m.keyCheck === 'string' &&
    typeof m.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.sha256)
  );
}

/** SHA-256 of a file, read in chunks (a snapshot can be large; this never holds it whole). */
function fileSha256(file: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

const folderUnusable = (folder: string, err: unknown) =>
  new ApiError(500, 'SRV001', `The snapshots folder ${folder} cannot be used (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it must be a folder the register can write`);

const isSqliteError = (err: unknown): err is Error => err instanceof Error && err.name === 'SqliteError';

/** Tables the register's own machinery owns; never copied or cleared. */
const SKIPPED_TABLES = new Set(['__drizzle_migrations']);
/** Kept by `reset`, so the operator (and every Data User's credentials) still work afterwards. */
const KEPT_ON_RESET = new Set(['accounts']);

export type SeedChoice = 'demo' | 'empty';

/** What must forget the register's previous state when it is replaced (workers, limiters, caches). */
export interface RestoreHooks {
  /** True while something that must not be interrupted runs (the sandbox clock catching up). */
  busy(): string | null;
  /** Called once the database holds the restored state, inside nothing: drop in-flight work, reset in-memory state. */
  restored(): void;
}

/**
 * Sandbox snapshots [ours]: the register's whole state saved under a name, restored exactly,
 * or reset to the demo data / empty.
 *
 * - A snapshot is SQLite's online backup of the live database (better-sqlite3 `backup()`), so
 *   it is consistent while the register keeps serving. Files live in the data folder under
 *   `snapshots/` (mode 0600 like the database; the folder 0700): `<id>.sqlite` and `<id>.json`
 *   (name, time, schema version). An in-memory register (no data folder) keeps them in a
 *   private temporary folder that is removed when it stops.
 * - Restoring keeps the live connection (every service holds it): the snapshot is ATTACHed
 *   and every table is emptied and copied from it inside one unit of work (`reg.tx`), foreign
 *   keys checked once the copies are done. Rows, counters, AUTOINCREMENT sequences, the clock
 *   offset and the audit chain come back exactly; the restore is appended to the restored
 *   audit chain in the same unit, which therefore still verifies; then the in-memory state is
 *   reset (`RestoreHooks`).
 * - On PostgreSQL there is no database file to copy: saving and restoring answer 409, and a
 *   reset truncates the tables instead (`clearPostgres`).
 */
export class Snapshots {
  private folder: string | null = null;
  private temporary = false;
  private readonly keyCheck: string;
  /** Names being saved right now: a second save under the same name is refused while the first one's backup runs. */
  private readonly saving = new Set<string>();
  /** Why the state may not be replaced or saved now: a reset or a restore is under way (see reset, restore). */
  private replacing: string | null = null;

  constructor(
    private readonly reg: Register,
    private readonly hooks: RestoreHooks,
  ) {
    this.keyCheck = hmacHex(reg.keys.signingKey, 'dar-sandbox-snapshot');
  }

  /** The snapshots folder, created on first use. */
  private dir(): string {
    if (this.folder) return this.folder;
    if (this.reg.config.dataDir) {
      const folder = join(this.reg.config.dataDir, 'snapshots');
      try {
        mkdirSync(folder, { recursive: true, mode: 0o700 });
        chmodSync(folder, 0o700);
      } catch (err) {
        // Remembered only once usable: a folder fixed by the operator is used on the next request.
        throw folderUnusable(folder, err);
      }
      this.folder = folder;
    } else {
      this.folder = mkdtempSync(join(tmpdir(), 'dar-snapshots-'));
      this.temporary = true;
    }
    return this.folder;
  }

  /** Removes a temporary snapshots folder (in-memory register); called when the register stops. */
  dispose(): void {
    if (this.temporary && this.folder) rmSync(this.folder, { recursive: true, force: true });
    this.folder = null;
    this.temporary = false;
  }

  /** Where snapshots are kept ('memory' when the folder is temporary). */
  get location(): string {
    return this.reg.config.dataDir ? join(this.reg.config.dataDir, 'snapshots') : 'temporary (in-memory register)';
  }

  /**
   * The SQLite connection: a snapshot is a copy of the database file (SQLite's online backup)
   * and a restore ATTACHes it. A register on PostgreSQL has neither; it refuses, and its
   * operator uses PostgreSQL's own backups. (A reset needs no file: `clear` has a PostgreSQL way.)
   */
  private get sqlite(): Database.Database {
    return this.requireSqlite();
  }

  private requireSqlite(): Database.Database {
    if (!this.reg.sqlite) throw conflict('Sandbox snapshots are copies of the SQLite database file; a register on PostgreSQL cannot save or restore them (use PostgreSQL’s own backups)');
    return this.reg.sqlite;
  }

  private migrationsIn(schema: 'main' | 'snap'): number {
    return this.sqlite.prepare(`select count(*) from ${schema}.__drizzle_migrations`).pluck().get() as number;
  }

  private readMeta(id: string): SnapshotMeta | null {
    if (!ID_RE.test(id)) return null;
    const file = join(this.dir(), `${id}.json`);
    if (!existsSync(file) || !existsSync(join(this.dir(), `${id}.sqlite`))) return null;
    try {
      const meta: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return isMeta(meta, id) ? meta : null;
    } catch {
      return null;
    }
  }

  private view(m: SnapshotMeta): SnapshotView {
    return { id: m.id, name: m.name, 'created-at': apiTime(m.createdAt)!, 'size-bytes': statSync(join(this.dir(), `${m.id}.sqlite`)).size };
  }

  /** Every saved snapshot, newest first. */
  list(): SnapshotView[] {
    const metas: SnapshotMeta[] = [];
    const dir = this.dir();
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch (err) {
      throw folderUnusable(dir, err);
    }
    for (const f of files) {
      const m = /^(snap_[0-9a-f]{24})\.json$/.exec(f);
      const meta = m && this.readMeta(m[1]);
      if (meta) metas.push(meta);
    }
    return metas.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1)).map((m) => this.view(m));
  }

  /**
   * Saves the whole database under `name` with SQLite's online backup. The open batch is
   * committed first, so the snapshot holds everything already answered.
   */
  async create(actor: string, name: string): Promise<SnapshotView> {
    const trimmed = name.trim();
    this.requireSqlite(); // PostgreSQL: refused before anything is written or audited
    this.refuseWhileReplacing();
    if (this.saving.has(trimmed) || this.list().some((s) => s.name === trimmed)) throw conflict(`A snapshot named "${trimmed}" already exists; choose another name`);
    this.saving.add(trimmed);
    try {
      return await this.save(actor, trimmed);
    } finally {
      this.saving.delete(trimmed);
    }
  }

  private async save(actor: string, trimmed: string): Promise<SnapshotView> {
    const dir = this.dir();
    const id = `snap_${randomBytes(12).toString('hex')}`;
    const part = join(dir, `${id}.sqlite.part`);
    const file = join(dir, `${id}.sqlite`);
    const metaFile = join(dir, `${id}.json`);
    // Disk full, folder gone or read-only: say what happened (nothing was saved), not just "unexpected error".
    const cannotWrite = (err: unknown) => new ApiError(500, 'SRV001', `The snapshot could not be written to ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was saved`);
    try {
      // Created 0600 before SQLite writes to it, whatever the umask (like the database itself).
      closeSync(openSync(part, 'wx', 0o600));
    } catch (err) {
      throw cannotWrite(err);
    }
    const createdAt = this.reg.clock.iso();
    // Audited first, so the snapshot holds its own "saved" event: a restored chain says where it came from.
    await this.reg.tx(() => this.reg.audit.append({ actor, eventType: 'sandbox.snapshot-saved', subject: id, detail: { name: trimmed } }));
    await this.noTransactionOpen();
    let meta: SnapshotMeta;
    try {
      await this.sqlite.backup(part);
      chmodSync(part, 0o600);
      meta = { id, name: trimmed, createdAt, migrations: this.migrationsIn('main'), keyCheck: this.keyCheck, sha256: fileSha256(part) };
      renameSync(part, file);
      writeFileSync(metaFile, JSON.stringify(meta), { mode: 0o600 });
    } catch (err) {
      for (const f of [part, file, metaFile]) rmSync(f, { force: true });
      // The chain already says it was saved: say it was not, after all.
      await this.reg.tx(() => this.reg.audit.append({ actor, eventType: 'sandbox.snapshot-failed', subject: id, detail: { name: trimmed, error: (err as Error).message.slice(0, 200) } }));
      throw cannotWrite(err);
    }
    return this.view(meta);
  }

  /** Deletes a snapshot's files. */
  async remove(actor: string, id: string): Promise<void> {
    // A damaged snapshot (not listed, not restorable) can still be deleted: either file is enough.
    if (!ID_RE.test(id) || (!existsSync(join(this.dir(), `${id}.json`)) && !existsSync(join(this.dir(), `${id}.sqlite`)))) throw notFound(`Snapshot ${id}`);
    rmSync(join(this.dir(), `${id}.sqlite`), { force: true });
    rmSync(join(this.dir(), `${id}.json`), { force: true });
    await this.reg.tx(() => this.reg.audit.append({ actor, eventType: 'sandbox.snapshot-deleted', subject: id }));
  }

  /** Takes the register back to snapshot `id` exactly, then audits the restore on the restored chain. */
  async restore(actor: string, id: string): Promise<SnapshotView> {
    this.requireSqlite(); // PostgreSQL: refused (there are no snapshot files to restore)
    const meta = this.readMeta(id);
    if (!meta) throw notFound(`Snapshot ${id}`);
    this.refuseWhileBusy();
    if (meta.keyCheck !== this.keyCheck) throw conflict(`Snapshot ${id} was taken by a register with another key file; its audit chain and encrypted fields could not be read here`);
    if (meta.migrations !== this.migrationsIn('main'))
      throw conflict(`Snapshot ${id} was taken with another version of the register's database (${meta.migrations} migrations, this register has ${this.migrationsIn('main')}); it cannot be restored`);
    const file = join(this.dir(), `${id}.sqlite`);
    if (fileSha256(file) !== meta.sha256) throw conflict(`Snapshot ${id} is damaged or was changed since it was saved; it cannot be restored (delete it)`);
    // Its units of work interleave with other requests' now: nothing else may replace or save the state meanwhile.
    this.replacing = 'A restore of a snapshot is under way; try again when it has finished';
    try {
      await this.replaceFrom(actor, id, meta, file);
    } catch (err) {
      // The unit rolled back: the register still holds what it held. A file SQLite cannot read is the snapshot's fault, not a server error.
      if (isSqliteError(err)) throw conflict(`Snapshot ${id} is damaged and could not be read (${err.message}); it cannot be restored (delete it)`);
      throw err;
    } finally {
      this.replacing = null;
    }
    this.hooks.restored();
    return this.view(meta);
  }

  private async replaceFrom(actor: string, id: string, meta: SnapshotMeta, file: string): Promise<void> {
    const sqlite = this.sqlite;
    // ATTACH and DETACH cannot run inside a transaction: the open batch is committed first.
    await this.noTransactionOpen();
    sqlite.prepare('ATTACH DATABASE ? AS snap').run(file);
    try {
      if (this.migrationsIn('snap') !== meta.migrations) throw conflict(`Snapshot ${id} does not match its description; it cannot be restored`);
      const tables = this.tables();
      for (const t of tables) {
        const cols = this.columns('snap', t);
        if (cols.join(',') !== this.columns('main', t).join(',')) throw conflict(`Snapshot ${id} has a different layout of table ${t}; it cannot be restored`);
      }
      const damaged = () => conflict(`Snapshot ${id} is damaged and could not be read (FOREIGN KEY constraint failed); it cannot be restored (delete it)`);
      await this.reg.tx(async () => {
        // The rows are replaced in one synchronous stretch: no other request can read a half-copied state.
        this.withDeferredForeignKeys(damaged, () => {
          for (const t of tables) sqlite.prepare(`DELETE FROM main."${t}"`).run();
          for (const t of tables) this.copy(t);
          // Tables kept by triggers (record counts) were changed by the copies above: copy them last, exactly.
          for (const t of this.triggerTargets(tables)) {
            sqlite.prepare(`DELETE FROM main."${t}"`).run();
            this.copy(t);
          }
          if (this.hasSequence('main') && this.hasSequence('snap')) {
            sqlite.prepare('DELETE FROM main.sqlite_sequence').run();
            sqlite.prepare('INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM snap.sqlite_sequence').run();
          }
        });
        await this.rebuildIndexes();
        await this.afterReplace();
        await this.reg.audit.append({ actor, eventType: 'sandbox.snapshot-restored', subject: id, detail: { name: meta.name, 'snapshot-created-at': apiTime(meta.createdAt) } });
      });
    } finally {
      await this.noTransactionOpen();
      sqlite.prepare('DETACH DATABASE snap').run();
    }
  }

  /**
   * Runs `fn` (inside a unit of work) with foreign keys checked once it has finished rather than
   * statement by statement, so tables can be emptied and refilled in any order. The check runs
   * here, not at the batch's COMMIT: a violation fails this unit alone (a damaged snapshot),
   * never the other requests' units committed with it.
   */
  private withDeferredForeignKeys(violated: () => Error, fn: () => void): void {
    const sqlite = this.sqlite;
    sqlite.pragma('defer_foreign_keys = ON');
    try {
      fn();
      if ((sqlite.pragma('main.foreign_key_check') as unknown[]).length > 0) throw violated();
    } finally {
      // The unit's rollback (on a throw) takes its pending violations back with its rows.
      sqlite.pragma('defer_foreign_keys = OFF');
    }
  }

  /**
   * Commits the open batch and waits until no unit of work is running, so that no transaction is
   * open on the connection: ATTACH and DETACH cannot run inside one, and a backup then starts
   * from everything already committed. A unit in progress ends within a few turns of the event
   * loop (its awaits on this connection resolve at once). Returns with no transaction open; the
   * caller's next statement must follow without an await in between.
   */
  private async noTransactionOpen(): Promise<void> {
    this.reg.durability.endBatch();
    while (this.sqlite.inTransaction) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.reg.durability.endBatch();
    }
  }

  /**
   * Empties the register (every table but the accounts, so the operator and each Data User's
   * credentials keep working) and returns the clock to real time. `demo` is then loaded by the
   * caller (seed/demo.ts), which also re-creates missing demo accounts. Audited by the caller
   * once the data is in (`audit`), so the event is the newest on the fresh chain.
   */
  private async clear(): Promise<void> {
    if (!this.reg.sqlite) return this.clearPostgres();
    const sqlite = this.sqlite;
    // Its own batch: what was written before it is committed first.
    await this.noTransactionOpen();
    await this.reg.tx(async () => {
      this.withDeferredForeignKeys(
        () => new Error('FOREIGN KEY constraint failed: a kept table refers to a cleared one'),
        () => {
          const tables = this.tables().filter((t) => !KEPT_ON_RESET.has(t));
          for (const t of tables) sqlite.prepare(`DELETE FROM main."${t}"`).run();
        },
      );
      // Every event is gone: the chain starts again, anchored after the newest id handed out,
      // so verify tells this reset apart from events deleted behind the register's back.
      await this.reg.audit.startFreshChain();
      await this.rebuildIndexes();
      await this.afterReplace();
    });
    this.hooks.restored();
  }

  /**
   * `clear` on PostgreSQL: every table of the register's schema but the kept ones is truncated
   * in one unit (identity sequences go on, as SQLite's counters do, so the fresh chain starts
   * after every id handed out). There is no FTS index to rebuild there.
   */
  private async clearPostgres(): Promise<void> {
    await this.reg.tx(async () => {
      const rows = await this.reg.store.rows<{ name: string }>(sql`select tablename as name from pg_tables where schemaname = current_schema() order by tablename`);
      const tables = rows.map((r) => r.name).filter((t) => !SKIPPED_TABLES.has(t) && !KEPT_ON_RESET.has(t));
      if (tables.length) await this.reg.store.execute(sql.raw(`truncate table ${tables.map((t) => `"${t.replace(/"/g, '""')}"`).join(', ')}`));
      await this.reg.audit.startFreshChain();
      await this.afterReplace();
    });
    this.hooks.restored();
  }

  /**
   * Reset: empties the register (`clear`), then `load` puts the chosen data in (the demo data
   * loader may wait, e.g. hashing a missing demo account's secret), then audits it. Nothing
   * else may replace the state meanwhile: a restore, another reset or a save answers 409
   * until it has finished, so no mix of two states is left behind.
   */
  async reset(actor: string, seed: SeedChoice, load: () => Promise<unknown>): Promise<void> {
    this.refuseWhileBusy();
    this.replacing = 'A reset of the sandbox is still loading its data; try again when it has finished';
    try {
      await this.clear();
      await load();
      await this.reg.tx(() => this.reg.audit.append({ actor, eventType: 'sandbox.reset', detail: { seed } }));
    } finally {
      this.replacing = null;
    }
  }

  private refuseWhileReplacing(): void {
    if (this.replacing) throw conflict(this.replacing);
  }

  private refuseWhileBusy(): void {
    this.refuseWhileReplacing();
    const why = this.hooks.busy();
    if (why) throw conflict(why);
  }

  /**
   * Clock offset from the (restored or cleared) settings; no stored offset means real time. The
   * settings table was replaced: the key file's fingerprint is recorded again (the same keys:
   * a restore needs them, and a reset keeps them).
   */
  private async afterReplace(): Promise<void> {
    this.reg.clock.setOffset(0);
    await loadSettings(this.reg);
    await checkKeyFingerprint(this.reg);
  }

  /**
   * The ordinary tables, in name order. Virtual tables (the admin search's FTS5 index) and their
   * shadow tables are left out: they cannot be written row by row, and they are derived from
   * ordinary tables anyway, so `rebuildIndexes` remakes them after a replace. The search's queue
   * (`access_records_search_queue`, same prefix) is left out too: derived, emptied by the rebuild.
   */
  private tables(): string[] {
    const virtual = this.virtualTables();
    return (this.sqlite.prepare("select name from main.sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all() as string[]).filter(
      (t) => !SKIPPED_TABLES.has(t) && !virtual.some((v) => t === v || t.startsWith(`${v}_`)),
    );
  }

  private virtualTables(): string[] {
    return this.sqlite.prepare("select name from main.sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%'").pluck().all() as string[];
  }

  /**
   * Every FTS5 index is rebuilt from its content table (SQLite's documented 'rebuild' command);
   * the admin search's queue (services/search-index.ts) is then empty, since every record is indexed.
   */
  private async rebuildIndexes(): Promise<void> {
    for (const v of this.virtualTables()) this.sqlite.prepare(`INSERT INTO main."${v}" ("${v}") VALUES ('rebuild')`).run();
    await forgetQueuedSearch(this.sqlite);
  }

  private columns(schema: 'main' | 'snap', table: string): string[] {
    return this.sqlite.prepare(`select name from pragma_table_info(?, ?)`).pluck().all(table, schema) as string[];
  }

  private copy(table: string): void {
    const cols = this.columns('main', table)
      .map((c) => `"${c}"`)
      .join(', ');
    this.sqlite.prepare(`INSERT INTO main."${table}" (${cols}) SELECT ${cols} FROM snap."${table}"`).run();
  }

  private triggerTargets(tables: string[]): string[] {
    const bodies = this.sqlite.prepare("select sql from main.sqlite_master where type = 'trigger'").pluck().all() as string[];
    const out = new Set<string>();
    for (const sql of bodies) for (const m of sql.matchAll(/\b(?:INSERT\s+INTO|UPDATE)\s+[`"]?(\w+)[`"]?/gi)) if (tables.includes(m[1])) out.add(m[1]);
    return [...out];
  }

  private hasSequence(schema: 'main' | 'snap'): boolean {
    return !!this.sqlite.prepare(`select 1 from ${schema}.sqlite_master where name = 'sqlite_sequence'`).get();
  }
}
