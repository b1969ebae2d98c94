import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, sql, type AnyColumn, type Placeholder, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Static } from 'typebox';
import { takePage } from '../../lib/paging.js';
import { dateRange, listSort, sortedChunks, sortedPage, type PageResult, type PlanHints, type Sort, type SortDir } from '../../lib/listing.js';
import type { Register } from '../../context.js';
import type { Db } from '../../db/open.js';
import type { Preparable, Prepared } from '../../db/store.js';
import type * as schema from '../../db/schema.js';
import { canonicalMpxn } from '../../../shared/values.js';
import type { RecordState } from '../../../shared/vocabulary.js';
import { LimitedStatements, ONE_ROW, literalLimit, rowByKey } from '../../lib/sql.js';
import type { AccessRecordOutput, AccessRecordSummary } from '../../../shared/schemas/access-record.js';
import { recordJsonOf } from '../record-json.js';
import { effectiveState } from './rules.js';
import { SEARCH_QUEUE } from '../search-index.js';

/** Joins the searchable names in PostgreSQL's trigram-indexed search text (scanSearch). */
const SEARCH_SEPARATOR = '\u001f';

export type AccessRow = typeof schema.accessRecords.$inferSelect;
export type AccessRecordApi = Static<typeof AccessRecordOutput>;
export type AccessRecordSummaryApi = Static<typeof AccessRecordSummary>;

/** The audit event of a meter-point listing or portal view (contract §5). */
export const METER_POINT_VIEWED = 'meter-point.viewed';

/**
 * When a record on a meter point stopped giving access, and why: what the customer portal
 * shows and downloads next to each record. Register-kept columns, canonical instants.
 */
export interface RecordLifecycle {
  ak: string;
  kind: string;
  revokedAt: string | null;
  revokeReason: string | null;
  /** When the sweeper ended it; null while an ACTIVE record past its expiry awaits the sweep. */
  expiredAt: string | null;
  expiresAt: string | null;
  supersededAt: string | null;
  firstSeen: string | null;
  lastSeen: string | null;
}

/** One view of a meter point's records, as the customer is shown it. */
export interface MeterPointView {
  at: string;
  duid: string;
  displayName: string;
  role: string;
}

/** One listed record: its seq (for the next cursor) and its summary as JSON text. */
export interface SummaryJson {
  seq: number;
  json: string;
}

interface MeterPointFilters {
  /** A Data User's listing: other Data Users' access keys are left out (see summaryJsonSql). */
  viewerDuid?: string;
  state?: string;
  legalBasis?: string;
  limit?: number;
  cursor?: number;
}

interface SearchFilters {
  duid?: string;
  mpxn?: string;
  state?: string;
  legalBasis?: string;
  kind?: string;
  limit: number;
  cursor?: number;
}

/** Columns the admin record lists sort by (docs/api.md "Admin lists"); each is index-backed. */
export const RECORD_SORTS = ['created', 'expiry', 'mpxn', 'state', 'organisation'] as const;
export type RecordSort = (typeof RECORD_SORTS)[number];

/** The admin lists' filters: every one optional; all that are given must hold. */
export interface AdminRecordFilters {
  q?: string;
  state?: string;
  legalBasis?: string;
  kind?: 'record' | 'discovered';
  duid?: string;
  /** Creation date range (inclusive; a `to` date includes its whole day). */
  from?: string;
  to?: string;
  superseded?: boolean;
  sort?: RecordSort;
  order?: SortDir;
}

/**
 * The access-record reads: prepared once where a request runs them (docs/performance.md), and
 * the list statements built once per combination of filters. The service (index.ts) adds the
 * writes and their rules.
 */
export class AccessRecordQueries {
  private readonly byAk;
  private readonly ownsOnMpxn;
  private readonly activatedOnMpxn;
  private readonly viewsByMpxn;

  constructor(protected readonly reg: Register) {
    const d = reg.store.dialect;
    const { accessRecords } = reg.store.tables;
    this.limited = new LimitedStatements(reg.store, 'access-records');
    this.byAk = rowByKey(reg.store, 'access-records.by-ak', accessRecords, accessRecords.ak, 'ak');
    this.recordJsonByAk = reg.store.prepareValue('access-records.record-json-by-ak', (db, t) =>
      db
        .select({ json: recordJsonOf(t, d).recordJsonSql(sql.placeholder('now')) })
        .from(t.accessRecords)
        .where(eq(t.accessRecords.ak, sql.placeholder('ak'))),
    );
    this.summariesByIr = reg.store.prepare('access-records.summaries-by-ir', (db, t) =>
      db
        .select({ json: recordJsonOf(t, d).summaryJsonSql(sql.placeholder('now')) })
        .from(t.accessRecords)
        .where(eq(t.accessRecords.ir, sql.placeholder('ir')))
        .orderBy(desc(t.accessRecords.seq))
        .limit(literalLimit(1000)),
    );
    this.recordsByMpxn = reg.store.prepare('access-records.records-by-mpxn', (db, t) => {
      const json = recordJsonOf(t, d);
      return db
        .select({ summary: json.summaryJsonSql(sql.placeholder('now')), record: json.recordJsonSql(sql.placeholder('now')) })
        .from(t.accessRecords)
        .where(eq(t.accessRecords.mpxn, sql.placeholder('mpxn')))
        .orderBy(desc(t.accessRecords.seq));
    });
    this.ownsOnMpxn = reg.store.prepareValue('access-records.owns-on-mpxn', (db, { accessRecords }) =>
      db
        .select({ seq: accessRecords.seq })
        .from(accessRecords)
        .where(and(eq(accessRecords.mpxn, sql.placeholder('mpxn')), eq(accessRecords.duid, sql.placeholder('duid'))))
        .limit(ONE_ROW),
    );
    // Answered from the partial (mpxn, duid) index alone: it holds only activated records.
    this.activatedOnMpxn = reg.store.prepareValue('access-records.activated-on-mpxn', (db, { accessRecords }) =>
      db
        .select({ seq: accessRecords.seq })
        .from(accessRecords)
        .where(and(eq(accessRecords.mpxn, sql.placeholder('mpxn')), eq(accessRecords.duid, sql.placeholder('duid')), isNotNull(accessRecords.activatedAt)))
        .limit(ONE_ROW),
    );
    // The newest views of one meter point, through the partial (subject, seq) index of the
    // audit log; only meter-point.viewed events carry an MPxN as their subject.
    this.viewsByMpxn = (db: Db, { auditEvents, accounts }: typeof schema, limit: number) =>
      db
        .select({ at: auditEvents.at, duid: accounts.duid, displayName: accounts.displayName, role: accounts.role })
        .from(auditEvents)
        .innerJoin(accounts, eq(accounts.accountId, auditEvents.actor))
        .where(and(eq(auditEvents.subject, sql.placeholder('mpxn')), eq(auditEvents.eventType, METER_POINT_VIEWED)))
        .orderBy(desc(auditEvents.seq))
        .limit(limit);
    const p = (name: string) => sql.placeholder(name);
    // The counts plus the changes not folded into them yet (PostgreSQL; always none on SQLite):
    // services/record-counts.ts.
    this.countsOf = reg.store.prepare('access-records.counts-of', (db, { accessRecordCounts: c, accessRecordCountDeltas: d }) => {
      const both = db
        .select({ state: c.state, n: c.n })
        .from(c)
        .where(eq(c.duid, p('duid')))
        .unionAll(
          db
            .select({ state: d.state, n: d.n })
            .from(d)
            .where(eq(d.duid, p('duid'))),
        )
        .as('both');
      return db
        .select({ state: both.state, n: sql<number>`cast(sum(${both.n}) as bigint)`.mapWith(Number) })
        .from(both)
        .groupBy(both.state);
    });
    // ACTIVE past expiry but not swept yet: a handful at most (the sweeper runs every few
    // seconds), found through the (state, expires_at) index.
    this.lapsedOf = reg.store.prepare('access-records.lapsed-of', (db, { accessRecords }) =>
      db
        .select({ n: sql<number>`count(*)` })
        .from(accessRecords)
        .where(and(eq(accessRecords.state, 'ACTIVE'), lte(accessRecords.expiresAt, p('now')), eq(accessRecords.duid, p('duid')))),
    );
  }

  /**
   * How many records a Data User holds, optionally in one effective state, from the
   * trigger-kept counts: O(1) instead of counting every index entry (docs/performance.md). The
   * effective state moves ACTIVE records past their expiry to EXPIRED before any sweep.
   */
  async countOwned(duid: string, state: string | undefined, nowIso: string): Promise<number> {
    const counts = new Map((await this.countsOf.execute({ duid })).map((c) => [c.state, c.n]));
    if (!state) return [...counts.values()].reduce((a, b) => a + b, 0);
    if (state !== 'ACTIVE' && state !== 'EXPIRED') return counts.get(state) ?? 0;
    const lapsed = (await this.lapsedOf.execute({ duid, now: nowIso }))[0].n;
    return state === 'ACTIVE' ? (counts.get('ACTIVE') ?? 0) - lapsed : (counts.get('EXPIRED') ?? 0) + lapsed;
  }
  private readonly recordJsonByAk;
  private readonly summariesByIr;
  private readonly recordsByMpxn;
  private readonly countsOf;
  private readonly lapsedOf;

  find(ak: string): Promise<AccessRow | undefined> {
    return this.byAk.find({ ak });
  }
  /**
   * The state a reader sees: an ACTIVE record past its expiry is EXPIRED even before a sweep.
   * (The same rule in SQL, for records written as JSON: effectiveStateSql in record-json.ts.)
   */
  effectiveState(row: Pick<AccessRow, 'state' | 'expiresAt'>, nowIso = this.reg.clock.iso()): RecordState {
    return effectiveState(row, nowIso);
  }

  /** SQL for "effective state = s" (see effectiveState). */
  stateFilter(state: string, nowIso: string): SQL {
    const { accessRecords } = this.reg.store.tables;
    if (state === 'ACTIVE') return and(eq(accessRecords.state, 'ACTIVE'), or(isNull(accessRecords.expiresAt), gt(accessRecords.expiresAt, nowIso)))!;
    if (state === 'EXPIRED') return or(eq(accessRecords.state, 'EXPIRED'), and(eq(accessRecords.state, 'ACTIVE'), lte(accessRecords.expiresAt, nowIso)))!;
    return eq(accessRecords.state, state);
  }
  /**
   * The full record as GET /access-records/{ak} returns it, as JSON text written by the database
   * (see record-json.ts), or undefined for an unknown ak.
   */
  async recordJson(ak: string, nowIso = this.reg.clock.iso()): Promise<string | undefined> {
    return this.recordJsonByAk.execute({ ak, now: nowIso });
  }

  /** The same record as an object, for pages and admin views that use its parts. */
  async apiRecord(ak: string, nowIso = this.reg.clock.iso()): Promise<AccessRecordApi | undefined> {
    const text = await this.recordJson(ak, nowIso);
    return text === undefined ? undefined : (JSON.parse(text) as AccessRecordApi);
  }

  /**
   * Every record on a meter point, newest first, both as its summary and as the full record
   * (the customer portal shows parts of each), read in one statement.
   */
  async meterPointRecords(mpxn: string, nowIso = this.reg.clock.iso()): Promise<{ summary: AccessRecordSummaryApi & { ak: string }; record: AccessRecordApi }[]> {
    // Every key is shown here (the customer's own view, through the portal).
    return (await this.recordsByMpxn.execute({ mpxn, now: nowIso })).map((r) => ({ summary: JSON.parse(r.summary) as AccessRecordSummaryApi & { ak: string }, record: JSON.parse(r.record) as AccessRecordApi }));
  }

  /** When each record on a meter point ended, and why (see RecordLifecycle), by ak. */
  async meterPointLifecycle(mpxn: string): Promise<Map<string, RecordLifecycle>> {
    const { accessRecords } = this.reg.store.tables;
    const rows = await this.reg.db
      .select({
        ak: accessRecords.ak,
        kind: accessRecords.kind,
        revokedAt: accessRecords.revokedAt,
        revokeReason: accessRecords.revokeReason,
        expiredAt: accessRecords.expiredAt,
        expiresAt: accessRecords.expiresAt,
        supersededAt: accessRecords.supersededAt,
        firstSeen: accessRecords.firstSeen,
        lastSeen: accessRecords.lastSeen,
      })
      .from(accessRecords)
      .where(eq(accessRecords.mpxn, mpxn));
    return new Map(rows.map((r) => [r.ak, r]));
  }

  /** Summaries of the records linked to an identity record, newest first (admin detail). */
  async summariesForIdentity(ir: string, nowIso = this.reg.clock.iso()): Promise<AccessRecordSummaryApi[]> {
    return (await this.summariesByIr.execute({ ir, now: nowIso })).map((r) => JSON.parse(r.json) as AccessRecordSummaryApi);
  }

  /** Any record of this Data User on the MPxN, whatever its state (the demo seed's idempotence). */
  async callerHasRecordOn(duid: string, mpxn: string): Promise<boolean> {
    return (await this.ownsOnMpxn.execute({ mpxn, duid })) !== undefined;
  }

  /**
   * May this Data User list the meter point (contract §5)? Only with a record there that is,
   * or has been, ACTIVE: one submitted directly as REVOKED or EXPIRED never counts, one that
   * was ACTIVE and has since been revoked or expired still does.
   */
  async mayListMeterPoint(duid: string, mpxn: string): Promise<boolean> {
    return (await this.activatedOnMpxn.execute({ mpxn, duid })) !== undefined;
  }
  /** The newest `limit` views of a meter point, newest first: when, and which organisation. */
  meterPointViews(mpxn: string, limit: number): Promise<MeterPointView[]> {
    return this.limited.execute<MeterPointView[]>('views-by-mpxn', limit, this.viewsByMpxn, { mpxn });
  }

  /**
   * Performance (see docs/performance.md): the meter-point listing and the filter-only `search` are built
   * once per combination of filters and kept as prepared statements; building the SQL with
   * drizzle on every request cost more than running it. Same SQL, parameters and results.
   * (The filter values are placeholders; only which filters are present, and the state,
   * which comes from a fixed enum, select the statement.)
   */
  private readonly statements = new Map<string, Prepared<unknown[]>>();
  /**
   * The statements that take a LIMIT (a page size), one per value on SQLite: a bound LIMIT
   * makes SQLite prepare the statement again on every run (lib/sql.ts literalLimit; measured on
   * the meter-point listing at 100k: 86–91 µs bound against 21–22 µs without).
   */
  private readonly limited: LimitedStatements;

  /** The statement of one shape, prepared the first time it is asked for (named after the shape). */
  private statement(key: string, build: (db: Db, tables: typeof schema) => Preparable<unknown[]>): Prepared<unknown[]> {
    let stmt = this.statements.get(key);
    if (!stmt) this.statements.set(key, (stmt = this.reg.store.prepare(`access-records.${key}`, build)));
    return stmt;
  }

  /** Every record and DISCOVERED access on a meter point, newest first (optionally one page of it). */
  async forMeterPoint(mpxn: string, f: MeterPointFilters): Promise<AccessRow[]> {
    return (await this.meterPointRun('rows', mpxn, f)) as AccessRow[];
  }

  /** The same listing as summaries written by the database (GET /meter-points/{mpxn}/access-records). */
  async meterPointSummaries(mpxn: string, f: MeterPointFilters): Promise<SummaryJson[]> {
    return (await this.meterPointRun('summaries', mpxn, f)) as SummaryJson[];
  }

  /**
   * One page of the listing (GET /meter-points/{mpxn}/access-records) as the answer's whole body:
   * `around(nextCursor)` gives the text before and after the summaries, which are joined with
   * commas inside it. The database joins the page into one text (dialect.joinText): one row and
   * one string instead of one per record, which made a 300-record listing's statement about a
   * third cheaper and a 2–3-record one about a quarter (in-process at 100k, docs/performance.md).
   * It writes the text around the page too, so the answer is one flat string as the driver
   * made it: spliced in JavaScript, a 225 KB listing was copied again to flatten it for its
   * Content-Length (docs/performance.md, "30 November, night: listings"). It reads one row
   * more than the page to tell whether another page follows; only then are the records read
   * again one by one, to leave that row out and name the cursor.
   */
  async meterPointPage(mpxn: string, f: MeterPointFilters & { limit: number }, around: (nextCursor: string | null) => { before: string; after: string }): Promise<string> {
    const last = around(null);
    const [joined] = await this.meterPointRun('joined', mpxn, { ...f, limit: f.limit + 1 }, last);
    const { n, json } = joined as { n: number | string; json: string };
    // PostgreSQL's count is a bigint, which arrives as a string.
    if (Number(n) <= f.limit) return json;
    const { rows, nextCursor } = takePage(await this.meterPointSummaries(mpxn, { ...f, limit: f.limit + 1 }), f.limit);
    const { before, after } = around(nextCursor);
    return `${before}${rows.map((r) => r.json).join(',')}${after}`;
  }

  /**
   * A meter point's listing of one shape; with a limit, through `limited` (never a bound LIMIT).
   * `joined`: the summaries of that many records as one text, between `around`'s two texts,
   * and how many there were.
   */
  private meterPointRun(output: 'rows' | 'summaries' | 'joined', mpxn: string, f: MeterPointFilters, around?: { before: string; after: string }): Promise<unknown[]> {
    const viewer = output !== 'rows' && f.viewerDuid !== undefined;
    const shape = `mpxn|${output}|${f.state ?? ''}|${f.legalBasis ? 'b' : ''}|${f.cursor ? 'c' : ''}|${viewer ? 'v' : ''}`;
    const params = { mpxn, now: this.reg.clock.iso(), viewerDuid: f.viewerDuid, legalBasis: f.legalBasis, cursor: f.cursor, before: around?.before, after: around?.after };
    const where = ({ accessRecords }: typeof schema) => {
      const filters: SQL[] = [eq(accessRecords.mpxn, sql.placeholder('mpxn'))];
      if (f.state) filters.push(this.stateFilter(f.state, sql.placeholder('now') as unknown as string));
      if (f.legalBasis) filters.push(eq(accessRecords.legalBasis, sql.placeholder('legalBasis')));
      if (f.cursor) filters.push(lt(accessRecords.seq, sql.placeholder('cursor')));
      return and(...filters);
    };
    const viewerDuid = viewer ? sql.placeholder('viewerDuid') : undefined;
    if (output === 'joined') {
      if (f.limit === undefined) throw new Error('a joined listing needs a limit');
      return this.limited.execute(
        shape,
        f.limit,
        (db, tables, limit) => {
          const page = this.summariesSelect(db, tables, undefined, viewerDuid).from(tables.accessRecords).where(where(tables)).orderBy(desc(tables.accessRecords.seq)).limit(limit).as('page');
          const d = this.reg.store.dialect;
          const text = (name: string) => sql`cast(${sql.placeholder(name)} as text)`;
          // No summaries (a filter that matches none): no joined text, an empty array.
          const json = d.joinAll([text('before'), sql`coalesce(${d.joinText(sql`${page.json}`, ',', sql`${page.seq} desc`)}, '')`, text('after')]);
          return db.select({ n: sql<number>`count(*)`, json: sql<string>`${json}` }).from(page);
        },
        params,
      );
    }
    const build = (db: Db, tables: typeof schema) => this.select(db, tables, output, undefined, viewerDuid).from(tables.accessRecords).where(where(tables)).orderBy(desc(tables.accessRecords.seq));
    if (f.limit === undefined) return this.statement(shape, build).execute(params);
    return this.limited.execute(shape, f.limit, (db, tables, limit) => build(db, tables).limit(limit), params);
  }

  /**
   * Whole rows, or just `seq` and the summary as JSON text. In a Data User's own listing
   * (`ownerDuid`) and on its own records in a meter-point listing (`viewerDuid`),
   * record-metadata shows the ir when that identity record is the caller's.
   */
  private select(db: Db, tables: typeof schema, output: 'rows' | 'summaries', ownerDuid?: Placeholder, viewerDuid?: Placeholder) {
    return output === 'rows' ? db.select() : this.summariesSelect(db, tables, ownerDuid, viewerDuid);
  }

  /** `seq` and the summary as JSON text (see select). */
  private summariesSelect(db: Db, tables: typeof schema, ownerDuid?: Placeholder, viewerDuid?: Placeholder) {
    const { accessRecords } = tables;
    const { ownersIrSql, summaryJsonSql } = recordJsonOf(tables, this.reg.store.dialect);
    // The ir is shown on the caller's own records only, when the identity record is its own too
    // (ownersIrSql), as verification shows it; a portal never learns an ir.
    const ownIr = ownerDuid ? ownersIrSql : viewerDuid ? sql`case when ${accessRecords.duid} = ${viewerDuid} then ${ownersIrSql} end` : undefined;
    // Named, so that a query around it can read it (meterPointPage).
    return db.select({ seq: accessRecords.seq, json: summaryJsonSql(sql.placeholder('now'), ownIr, viewerDuid).as('json') });
  }

  /**
   * Substring search for the admin lists: MPxN, purpose, controller and organisation names
   * (ignoring case), a fragment of an access key, plus exact matches (access key, DUID,
   * organisation reference, a formatted MPxN). A term shorter than 3 characters matches
   * prefixes instead: of the access key, the MPxN and the organisation names (index range
   * scans). Returns the matching seqs, as a UNION of lookups. The substring part is the
   * engine's own (trigramSearch, scanSearch).
   */
  private searchSet(q: string): SQL {
    const term = q.trim();
    const t = this.reg.store.tables.accessRecords;
    const alternatives: SQL[] = [sql`select ${t.seq} from ${t} where ${t.ak} = ${term}`];
    const mpxn = canonicalMpxn(term);
    if (mpxn) alternatives.push(sql`select ${t.seq} from ${t} where ${t.mpxn} = ${mpxn}`);
    alternatives.push(sql`select ${t.seq} from ${t} where ${t.duid} = ${term}`);
    alternatives.push(sql`select ${t.seq} from ${t} where ${this.reg.store.dialect.sameIgnoringCase(t.organisationReference, term)}`);
    if ([...term].length >= 3) {
      // The FTS5 index and its queue exist in SQLite only (services/search-index.ts).
      alternatives.push(...(this.reg.store.engine === 'sqlite' ? this.trigramSearch(t, term) : this.scanSearch(t, term)));
    } else {
      alternatives.push(sql`select ${t.seq} from ${t} where ${t.ak} >= ${term} and ${t.ak} < ${term + '\u{10FFFF}'}`);
      alternatives.push(sql`select ${t.seq} from ${t} where ${t.mpxn} >= ${term} and ${t.mpxn} < ${term + '\u{10FFFF}'}`);
      alternatives.push(sql`select ${t.seq} from ${t} where ${this.reg.store.dialect.prefixIgnoringCase(t.leadControllerName, term)}`);
      alternatives.push(sql`select ${t.seq} from ${t} where ${this.reg.store.dialect.prefixIgnoringCase(t.organisationName, term)}`);
    }
    return sql.join(alternatives, sql` union `);
  }

  /**
   * SQLite: the four names through the FTS5 trigram index, plus the records still queued for
   * it, and an access-key fragment through the access-key index.
   */
  private trigramSearch(t: typeof schema.accessRecords, term: string): SQL[] {
    const alternatives: SQL[] = [sql`select rowid from access_records_search where access_records_search match ${`"${term.replace(/"/g, '""')}"`}`];
    // Records written since the indexer last ran are not in the trigram index yet (their seq
    // waits in its queue, services/search-index.ts): the few of them are matched directly, so
    // a search finds a record the moment it is written. (`cross join` keeps the queue outside:
    // a lookup by seq per queued record, never a scan of the table.) LIKE folds ASCII case only,
    // the trigram index folds all of Unicode: until it is indexed, a queued record with
    // non-ASCII letters is found by the case it was written in.
    const like = `%${term.replace(/[!%_]/g, (c) => `!${c}`)}%`;
    const has = (c: SQLiteColumn) => sql`${c} like ${like} escape '!'`;
    alternatives.push(sql`select ${t.seq} from ${sql.raw(SEARCH_QUEUE)} q cross join ${t} on ${t.seq} = q.seq where ${has(t.mpxn)} or ${has(t.purpose)} or ${has(t.leadControllerName)} or ${has(t.organisationName)}`);
    // Access keys are lower-case hex after `ak_`: a fragment that could be part of one is
    // looked for in the access-key index alone (a scan of short entries, ~20 ms at 100 k),
    // never in the table's rows.
    if (/^(a|ak|ak_)?[0-9a-f]*$/i.test(term)) alternatives.push(sql`select ${t.seq} from ${t} indexed by access_records_ak_uq where instr(${t.ak}, ${term.toLowerCase()}) > 0`);
    return alternatives;
  }

  /**
   * PostgreSQL: the four names as one lower-cased text (mpxn, purpose, lead controller name,
   * organisation name, joined by U+001F, nulls as empty), matched against the lower-cased term
   * with LIKE, which the trigram index `access_records_search_trgm` serves (drizzle-pg migration
   * `admin_search_trigrams`; the expression here must stay the index's); and an access-key
   * fragment, as SQLite finds them (a scan of the keys: like SQLite's, the trigram index leaves
   * random keys out, for the cost of indexing them on every create). The term's own `%`, `_` and `\` are literal. A
   * term holding the separator could match across two names, so it reads each name on its own
   * (a scan). lower() folds what the database's character type folds (ASCII under the C locale
   * the register's databases use), on both sides alike.
   */
  private scanSearch(t: typeof schema.accessRecords, term: string): SQL[] {
    const pattern = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const alternatives: SQL[] = [];
    if (term.includes(SEARCH_SEPARATOR)) {
      const has = (c: AnyColumn) => sql`lower(${c}) like lower(${pattern}) escape '\\'`;
      alternatives.push(sql`select ${t.seq} from ${t} where ${has(t.mpxn)} or ${has(t.purpose)} or ${has(t.leadControllerName)} or ${has(t.organisationName)}`);
    } else {
      const names = sql`lower(${t.mpxn} || chr(31) || coalesce(${t.purpose}, '') || chr(31) || coalesce(${t.leadControllerName}, '') || chr(31) || coalesce(${t.organisationName}, ''))`;
      alternatives.push(sql`select ${t.seq} from ${t} where ${names} like lower(${pattern}) escape '\\'`);
    }
    if (/^(a|ak|ak_)?[0-9a-f]*$/i.test(term)) alternatives.push(sql`select ${t.seq} from ${t} where strpos(${t.ak}, ${term.toLowerCase()}) > 0`);
    return alternatives;
  }

  /** The filters other than the search term. */
  private adminFilters(f: AdminRecordFilters): SQL[] {
    const t = this.reg.store.tables.accessRecords;
    const out: SQL[] = [];
    if (f.kind) out.push(eq(t.kind, f.kind));
    if (f.duid) out.push(eq(t.duid, f.duid));
    if (f.state) out.push(this.stateFilter(f.state, this.reg.clock.iso()));
    if (f.legalBasis) out.push(eq(t.legalBasis, f.legalBasis));
    if (f.superseded === true) out.push(isNotNull(t.supersededBy));
    if (f.superseded === false) out.push(isNull(t.supersededBy));
    out.push(...dateRange(t.createdAt, f.from, f.to));
    return out;
  }

  /**
   * Filters plus plan hints for a search (measured at 100 k records, docs/api.md "Admin lists"):
   * - the total of a search alone is counted from the matching seqs, without reading a row of
   *   the table for each match (28 k matches: 160 ms → under 10 ms);
   * - a search matching many rows, sorted by a column, walks that column's index and keeps the
   *   matches (`+seq` stops SQLite from fetching and sorting every match instead); a search
   *   matching few rows fetches them and sorts them.
   */
  private adminQuery(f: AdminRecordFilters): { filters: SQL[]; hints: PlanHints } {
    const base = this.adminFilters(f);
    if (!f.q) return { filters: base, hints: {} };
    const set = this.searchSet(f.q);
    const t = this.reg.store.tables.accessRecords;
    const filters = [...base, sql`${t.seq} in (${set})`];
    // PostgreSQL (before 16) wants a name for a subquery in FROM.
    const matches = this.reg.store.engine === 'sqlite' ? sql`(${set})` : sql`(${set}) as matches`;
    const sorted = f.sort !== undefined && !(f.sort === 'created');
    return {
      filters,
      hints: {
        count: base.length === 0 ? async () => (await this.reg.store.rows<{ n: number }>(sql`select count(*) as n from ${matches}`))[0].n : undefined,
        pageFilters: (total) => (sorted && total > 2000 ? [...base, sql`+${t.seq} in (${set})`] : filters),
      },
    };
  }

  /**
   * The sort expression for an admin list. Newest first is the default and keeps the plain
   * seq cursor. Organisation sorts by the lead controller's name for records and by the
   * organisation name for DISCOVERED access, ignoring case, as their indexes are built.
   */
  private adminSort(f: AdminRecordFilters): Sort | undefined {
    const t = this.reg.store.tables.accessRecords;
    const d = this.reg.store.dialect;
    const organisation = f.kind === 'discovered' ? d.ignoringCase(t.organisationName) : d.ignoringCase(t.leadControllerName);
    return listSort<RecordSort>(this.reg.store.dialect, { expiry: t.expiresAt, mpxn: t.mpxn, state: t.state, organisation }, t.seq, f.sort, f.order);
  }

  /** GET /admin/records and /admin/discovered-access: one sorted, filtered page. */
  async adminList<E extends Record<string, SQL<unknown>> = Record<never, SQL<unknown>>>(f: AdminRecordFilters, page: { limit: number; cursor?: string; offset?: number }, extra?: E) {
    const { filters, hints } = this.adminQuery(f);
    return (await sortedPage(this.reg.db, this.reg.store.tables.accessRecords, filters, this.adminSort(f), page, extra, hints)) as PageResult<AccessRow & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never }>;
  }

  /** The same rows, every one, a chunk at a time (streamed CSV export). */
  async adminListAll<E extends Record<string, SQL<unknown>> = Record<never, SQL<unknown>>>(f: AdminRecordFilters, extra?: E) {
    const { filters, hints } = this.adminQuery(f);
    const { accessRecords } = this.reg.store.tables;
    const total = hints.count
      ? await hints.count()
      : (
          await this.reg.db
            .select({ n: sql<number>`count(*)` })
            .from(accessRecords)
            .where(filters.length ? and(...filters) : undefined)
        )[0].n;
    return {
      total,
      chunks: sortedChunks(this.reg.db, accessRecords, filters, this.adminSort(f), 500, extra, { ...hints, count: () => Promise.resolve(total) }) as AsyncGenerator<(AccessRow & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never })[]>,
    };
  }

  /**
   * GET /records: a Data User's own records, newest first, as summaries written by the database;
   * record-metadata shows the ir where that identity record is the caller's.
   */
  async ownSummaries(f: { duid: string; state?: string; legalBasis?: string; limit: number; cursor?: number }): Promise<{ rows: SummaryJson[]; total: number; nextCursor: string | null }> {
    return (await this.searchPrepared({ ...f, kind: 'record' }, 'summaries')) as { rows: SummaryJson[]; total: number; nextCursor: string | null };
  }

  /** `search` without a free-text term (GET /records, admin filters), as prepared statements. */
  private async searchPrepared(f: SearchFilters, output: 'rows' | 'summaries' = 'rows') {
    // Only full records carry a duid (DISCOVERED rows never do), so with a duid filter
    // kind = 'record' is implied and left out. That keeps SQLite on the (duid, seq) index
    // whatever its statistics say: it counts from the index alone, and pages in seq order
    // (with kind in the query, approximate statistics made it walk the kind index instead).
    const kindImplied = !!f.duid && f.kind === 'record';
    const shape = `${f.duid ? 'd' : ''}${f.kind && !kindImplied ? `k=${f.kind}` : ''}${f.mpxn ? 'm' : ''}|${f.state ?? ''}|${f.legalBasis ? 'b' : ''}`;
    const filters = ({ accessRecords }: typeof schema): SQL[] => {
      const out: SQL[] = [];
      if (f.duid) out.push(eq(accessRecords.duid, sql.placeholder('duid')));
      if (f.kind && !kindImplied) out.push(eq(accessRecords.kind, sql.placeholder('kind')));
      if (f.mpxn) out.push(eq(accessRecords.mpxn, sql.placeholder('mpxn')));
      if (f.state) out.push(this.stateFilter(f.state, sql.placeholder('now') as unknown as string));
      if (f.legalBasis) out.push(eq(accessRecords.legalBasis, sql.placeholder('legalBasis')));
      return out;
    };
    const params = { duid: f.duid, kind: f.kind, mpxn: f.mpxn, now: this.reg.clock.iso(), legalBasis: f.legalBasis, cursor: f.cursor };
    const count = this.statement(`count|${shape}`, (db, tables) => {
      const where = filters(tables);
      return db
        .select({ n: sql<number>`count(*)` })
        .from(tables.accessRecords)
        .where(where.length ? and(...where) : undefined);
    });
    // A Data User's own records (GET /records): from the kept counts unless filtered further.
    const owned = f.duid && (!f.kind || f.kind === 'record') && !f.mpxn && !f.legalBasis;
    const total = owned ? await this.countOwned(f.duid!, f.state, params.now) : ((await count.execute(params))[0] as { n: number }).n;
    const page = await this.limited.execute<(AccessRow | SummaryJson)[]>(
      `page|${output}|${shape}|${f.cursor ? 'c' : ''}`,
      f.limit + 1,
      (db, tables, limit) => {
        const { accessRecords } = tables;
        const where = filters(tables);
        if (f.cursor) where.push(lt(accessRecords.seq, sql.placeholder('cursor')));
        return this.select(db, tables, output, f.duid ? sql.placeholder('duid') : undefined)
          .from(accessRecords)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(accessRecords.seq))
          .limit(limit);
      },
      params,
    );
    return { ...takePage(page, f.limit), total };
  }
}
