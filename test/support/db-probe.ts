import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { and, asc, desc, eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from '../../src/server/db/schema.js';
import type { Db } from '../../src/server/db/open.js';
import type { Store } from '../../src/server/db/store.js';
import { sqliteDialect } from '../../src/server/db/sqlite-dialect.js';

/**
 * The one place test code reads or changes the register's database directly: named, typed
 * reads (`probe.record(ak)`, `probe.auditEvents('account.suspended')`…) and the few writes a test
 * needs to stage a fault. Everything else goes through the API. Names and shapes say what is
 * read, never how: rows come back in the schema's field names (camelCase, JSON columns parsed),
 * so a second database engine needs a second implementation of this file, not new tests.
 *
 * The typed reads go through drizzle and run on either engine. What reads the database below
 * its schema (raw rows, the catalogue, query plans, soundness) has one half per engine: SQLite's
 * through its own connection, PostgreSQL's through the register's store (`rows`/`execute`, so
 * inside a unit of work they see what it wrote), the catalogue from pg_catalog, plans from
 * EXPLAIN. What SQLite alone has (pragmas, its migration files, scratch writes to the file)
 * throws a plain error on PostgreSQL.
 */
export class DbProbe {
  private constructor(
    private readonly sqlite: Database.Database | null,
    private readonly db: Db,
    /** The engine's tables (the register's `store.tables`; SQLite's for a file). */
    private readonly t: typeof schema = schema,
    /** The register's store when it runs on PostgreSQL (null on SQLite). */
    private readonly pgStore: Store | null = null,
  ) {}

  /** The SQLite connection, for what only SQLite has (its catalogue, pragmas, raw rows). */
  private get lite(): Database.Database {
    if (!this.sqlite) throw new Error('this probe reads SQLite itself (its pragmas, migration files or file); the register runs on PostgreSQL');
    return this.sqlite;
  }

  /** A probe on a running register's database. */
  static of(reg: { sqlite: Database.Database | null; db: Db; store: Store }): DbProbe {
    return new DbProbe(reg.sqlite, reg.db, reg.store.tables, reg.store.engine === 'postgres' ? reg.store : null);
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
    // The counts plus their changes not folded in yet (PostgreSQL: services/record-counts.ts).
    const c = this.t.accessRecordCounts;
    const d = this.t.accessRecordCountDeltas;
    const both = this.db
      .select({ state: c.state, n: c.n })
      .from(c)
      .where(eq(c.duid, duid))
      .unionAll(this.db.select({ state: d.state, n: d.n }).from(d).where(eq(d.duid, duid)))
      .as('both');
    const kept = await this.db
      .select({ state: both.state, n: sql<number>`cast(sum(${both.n}) as bigint)`.mapWith(Number) })
      .from(both)
      .groupBy(both.state)
      .having(sql`sum(${both.n}) > 0`)
      .orderBy(asc(both.state));
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

  /** Runs a statement taken from a migration file (the engine's own: drizzle/ or drizzle-pg/). */
  async runMigrationStatement(statement: string): Promise<void> {
    if (this.pgStore) await this.pgStore.execute(sql.raw(statement));
    else this.lite.exec(statement);
  }

  /**
   * Each full record's `record_metadata` column beside the engine's own extraction of the same
   * section from `body` (what the listings read before the column existed, and what the
   * migrations backfill with), by ak.
   */
  async recordMetadataBesideBody(): Promise<{ ak: string; column: string | null; fromBody: string | null }[]> {
    const t = this.t.accessRecords;
    const fromBody = (this.pgStore?.dialect ?? sqliteDialect).jsonMember(t.body, 'record-metadata') as SQL<string | null>;
    return this.db.select({ ak: t.ak, column: t.recordMetadata, fromBody }).from(t).where(eq(t.kind, 'record')).orderBy(asc(t.seq));
  }

  /** Empties every record's `record_metadata`, as a register from before that column has it. */
  async forgetRecordMetadata(): Promise<void> {
    await this.db.update(this.t.accessRecords).set({ recordMetadata: null });
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
    if (this.pgStore) return (await this.pgTables(this.pgStore, 'register')).sort();
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
    if (this.pgStore) {
      // Every schema a dump of the database would hold: the register's and drizzle's bookkeeping.
      const texts: string[] = [];
      for (const t of await this.pgTables(this.pgStore, 'all')) texts.push(JSON.stringify(await this.pgRows(this.pgStore, t)));
      return texts.join('\n');
    }
    const tables = this.lite.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[];
    const texts: string[] = [];
    for (const t of tables) texts.push(JSON.stringify(await this.rows(t)));
    return texts.join('\n');
  }

  /** Every row of one table as stored (column names as in the database), oldest first (PostgreSQL: in primary-key order). */
  async rows(table: string): Promise<Record<string, unknown>[]> {
    if (this.pgStore) return this.pgRows(this.pgStore, table);
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
    if (this.pgStore) return this.pgFingerprint(this.pgStore, skipAuditEventTypes, skipTables);
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
    if (this.pgStore) return this.pgIntact(this.pgStore);
    return this.lite.pragma('integrity_check', { simple: true }) === 'ok';
  }

  /**
   * The indexes the engine would use for one of the register's hot reads, as text (SQLite's
   * `explain query plan` details, or PostgreSQL's EXPLAIN lines, which name an index as
   * "Index Scan using <name>", "Index Only Scan using <name>" or "Bitmap Index Scan on <name>").
   * `read` names the read; the statements are the register's own shapes.
   *
   * PostgreSQL plans from statistics, gathered first (ANALYZE of the tables read), and prices a
   * test's few hundred rows cheaper to scan whole than through any index, so its plan is asked
   * with sequential scans switched off (for that one transaction): it then names the index it
   * prefers for the query on this data, or still scans the table when it has none. Where several
   * indexes could serve, the test needs enough rows for the intended one to be clearly cheaper.
   */
  async planOf(read: 'meter-point-views' | 'listing-right' | 'expiry-sweep' | 'record-timeline' | 'events-without-record' | 'identity-events' | 'events-without-identity', ...params: unknown[]): Promise<string> {
    if (this.pgStore) {
      const s = this.pgStore;
      const [a, b] = params;
      const statements = {
        'meter-point-views': sql`select a.seq from audit_events a join accounts c on c.account_id = a.actor where a.subject = ${a} and a.event_type = 'meter-point.viewed' order by a.seq desc limit 10`,
        'listing-right': sql`select seq from access_records where mpxn = ${a} and duid = ${b} and activated_at is not null limit 1`,
        'expiry-sweep': sql`select seq from access_records where state = 'ACTIVE' and expires_at <= ${a} order by expires_at limit 500`,
        'record-timeline': sql`select seq from audit_events where ak = ${a} order by seq desc limit 200`,
        'events-without-record': sql`select seq from audit_events where ak is null order by ak, seq desc limit 10`,
        'identity-events': sql`select seq from audit_events where ir = ${a} order by seq desc limit 200`,
        'events-without-identity': sql`select seq from audit_events where ir is null order by ir, seq desc limit 10`,
      };
      const tables = {
        'meter-point-views': sql`audit_events, accounts`,
        'listing-right': sql`access_records`,
        'expiry-sweep': sql`access_records`,
        'record-timeline': sql`audit_events`,
        'events-without-record': sql`audit_events`,
        'identity-events': sql`audit_events`,
        'events-without-identity': sql`audit_events`,
      };
      return s.tx(async () => {
        // Statistics as they stand now (autovacuum would gather them in time), so the planner
        // weighs the indexes on this data rather than on its defaults for a table never analysed.
        await s.execute(sql`analyze ${tables[read]}`);
        await s.execute(sql`set local enable_seqscan = off`);
        const plan = await s.rows<{ 'QUERY PLAN': string }>(sql`explain ${statements[read]}`);
        return plan.map((p) => p['QUERY PLAN'].trim()).join('\n');
      });
    }
    const statements = {
      'meter-point-views': "select a.seq from audit_events a join accounts c on c.account_id = a.actor where a.subject = ? and a.event_type = 'meter-point.viewed' order by a.seq desc limit 10",
      'listing-right': 'select seq from access_records where mpxn = ? and duid = ? and activated_at is not null limit 1',
      'expiry-sweep': "select seq from access_records where state = 'ACTIVE' and expires_at <= ? order by expires_at limit 500",
      'record-timeline': 'select seq from audit_events where ak = ? order by seq desc limit 200',
      'events-without-record': 'select seq from audit_events where ak is null order by ak, seq desc limit 10',
      'identity-events': 'select seq from audit_events where ir = ? order by seq desc limit 200',
      'events-without-identity': 'select seq from audit_events where ir is null order by ir, seq desc limit 10',
    };
    return (this.lite.prepare(`explain query plan ${statements[read]}`).all(...params) as { detail: string }[]).map((p) => p.detail).join('\n');
  }

  // ---------------------------------------------------------------- PostgreSQL's half

  /**
   * Table names: the register's own (its schema, the connection's current one), or every table
   * outside PostgreSQL's own catalogues, schema-qualified where not the register's.
   */
  private async pgTables(s: Store, which: 'register' | 'all'): Promise<string[]> {
    const rows = await s.rows<{ name: string }>(
      which === 'register'
        ? sql`select tablename as name from pg_tables where schemaname = current_schema() order by tablename`
        : sql`select case when schemaname = current_schema() then tablename else schemaname || '.' || tablename end as name from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1`,
    );
    return rows.map((r) => r.name);
  }

  /** A table name (`t` or `schema.t`) as a quoted identifier. */
  private static pgName(table: string): SQL {
    const dot = table.indexOf('.');
    return dot < 0 ? sql`${sql.identifier(table)}` : sql`${sql.identifier(table.slice(0, dot))}.${sql.identifier(table.slice(dot + 1))}`;
  }

  /**
   * The order rows were written in, as near as PostgreSQL keeps it: by primary key (every
   * register table's is its `seq` or a natural key), else by the whole row's text. Not the
   * physical order: an update moves a row there.
   */
  private async pgOrder(s: Store, table: string): Promise<SQL> {
    const key = await s.rows<{ col: string }>(
      sql`select a.attname as col from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) where i.indrelid = ${table}::regclass and i.indisprimary order by array_position(i.indkey::int2[], a.attnum)`,
    );
    return key.length > 0
      ? sql.join(
          key.map((k) => sql.identifier(k.col)),
          sql`, `,
        )
      : sql`x::text`;
  }

  private async pgRows(s: Store, table: string, where?: SQL): Promise<Record<string, unknown>[]> {
    return s.rows<Record<string, unknown>>(sql`select * from ${DbProbe.pgName(table)} x ${where ? sql`where ${where}` : sql``} order by ${await this.pgOrder(s, table)}`);
  }

  /**
   * The register's tables with the columns of their primary keys, quoted, in key order (null
   * for a table without one).
   */
  private async pgKeyedTables(s: Store): Promise<{ name: string; key: string | null }[]> {
    return s.rows<{ name: string; key: string | null }>(
      sql`select c.relname as name, (select string_agg(quote_ident(a.attname), ', ' order by array_position(i.indkey::int2[], a.attnum)) from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) where i.indrelid = c.oid and i.indisprimary) as key
        from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = current_schema() and c.relkind in ('r', 'p') order by c.relname`,
    );
  }

  /**
   * Each table's rows hashed by PostgreSQL itself (md5 of every row's text, in key order) in one
   * statement, then hashed together: the fuzz test fingerprints after every request.
   */
  private async pgFingerprint(s: Store, skipAuditEventTypes: string[], skipTables: string[]): Promise<string> {
    const tables = (await this.pgKeyedTables(s)).filter((t) => !skipTables.includes(t.name));
    const parts = tables.map(({ name, key }) => {
      const skip =
        name === 'audit_events' && skipAuditEventTypes.length > 0
          ? sql`where event_type not in (${sql.join(
              skipAuditEventTypes.map((x) => sql`${x}`),
              sql`, `,
            )})`
          : sql``;
      return sql`select ${name}::text as t, md5(coalesce(string_agg(x::text, e'\\n' order by ${sql.raw(key ?? 'x::text')}), '')) as h from ${sql.identifier(name)} x ${skip}`;
    });
    const rows = await s.rows<{ t: string; h: string }>(sql.join(parts, sql` union all `));
    const h = createHash('sha256');
    for (const row of rows.sort((a, b) => (a.t < b.t ? -1 : 1))) h.update(`${row.t}:${row.h}`);
    return h.digest('hex');
  }

  /**
   * PostgreSQL's own checks (the amcheck extension, created in this database if missing): every
   * table of the register's schema has sound pages and tuples (verify_heapam), and every b-tree
   * index is well formed and holds every row (bt_index_check with heapallindexed).
   */
  private async pgIntact(s: Store): Promise<boolean> {
    await s.execute(sql`create extension if not exists amcheck`);
    const heap = await s.rows<{ name: string }>(
      sql`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = current_schema() and c.relkind = 'r' and exists (select 1 from verify_heapam(c.oid))`,
    );
    if (heap.length > 0) return false;
    const indexes = await s.rows<{ oid: number }>(
      sql`select c.oid::int as oid from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_am am on am.oid = c.relam where n.nspname = current_schema() and c.relkind = 'i' and am.amname = 'btree'`,
    );
    if (indexes.length === 0) return false;
    for (const i of indexes) {
      try {
        await s.rows(sql`select bt_index_check(${i.oid}::oid::regclass, true)`);
      } catch (err) {
        // XX002: index_corrupted, how amcheck reports a damaged index.
        if ((err as { code?: string }).code === 'XX002') return false;
        throw err;
      }
    }
    return true;
  }
}

/** `field = value` for every given field of `where` (undefined ones are left out). */
function fieldFilters(table: object, where: Record<string, unknown>): SQL[] {
  const columns = table as Record<string, AnyColumn>;
  return Object.entries(where)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => eq(columns[k], v));
}
