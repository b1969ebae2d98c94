import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { and, asc, desc, eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from '../../src/server/db/schema.js';
import type { Db } from '../../src/server/db/open.js';

/**
 * The one place test code reads or changes the register's database directly: named, typed
 * reads (`probe.record(ak)`, `probe.auditEvents('account.suspended')`…) and the few writes a test
 * needs to stage a fault. Everything else goes through the API. Names and shapes say what is
 * read, never how: rows come back in the schema's field names (camelCase, JSON columns parsed),
 * so a second database engine needs a second implementation of this file, not new tests.
 */
export class DbProbe {
  private constructor(
    private readonly sqlite: Database.Database | null,
    private readonly db: Db,
    /** The engine's tables (the register's `store.tables`; SQLite's for a file). */
    private readonly t: typeof schema = schema,
  ) {}

  /** A probe on a running register's database. */
  /** The SQLite connection, for what only SQLite has (its catalogue, pragmas, raw rows). */
  private get lite(): Database.Database {
    if (!this.sqlite) throw new Error('this probe reads SQLite itself (its catalogue, pragmas or raw rows); the register runs on PostgreSQL');
    return this.sqlite;
  }

  static of(reg: { sqlite: Database.Database | null; db: Db; store: { tables: typeof schema } }): DbProbe {
    return new DbProbe(reg.sqlite, reg.db, reg.store.tables);
  }

  /** A probe on a database file (another process's register, or one a test migrates); close it after. */
  static open(file: string, opts: { readonly?: boolean } = {}): DbProbe & { close(): void } {
    const sqlite = new Database(file, { readonly: opts.readonly ?? false });
    const probe = new DbProbe(sqlite, drizzle(sqlite, { schema }) as Db);
    return Object.assign(probe, { close: () => sqlite.close() });
  }

  /** Rows matching every given field, oldest first. */
  private async matching<T extends SQLiteTable & { seq: AnyColumn }>(table: T, where: Record<string, unknown>): Promise<T['$inferSelect'][]> {
    return (await this.db
      .select()
      .from(table)
      .where(and(...fieldFilters(table, where)))
      .orderBy(asc(table.seq))) as T['$inferSelect'][];
  }

  private async count(table: SQLiteTable, where?: SQL): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)` })
      .from(table)
      .where(where);
    return row.n;
  }

  // ---------------------------------------------------------------- access records

  async record(ak: string) {
    const [row] = await this.db.select().from(this.t.accessRecords).where(eq(this.t.accessRecords.ak, ak)).limit(1);
    return row;
  }

  /** Records matching every given field, oldest first. */
  async records(where: { mpxn?: string; ir?: string; duid?: string; state?: string; kind?: string } = {}) {
    return this.matching(this.t.accessRecords, where);
  }

  async recordCount(where: { mpxn?: string; ir?: string; duid?: string; state?: string; kind?: string; expiredNotRevoked?: boolean } = {}): Promise<number> {
    const { expiredNotRevoked, ...fields } = where;
    const filters = fieldFilters(this.t.accessRecords, fields);
    if (expiredNotRevoked) filters.push(eq(this.t.accessRecords.state, 'EXPIRED'), sql`${this.t.accessRecords.revokedAt} is null`);
    return this.count(this.t.accessRecords, and(...filters));
  }

  /**
   * A Data User's records in one effective state, counted row by row (ACTIVE past its expiry
   * counts as EXPIRED), or all of them without a state.
   */
  async effectiveRecordCount(duid: string, state: string | undefined, nowIso: string): Promise<number> {
    const t = this.t.accessRecords;
    const filters: SQL[] = [eq(t.duid, duid)];
    if (state === 'ACTIVE') filters.push(sql`${t.state} = 'ACTIVE' and (${t.expiresAt} is null or ${t.expiresAt} > ${nowIso})`);
    else if (state === 'EXPIRED') filters.push(sql`(${t.state} = 'EXPIRED' or (${t.state} = 'ACTIVE' and ${t.expiresAt} <= ${nowIso}))`);
    else if (state) filters.push(eq(t.state, state));
    return this.count(t, and(...filters));
  }

  /** The trigger-kept counts of a Data User's records by stored state, and the same counted from the rows. */
  async recordCountsByState(duid: string): Promise<{ kept: { state: string; n: number }[]; counted: { state: string; n: number }[] }> {
    const kept = await this.db
      .select({ state: this.t.accessRecordCounts.state, n: this.t.accessRecordCounts.n })
      .from(this.t.accessRecordCounts)
      .where(and(eq(this.t.accessRecordCounts.duid, duid), sql`${this.t.accessRecordCounts.n} > 0`))
      .orderBy(asc(this.t.accessRecordCounts.state));
    const counted = await this.db
      .select({ state: this.t.accessRecords.state, n: sql<number>`count(*)` })
      .from(this.t.accessRecords)
      .where(eq(this.t.accessRecords.duid, duid))
      .groupBy(this.t.accessRecords.state)
      .orderBy(asc(this.t.accessRecords.state));
    return { kept, counted };
  }

  /** Each record with the identity record it links to, when that identity record is the record owner's own. */
  async recordsWithOwnersIr(): Promise<{ ak: string; kind: string; state: string; mpxn: string; duid: string | null; ownersIr: string | null }[]> {
    return this.db
      .select({ ak: this.t.accessRecords.ak, kind: this.t.accessRecords.kind, state: this.t.accessRecords.state, mpxn: this.t.accessRecords.mpxn, duid: this.t.accessRecords.duid, ownersIr: this.t.identityRecords.ir })
      .from(this.t.accessRecords)
      .leftJoin(this.t.identityRecords, and(eq(this.t.identityRecords.ir, this.t.accessRecords.ir), eq(this.t.identityRecords.duid, this.t.accessRecords.duid)));
  }

  /** A record's owner and its identity record's owner. */
  async recordOwners(ak: string): Promise<{ duid: string | null; ir: string | null; irDuid: string | null } | undefined> {
    const [row] = await this.db
      .select({ duid: this.t.accessRecords.duid, ir: this.t.accessRecords.ir, irDuid: this.t.identityRecords.duid })
      .from(this.t.accessRecords)
      .leftJoin(this.t.identityRecords, eq(this.t.identityRecords.ir, this.t.accessRecords.ir))
      .where(eq(this.t.accessRecords.ak, ak))
      .limit(1);
    return row;
  }

  /** Which records have ever been ACTIVE (activated-at set), oldest first. */
  async activations(): Promise<{ ak: string; activated: boolean }[]> {
    const rows = await this.db.select({ ak: this.t.accessRecords.ak, activatedAt: this.t.accessRecords.activatedAt }).from(this.t.accessRecords).orderBy(asc(this.t.accessRecords.seq));
    return rows.map((x) => ({ ak: x.ak, activated: x.activatedAt !== null }));
  }

  /** Forgets every record's activated-at (to re-run a migration's backfill over them). */
  async forgetActivations(): Promise<void> {
    await this.db.update(this.t.accessRecords).set({ activatedAt: null });
  }

  /** Runs a statement taken from a migration file. */
  async runMigrationStatement(statement: string): Promise<void> {
    this.lite.exec(statement);
  }

  /** Stages records straight into the table (bulk fixtures the API would take minutes to make). */
  async insertRecords(rows: (typeof schema.accessRecords.$inferInsert)[]): Promise<void> {
    for (const row of rows) await this.db.insert(this.t.accessRecords).values(row);
  }

  // ---------------------------------------------------------------- re-identification tokens

  /** Stages tokens straight into the table (list fixtures with chosen dates and states). */
  async insertTokens(rows: (typeof schema.reidTokens.$inferInsert)[]): Promise<void> {
    for (const row of rows) await this.db.insert(this.t.reidTokens).values(row);
  }

  // ---------------------------------------------------------------- identity records and this.t.accounts

  async identity(ir: string) {
    const [row] = await this.db.select().from(this.t.identityRecords).where(eq(this.t.identityRecords.ir, ir)).limit(1);
    return row;
  }

  async identityCount(): Promise<number> {
    return this.count(this.t.identityRecords);
  }

  /** The identity records owned by an account's Data User. */
  async identityRefsOf(accountId: string): Promise<string[]> {
    const rows = await this.db.select({ ir: this.t.identityRecords.ir }).from(this.t.identityRecords).innerJoin(this.t.accounts, eq(this.t.accounts.duid, this.t.identityRecords.duid)).where(eq(this.t.accounts.accountId, accountId));
    return rows.map((x) => x.ir);
  }

  async accountCount(): Promise<number> {
    return this.count(this.t.accounts);
  }

  /** Removes every account but one (a hostile sandbox state). */
  async deleteAccountsExcept(accountId: string): Promise<void> {
    await this.db.delete(this.t.accounts).where(sql`${this.t.accounts.accountId} <> ${accountId}`);
  }

  // ---------------------------------------------------------------- audit log

  /** Audit events of one type, oldest first, optionally about one subject, identity record or record. */
  async auditEvents(eventType: string, about: { subject?: string; ir?: string; ak?: string } = {}) {
    return this.db
      .select()
      .from(this.t.auditEvents)
      .where(and(eq(this.t.auditEvents.eventType, eventType), ...fieldFilters(this.t.auditEvents, about)))
      .orderBy(asc(this.t.auditEvents.seq));
  }

  /** Rewrites one audit event's actor (to check that the hash chain notices). */
  async setAuditActor(seq: number, actor: string): Promise<void> {
    await this.db.update(this.t.auditEvents).set({ actor }).where(eq(this.t.auditEvents.seq, seq));
  }

  /** Deletes one audit event (to check that the hash chain notices). */
  async deleteAuditEvent(seq: number): Promise<void> {
    await this.db.delete(this.t.auditEvents).where(eq(this.t.auditEvents.seq, seq));
  }

  // ---------------------------------------------------------------- this.t.webhooks

  async webhook(wid: string) {
    const [row] = await this.db.select().from(this.t.webhooks).where(eq(this.t.webhooks.wid, wid)).limit(1);
    return row;
  }

  async delivery(eventId: string) {
    const [row] = await this.db.select().from(this.t.webhookDeliveries).where(eq(this.t.webhookDeliveries.eventId, eventId)).limit(1);
    return row;
  }

  /** Deliveries matching every given field, oldest first. */
  async deliveries(where: { wid?: string; eventType?: string; duid?: string; status?: string } = {}) {
    return this.matching(this.t.webhookDeliveries, where);
  }

  /** Stages deliveries straight into the table (list fixtures with chosen dates and states). */
  async insertDeliveries(rows: (typeof schema.webhookDeliveries.$inferInsert)[]): Promise<void> {
    for (const row of rows) await this.db.insert(this.t.webhookDeliveries).values(row);
  }

  /** Delivery attempts, oldest first: of one event, or all. */
  async attempts(eventId?: string) {
    return this.db
      .select()
      .from(this.t.webhookAttempts)
      .where(eventId ? eq(this.t.webhookAttempts.eventId, eventId) : undefined)
      .orderBy(asc(this.t.webhookAttempts.seq));
  }

  // ---------------------------------------------------------------- e-mail outbox

  async mail(messageId: string) {
    const [row] = await this.db.select().from(this.t.mailMessages).where(eq(this.t.mailMessages.messageId, messageId)).limit(1);
    return row;
  }

  /** The newest message about `ref` (a token-ref, event id…). */
  async latestMailFor(ref: string) {
    const [row] = await this.db.select().from(this.t.mailMessages).where(eq(this.t.mailMessages.ref, ref)).orderBy(desc(this.t.mailMessages.seq)).limit(1);
    return row;
  }

  async mailCount(purpose: string): Promise<number> {
    return this.count(this.t.mailMessages, eq(this.t.mailMessages.purpose, purpose));
  }

  // ---------------------------------------------------------------- the whole database

  /** The names of the register's own tables (not the engine's, not the search index's), sorted. */
  async tables(): Promise<string[]> {
    return (this.lite.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'access_records_search%' order by name").pluck().all() as string[]).sort();
  }

  /**
   * Every row of every table, as stored, by table name: what a snapshot must restore exactly.
   * Left out: virtual tables (the search index, rebuilt from its table) and the migrations'
   * bookkeeping; kept: the engine's sequence counters.
   */
  async everyRow(): Promise<Record<string, Record<string, unknown>[]>> {
    const virtual = this.lite.prepare("select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%'").pluck().all() as string[];
    const tables = (this.lite.prepare("select name from sqlite_master where type = 'table' and name not like '__drizzle%' order by name").pluck().all() as string[]).filter((t) => !virtual.some((v) => t === v || t.startsWith(`${v}_`)));
    const rows: Record<string, Record<string, unknown>[]> = {};
    for (const t of tables) rows[t] = await this.rows(t);
    return rows;
  }

  /** Every value in every table (the engine's own and the search index's too), as one string: what a copy of the database would reveal. */
  async everyValueAsText(): Promise<string> {
    const tables = this.lite.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[];
    const texts: string[] = [];
    for (const t of tables) texts.push(JSON.stringify(await this.rows(t)));
    return texts.join('\n');
  }

  /** Every row of one table as stored (column names as in the database), oldest first. */
  async rows(table: string): Promise<Record<string, unknown>[]> {
    return this.lite.prepare(`select * from "${table.replace(/"/g, '""')}"`).all() as Record<string, unknown>[];
  }

  /**
   * Writes one row as stored (column names as in the database): for a database at an older
   * schema version, which the current schema's names do not describe.
   */
  async insertRow(table: string, row: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(row);
    this.lite.prepare(`insert into "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) values (${cols.map(() => '?').join(', ')})`).run(...Object.values(row));
  }

  /**
   * A hash of every row of the register's tables (tables()), in storage order, leaving out
   * audit events of the given types: two equal fingerprints mean nothing was written.
   */
  async fingerprint(skipAuditEventTypes: string[] = [], skipTables: string[] = []): Promise<string> {
    const h = createHash('sha256');
    for (const t of await this.tables()) {
      if (skipTables.includes(t)) continue;
      h.update(t);
      const skip = t === 'audit_events' && skipAuditEventTypes.length > 0;
      const rows = skip ? `select * from "${t}" where event_type not in (${skipAuditEventTypes.map(() => '?').join(', ')}) order by rowid` : `select * from "${t}" order by rowid`;
      for (const row of this.lite
        .prepare(rows)
        .raw()
        .iterate(...(skip ? skipAuditEventTypes : [])))
        h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v)));
    }
    return h.digest('hex');
  }

  /** Writes a row to a scratch table: the database files (WAL included) certainly exist afterwards. */
  async writeScratchRow(): Promise<void> {
    this.lite.exec('create table if not exists mode_probe(x); insert into mode_probe values (1)');
  }

  /** Creates an `accounts` table of the wrong shape in an empty file: the register's first migration then fails. */
  async createClashingAccountsTable(): Promise<void> {
    this.lite.exec('create table accounts (x int)');
  }

  /** How many schema migrations the database records as applied. */
  async migrationsApplied(): Promise<number> {
    return this.lite.prepare('select count(*) from __drizzle_migrations').pluck().get() as number;
  }

  /** SQLite's journal mode (the register runs in WAL). */
  async journalMode(): Promise<string> {
    return this.lite.pragma('journal_mode', { simple: true }) as string;
  }

  /** Whether the engine finds the database file sound. */
  async intact(): Promise<boolean> {
    return this.lite.pragma('integrity_check', { simple: true }) === 'ok';
  }

  /**
   * The indexes the engine would use for one of the register's hot reads, as text. `read`
   * names the read; the statements are the register's own shapes.
   */
  async planOf(read: 'meter-point-views' | 'listing-right' | 'expiry-sweep', ...params: unknown[]): Promise<string> {
    const statements = {
      'meter-point-views': "select a.seq from audit_events a join accounts c on c.account_id = a.actor where a.subject = ? and a.event_type = 'meter-point.viewed' order by a.seq desc limit 10",
      'listing-right': 'select seq from access_records where mpxn = ? and duid = ? and activated_at is not null limit 1',
      'expiry-sweep': "select seq from access_records where state = 'ACTIVE' and expires_at <= ? order by expires_at limit 500",
    };
    return (this.lite.prepare(`explain query plan ${statements[read]}`).all(...params) as { detail: string }[]).map((p) => p.detail).join('\n');
  }
}

/** `field = value` for every given field of `where` (undefined ones are left out). */
function fieldFilters(table: object, where: Record<string, unknown>): SQL[] {
  const columns = table as Record<string, AnyColumn>;
  return Object.entries(where)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => eq(columns[k], v));
}
