import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { and, asc, desc, eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from '../../src/server/db/schema.js';
import { accessRecordCounts, accessRecords, accounts, auditEvents, identityRecords, mailMessages, reidTokens, webhookAttempts, webhookDeliveries, webhooks } from '../../src/server/db/schema.js';
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
    private readonly sqlite: Database.Database,
    private readonly db: Db,
  ) {}

  /** A probe on a running register's database. */
  static of(reg: { sqlite: Database.Database; db: Db }): DbProbe {
    return new DbProbe(reg.sqlite, reg.db);
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
    const [row] = await this.db.select().from(accessRecords).where(eq(accessRecords.ak, ak)).limit(1);
    return row;
  }

  /** Records matching every given field, oldest first. */
  async records(where: { mpxn?: string; ir?: string; duid?: string; state?: string; kind?: string } = {}) {
    return this.matching(accessRecords, where);
  }

  async recordCount(where: { mpxn?: string; ir?: string; duid?: string; state?: string; kind?: string; expiredNotRevoked?: boolean } = {}): Promise<number> {
    const { expiredNotRevoked, ...fields } = where;
    const filters = fieldFilters(accessRecords, fields);
    if (expiredNotRevoked) filters.push(eq(accessRecords.state, 'EXPIRED'), sql`${accessRecords.revokedAt} is null`);
    return this.count(accessRecords, and(...filters));
  }

  /**
   * A Data User's records in one effective state, counted row by row (ACTIVE past its expiry
   * counts as EXPIRED), or all of them without a state.
   */
  async effectiveRecordCount(duid: string, state: string | undefined, nowIso: string): Promise<number> {
    const t = accessRecords;
    const filters: SQL[] = [eq(t.duid, duid)];
    if (state === 'ACTIVE') filters.push(sql`${t.state} = 'ACTIVE' and (${t.expiresAt} is null or ${t.expiresAt} > ${nowIso})`);
    else if (state === 'EXPIRED') filters.push(sql`(${t.state} = 'EXPIRED' or (${t.state} = 'ACTIVE' and ${t.expiresAt} <= ${nowIso}))`);
    else if (state) filters.push(eq(t.state, state));
    return this.count(t, and(...filters));
  }

  /** The trigger-kept counts of a Data User's records by stored state, and the same counted from the rows. */
  async recordCountsByState(duid: string): Promise<{ kept: { state: string; n: number }[]; counted: { state: string; n: number }[] }> {
    const kept = await this.db
      .select({ state: accessRecordCounts.state, n: accessRecordCounts.n })
      .from(accessRecordCounts)
      .where(and(eq(accessRecordCounts.duid, duid), sql`${accessRecordCounts.n} > 0`))
      .orderBy(asc(accessRecordCounts.state));
    const counted = await this.db
      .select({ state: accessRecords.state, n: sql<number>`count(*)` })
      .from(accessRecords)
      .where(eq(accessRecords.duid, duid))
      .groupBy(accessRecords.state)
      .orderBy(asc(accessRecords.state));
    return { kept, counted };
  }

  /** Each record with the identity record it links to, when that identity record is the record owner's own. */
  async recordsWithOwnersIr(): Promise<{ ak: string; kind: string; state: string; mpxn: string; duid: string | null; ownersIr: string | null }[]> {
    return this.db
      .select({ ak: accessRecords.ak, kind: accessRecords.kind, state: accessRecords.state, mpxn: accessRecords.mpxn, duid: accessRecords.duid, ownersIr: identityRecords.ir })
      .from(accessRecords)
      .leftJoin(identityRecords, and(eq(identityRecords.ir, accessRecords.ir), eq(identityRecords.duid, accessRecords.duid)));
  }

  /** A record's owner and its identity record's owner. */
  async recordOwners(ak: string): Promise<{ duid: string | null; ir: string | null; irDuid: string | null } | undefined> {
    const [row] = await this.db
      .select({ duid: accessRecords.duid, ir: accessRecords.ir, irDuid: identityRecords.duid })
      .from(accessRecords)
      .leftJoin(identityRecords, eq(identityRecords.ir, accessRecords.ir))
      .where(eq(accessRecords.ak, ak))
      .limit(1);
    return row;
  }

  /** Which records have ever been ACTIVE (activated-at set), oldest first. */
  async activations(): Promise<{ ak: string; activated: boolean }[]> {
    const rows = await this.db.select({ ak: accessRecords.ak, activatedAt: accessRecords.activatedAt }).from(accessRecords).orderBy(asc(accessRecords.seq));
    return rows.map((x) => ({ ak: x.ak, activated: x.activatedAt !== null }));
  }

  /** Forgets every record's activated-at (to re-run a migration's backfill over them). */
  async forgetActivations(): Promise<void> {
    await this.db.update(accessRecords).set({ activatedAt: null });
  }

  /** Runs a statement taken from a migration file. */
  async runMigrationStatement(statement: string): Promise<void> {
    this.sqlite.exec(statement);
  }

  /** Stages records straight into the table (bulk fixtures the API would take minutes to make). */
  async insertRecords(rows: (typeof accessRecords.$inferInsert)[]): Promise<void> {
    for (const row of rows) await this.db.insert(accessRecords).values(row);
  }

  // ---------------------------------------------------------------- re-identification tokens

  /** Stages tokens straight into the table (list fixtures with chosen dates and states). */
  async insertTokens(rows: (typeof reidTokens.$inferInsert)[]): Promise<void> {
    for (const row of rows) await this.db.insert(reidTokens).values(row);
  }

  // ---------------------------------------------------------------- identity records and accounts

  async identity(ir: string) {
    const [row] = await this.db.select().from(identityRecords).where(eq(identityRecords.ir, ir)).limit(1);
    return row;
  }

  async identityCount(): Promise<number> {
    return this.count(identityRecords);
  }

  /** The identity records owned by an account's Data User. */
  async identityRefsOf(accountId: string): Promise<string[]> {
    const rows = await this.db.select({ ir: identityRecords.ir }).from(identityRecords).innerJoin(accounts, eq(accounts.duid, identityRecords.duid)).where(eq(accounts.accountId, accountId));
    return rows.map((x) => x.ir);
  }

  async accountCount(): Promise<number> {
    return this.count(accounts);
  }

  /** Removes every account but one (a hostile sandbox state). */
  async deleteAccountsExcept(accountId: string): Promise<void> {
    await this.db.delete(accounts).where(sql`${accounts.accountId} <> ${accountId}`);
  }

  // ---------------------------------------------------------------- audit log

  /** Audit events of one type, oldest first, optionally about one subject, identity record or record. */
  async auditEvents(eventType: string, about: { subject?: string; ir?: string; ak?: string } = {}) {
    return this.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.eventType, eventType), ...fieldFilters(auditEvents, about)))
      .orderBy(asc(auditEvents.seq));
  }

  /** Rewrites one audit event's actor (to check that the hash chain notices). */
  async setAuditActor(seq: number, actor: string): Promise<void> {
    await this.db.update(auditEvents).set({ actor }).where(eq(auditEvents.seq, seq));
  }

  /** Deletes one audit event (to check that the hash chain notices). */
  async deleteAuditEvent(seq: number): Promise<void> {
    await this.db.delete(auditEvents).where(eq(auditEvents.seq, seq));
  }

  // ---------------------------------------------------------------- webhooks

  async webhook(wid: string) {
    const [row] = await this.db.select().from(webhooks).where(eq(webhooks.wid, wid)).limit(1);
    return row;
  }

  async delivery(eventId: string) {
    const [row] = await this.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId)).limit(1);
    return row;
  }

  /** Deliveries matching every given field, oldest first. */
  async deliveries(where: { wid?: string; eventType?: string; duid?: string; status?: string } = {}) {
    return this.matching(webhookDeliveries, where);
  }

  /** Stages deliveries straight into the table (list fixtures with chosen dates and states). */
  async insertDeliveries(rows: (typeof webhookDeliveries.$inferInsert)[]): Promise<void> {
    for (const row of rows) await this.db.insert(webhookDeliveries).values(row);
  }

  /** Delivery attempts, oldest first: of one event, or all. */
  async attempts(eventId?: string) {
    return this.db
      .select()
      .from(webhookAttempts)
      .where(eventId ? eq(webhookAttempts.eventId, eventId) : undefined)
      .orderBy(asc(webhookAttempts.seq));
  }

  // ---------------------------------------------------------------- e-mail outbox

  async mail(messageId: string) {
    const [row] = await this.db.select().from(mailMessages).where(eq(mailMessages.messageId, messageId)).limit(1);
    return row;
  }

  /** The newest message about `ref` (a token-ref, event id…). */
  async latestMailFor(ref: string) {
    const [row] = await this.db.select().from(mailMessages).where(eq(mailMessages.ref, ref)).orderBy(desc(mailMessages.seq)).limit(1);
    return row;
  }

  async mailCount(purpose: string): Promise<number> {
    return this.count(mailMessages, eq(mailMessages.purpose, purpose));
  }

  // ---------------------------------------------------------------- the whole database

  /** The names of the register's own tables (not the engine's, not the search index's), sorted. */
  async tables(): Promise<string[]> {
    return (this.sqlite.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'access_records_search%' order by name").pluck().all() as string[]).sort();
  }

  /**
   * Every row of every table, as stored, by table name: what a snapshot must restore exactly.
   * Left out: virtual tables (the search index, rebuilt from its table) and the migrations'
   * bookkeeping; kept: the engine's sequence counters.
   */
  async everyRow(): Promise<Record<string, Record<string, unknown>[]>> {
    const virtual = this.sqlite.prepare("select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%'").pluck().all() as string[];
    const tables = (this.sqlite.prepare("select name from sqlite_master where type = 'table' and name not like '__drizzle%' order by name").pluck().all() as string[]).filter((t) => !virtual.some((v) => t === v || t.startsWith(`${v}_`)));
    const rows: Record<string, Record<string, unknown>[]> = {};
    for (const t of tables) rows[t] = await this.rows(t);
    return rows;
  }

  /** Every value in every table (the engine's own and the search index's too), as one string: what a copy of the database would reveal. */
  async everyValueAsText(): Promise<string> {
    const tables = this.sqlite.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[];
    const texts: string[] = [];
    for (const t of tables) texts.push(JSON.stringify(await this.rows(t)));
    return texts.join('\n');
  }

  /** Every row of one table as stored (column names as in the database), oldest first. */
  async rows(table: string): Promise<Record<string, unknown>[]> {
    return this.sqlite.prepare(`select * from "${table.replace(/"/g, '""')}"`).all() as Record<string, unknown>[];
  }

  /**
   * Writes one row as stored (column names as in the database): for a database at an older
   * schema version, which the current schema's names do not describe.
   */
  async insertRow(table: string, row: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(row);
    this.sqlite.prepare(`insert into "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) values (${cols.map(() => '?').join(', ')})`).run(...Object.values(row));
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
      for (const row of this.sqlite
        .prepare(rows)
        .raw()
        .iterate(...(skip ? skipAuditEventTypes : [])))
        h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v)));
    }
    return h.digest('hex');
  }

  /** Writes a row to a scratch table: the database files (WAL included) certainly exist afterwards. */
  async writeScratchRow(): Promise<void> {
    this.sqlite.exec('create table if not exists mode_probe(x); insert into mode_probe values (1)');
  }

  /** Creates an `accounts` table of the wrong shape in an empty file: the register's first migration then fails. */
  async createClashingAccountsTable(): Promise<void> {
    this.sqlite.exec('create table accounts (x int)');
  }

  /** How many schema migrations the database records as applied. */
  async migrationsApplied(): Promise<number> {
    return this.sqlite.prepare('select count(*) from __drizzle_migrations').pluck().get() as number;
  }

  /** SQLite's journal mode (the register runs in WAL). */
  async journalMode(): Promise<string> {
    return this.sqlite.pragma('journal_mode', { simple: true }) as string;
  }

  /** Whether the engine finds the database file sound. */
  async intact(): Promise<boolean> {
    return this.sqlite.pragma('integrity_check', { simple: true }) === 'ok';
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
    return (this.sqlite.prepare(`explain query plan ${statements[read]}`).all(...params) as { detail: string }[]).map((p) => p.detail).join('\n');
  }
}

/** `field = value` for every given field of `where` (undefined ones are left out). */
function fieldFilters(table: object, where: Record<string, unknown>): SQL[] {
  const columns = table as Record<string, AnyColumn>;
  return Object.entries(where)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => eq(columns[k], v));
}
