import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Static } from 'typebox';
import { takePage } from '../lib/paging.js';
import { dateRange, sortedChunks, sortedPage, type PageResult, type PlanHints, type Sort, type SortDir } from '../lib/listing.js';
import type { Register } from '../context.js';
import { accessRecordCounts, accessRecords, accounts, auditEvents } from '../db/schema.js';
import { canonicalInstant, canonicalInstantOrDate, canonicalMpxn, instantText } from '../../shared/values.js';
import { apiTime } from '../lib/clock.js';
import { ApiError, conflict, invalid, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { prefixMatch, sameIgnoringCase } from '../lib/sql.js';
import { CONSENT_BASES, type AccessRecordInput, type AccessRecordOutput, type AccessRecordSummary } from '../schemas/access-record.js';
import type { AccountRow } from './accounts.js';
import type { EventPublisher } from './events.js';
import type { IdentityRecords, IdentityRow } from './identity-records.js';
import { ownersIrSql, recordJsonSql, summaryJsonSql } from './record-json.js';
import { SEARCH_QUEUE } from './search-index.js';

export type AccessRow = typeof accessRecords.$inferSelect;
export type AccessRecordApi = Static<typeof AccessRecordOutput>;
export type AccessRecordSummaryApi = Static<typeof AccessRecordSummary>;
/** What creating or replacing a record answers with (the access-token of contract §5). */
export interface AccessToken {
  ak: string;
  expiry: string | null;
}
/** The audit event of a meter-point listing or portal view (contract §5). */
export const METER_POINT_VIEWED = 'meter-point.viewed';

/** One view of a meter point's records, as the customer is shown it. */
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

/** What the register keeps of a submitted record: the sections minus register-set fields. */
interface StoredBody {
  'record-metadata': { 'schema-version': string; 'controller-arrangement': AccessRecordInput['record-metadata']['controller-arrangement'] };
  notice: AccessRecordInput['notice'] | null;
  processing: Omit<AccessRecordInput['processing'], 'jurisdiction'>;
  'access-event': { 'registered-at': string; expiry: string | null; 'controller-reference'?: string | null; consent: NonNullable<AccessRecordInput['access-event']['consent']> | null };
}

export type RevokeReason = 'customer-request' | 'contract-ended' | 'lia-lapsed' | 'statutory-authority-lapsed' | 'data-no-longer-required' | 'other';

/** A registered-at may run ahead of the register's clock by at most this much (clock skew). */
export const REGISTERED_AT_MAX_FUTURE_MS = 5 * 60_000;

/**
 * The canonical expiry (`YYYY-MM-DDTHH:MM:SSZ`; a date-only input means 00:00:00Z of that
 * day, contract §1) as the millisecond timestamp the comparisons use (`expires_at`), or
 * null for no expiry or a value that names no instant.
 */
export function normaliseExpiry(expiry: string | null | undefined): string | null {
  if (!expiry) return null;
  const c = canonicalInstantOrDate(expiry);
  return c ? `${c.slice(0, 19)}.000Z` : null;
}

/**
 * The record's timestamps in canonical form, checked as instants: registered-at not more
 * than 5 minutes ahead of the register's clock (a consent dated in the future must not
 * authorise access today), expiry not before registered-at. The request canonicaliser has
 * normally done this already; services are also called by the seed and tools.
 */
function timeProblems(body: AccessRecordInput, nowMs: number, problems: string[]): void {
  const ev = body['access-event'];
  const registeredAt = typeof ev['registered-at'] === 'string' ? canonicalInstant(ev['registered-at']) : null;
  if (!registeredAt) problems.push('access-event.registered-at must be a valid date-time (RFC 3339, e.g. 2026-03-24T09:00:00Z)');
  else ev['registered-at'] = registeredAt;
  let expiry: string | null = null;
  if (ev.expiry !== null && ev.expiry !== undefined) {
    expiry = canonicalInstantOrDate(ev.expiry);
    if (!expiry) problems.push('access-event.expiry must be a valid date-time or date (YYYY-MM-DD)');
    else ev.expiry = expiry;
  }
  if (registeredAt && Date.parse(registeredAt) > nowMs + REGISTERED_AT_MAX_FUTURE_MS)
    problems.push(`access-event.registered-at ${registeredAt} is in the future (the register's clock reads ${instantText(nowMs)}); at most 5 minutes ahead is accepted`);
  if (registeredAt && expiry && Date.parse(expiry) < Date.parse(registeredAt)) problems.push('access-event.expiry must not be before access-event.registered-at');
}

/**
 * The business rules JSON Schema cannot express (contract §5). Returns every problem,
 * each naming its field path.
 */
export function ruleProblems(body: AccessRecordInput, nowMs: number): string[] {
  const problems: string[] = [];
  timeProblems(body, nowMs, problems);
  const arr = body['record-metadata']['controller-arrangement'];
  const base = 'record-metadata.controller-arrangement';
  const controllers = arr.controllers;
  const type = arr['arrangement-type'];
  const art26 = arr['art26-reference'];
  const roleAt = (i: number, expected: string) => problems.push(`${base}.controllers[${i}].role must be "${expected}" in a ${type} arrangement (got "${controllers[i].role}")`);

  if (type === 'sole') {
    if (controllers.length !== 1) problems.push(`${base}.controllers must have exactly one controller in a sole arrangement (got ${controllers.length})`);
    controllers.forEach((c, i) => c.role !== 'sole' && roleAt(i, 'sole'));
  } else {
    const other = type === 'joint' ? 'joint' : 'member';
    if (type === 'joint' && controllers.length < 2) problems.push(`${base}.controllers must have at least two controllers in a joint arrangement (got ${controllers.length})`);
    const leads = controllers.filter((c) => c.role === 'lead').length;
    if (leads !== 1) problems.push(`${base}.controllers must have exactly one controller with role "lead" in a ${type} arrangement (got ${leads})`);
    controllers.forEach((c, i) => c.role !== 'lead' && c.role !== other && roleAt(i, leads === 0 && i === 0 ? 'lead' : other));
  }
  if (type === 'joint' && !art26) problems.push(`${base}.art26-reference is required for a joint arrangement (UK GDPR Art. 26 arrangement)`);
  if (type !== 'joint' && art26) problems.push(`${base}.art26-reference must be null or absent for a ${type} arrangement`);

  const basis = body.processing['legal-basis'];
  const isConsent = CONSENT_BASES.includes(basis);
  const notice = body.notice ?? null;
  if (isConsent) {
    const shared = notice?.['shared-notice'] ?? null;
    const notices = notice?.notices ?? null;
    if (!notice || (!shared && !notices)) problems.push(`notice is required for ${basis}: give exactly one of notice.shared-notice or notice.notices`);
    else if (shared && notices) problems.push('notice must have exactly one of shared-notice or notices, not both');
    else if (notices && notices.length < 2) problems.push(`notice.notices must list at least two controller notices (got ${notices.length}); use notice.shared-notice for one`);
    if (!body['access-event'].consent) problems.push(`access-event.consent is required for ${basis}`);
  } else {
    if (notice !== null) problems.push(`notice must be null for the non-consent basis ${basis}`);
    if (body['access-event'].consent) problems.push(`access-event.consent must be null for the non-consent basis ${basis}`);
  }
  const consentType = body['access-event'].consent?.['consent-type'];
  if (basis === 'uk-explicit-consent' && consentType && consentType !== 'explicit-consent') problems.push('access-event.consent.consent-type must be "explicit-consent" for uk-explicit-consent');

  return problems;
}

function leadOf(arr: AccessRecordInput['record-metadata']['controller-arrangement']): string {
  return (arr.controllers.find((c) => c.role === 'sole' || c.role === 'lead') ?? arr.controllers[0]).name;
}

/** The columns `columns()` fills for a new record (the prepared insert binds exactly these). */
const RECORD_COLUMNS = [
  'ak',
  'kind',
  'duid',
  'ir',
  'mpxn',
  'state',
  'legalBasis',
  'arrangementType',
  'leadControllerName',
  'controllerCount',
  'purpose',
  'dataTypes',
  'expiry',
  'expiresAt',
  'registeredAt',
  'body',
  'createdAt',
  'updatedAt',
  'revokedAt',
  'revokeReason',
  'expiredAt',
  'activatedAt',
] as const;

export class AccessRecords {
  private readonly byAk;
  private readonly ownsOnMpxn;
  private readonly activatedOnMpxn;
  private readonly viewsByMpxn;

  constructor(
    private readonly reg: Register,
    private readonly identities: IdentityRecords,
    private readonly events: EventPublisher,
  ) {
    this.byAk = reg.db
      .select()
      .from(accessRecords)
      .where(eq(accessRecords.ak, sql.placeholder('ak')))
      .prepare();
    this.recordJsonByAk = reg.db
      .select({ json: recordJsonSql(sql.placeholder('now')) })
      .from(accessRecords)
      .where(eq(accessRecords.ak, sql.placeholder('ak')))
      .prepare();
    this.summariesByIr = reg.db
      .select({ json: summaryJsonSql(sql.placeholder('now')) })
      .from(accessRecords)
      .where(eq(accessRecords.ir, sql.placeholder('ir')))
      .orderBy(desc(accessRecords.seq))
      .limit(1000)
      .prepare();
    this.recordsByMpxn = reg.db
      .select({ summary: summaryJsonSql(sql.placeholder('now')), record: recordJsonSql(sql.placeholder('now')) })
      .from(accessRecords)
      .where(eq(accessRecords.mpxn, sql.placeholder('mpxn')))
      .orderBy(desc(accessRecords.seq))
      .prepare();
    this.ownsOnMpxn = reg.db
      .select({ seq: accessRecords.seq })
      .from(accessRecords)
      .where(and(eq(accessRecords.mpxn, sql.placeholder('mpxn')), eq(accessRecords.duid, sql.placeholder('duid'))))
      .limit(1)
      .prepare();
    // Answered from the partial (mpxn, duid) index alone: it holds only activated records.
    this.activatedOnMpxn = reg.db
      .select({ seq: accessRecords.seq })
      .from(accessRecords)
      .where(and(eq(accessRecords.mpxn, sql.placeholder('mpxn')), eq(accessRecords.duid, sql.placeholder('duid')), isNotNull(accessRecords.activatedAt)))
      .limit(1)
      .prepare();
    // The newest views of one meter point, through the partial (subject, seq) index of the
    // audit log; only meter-point.viewed events carry an MPxN as their subject.
    this.viewsByMpxn = reg.db
      .select({ at: auditEvents.at, duid: accounts.duid, displayName: accounts.displayName, role: accounts.role })
      .from(auditEvents)
      .innerJoin(accounts, eq(accounts.accountId, auditEvents.actor))
      .where(and(eq(auditEvents.subject, sql.placeholder('mpxn')), eq(auditEvents.eventType, METER_POINT_VIEWED)))
      .orderBy(desc(auditEvents.seq))
      .limit(sql.placeholder('limit') as unknown as number)
      .prepare();
    // Prepared once (docs/performance.md): building these with drizzle on every create cost more than
    // running them. The json columns' encoders apply to placeholder values as to literals.
    const p = (name: string) => sql.placeholder(name);
    this.insertRecord = reg.db
      .insert(accessRecords)
      .values(Object.fromEntries(RECORD_COLUMNS.map((k) => [k, p(k)])) as unknown as typeof accessRecords.$inferInsert)
      .prepare();
    this.discoveredToSupersede = reg.db
      .select({ ak: accessRecords.ak })
      .from(accessRecords)
      .where(and(eq(accessRecords.mpxn, p('mpxn')), sameIgnoringCase(accessRecords.organisationReference, p('orgRef')), eq(accessRecords.kind, 'discovered'), isNull(accessRecords.supersededBy)))
      .prepare();
    this.countsOf = reg.db
      .select({ state: accessRecordCounts.state, n: accessRecordCounts.n })
      .from(accessRecordCounts)
      .where(eq(accessRecordCounts.duid, p('duid')))
      .prepare();
    // ACTIVE past expiry but not swept yet: a handful at most (the sweeper runs every few
    // seconds), found through the (state, expires_at) index.
    this.lapsedOf = reg.db
      .select({ n: sql<number>`count(*)` })
      .from(accessRecords)
      .where(and(eq(accessRecords.state, 'ACTIVE'), lte(accessRecords.expiresAt, p('now')), eq(accessRecords.duid, p('duid'))))
      .prepare();
  }

  /**
   * How many records a Data User holds, optionally in one effective state, from the
   * trigger-kept counts: O(1) instead of counting every index entry (docs/performance.md). The
   * effective state moves ACTIVE records past their expiry to EXPIRED before any sweep.
   */
  countOwned(duid: string, state: string | undefined, nowIso: string): number {
    const counts = new Map(this.countsOf.all({ duid }).map((c) => [c.state, c.n]));
    if (!state) return [...counts.values()].reduce((a, b) => a + b, 0);
    if (state !== 'ACTIVE' && state !== 'EXPIRED') return counts.get(state) ?? 0;
    const lapsed = this.lapsedOf.get({ duid, now: nowIso })!.n;
    return state === 'ACTIVE' ? (counts.get('ACTIVE') ?? 0) - lapsed : (counts.get('EXPIRED') ?? 0) + lapsed;
  }

  private readonly insertRecord;
  private readonly recordJsonByAk;
  private readonly summariesByIr;
  private readonly recordsByMpxn;
  private readonly discoveredToSupersede;
  private readonly countsOf;
  private readonly lapsedOf;

  find(ak: string): AccessRow | undefined {
    return this.byAk.get({ ak });
  }

  /**
   * The state a reader sees: an ACTIVE record past its expiry is EXPIRED even before a sweep.
   * (The same rule in SQL, for records written as JSON: effectiveStateSql in record-json.ts.)
   */
  effectiveState(row: Pick<AccessRow, 'state' | 'expiresAt'>, nowIso = this.reg.clock.iso()): string {
    return row.state === 'ACTIVE' && row.expiresAt !== null && row.expiresAt <= nowIso ? 'EXPIRED' : row.state;
  }

  /** SQL for "effective state = s" (see effectiveState). */
  stateFilter(state: string, nowIso: string): SQL {
    if (state === 'ACTIVE') return and(eq(accessRecords.state, 'ACTIVE'), or(isNull(accessRecords.expiresAt), gt(accessRecords.expiresAt, nowIso)))!;
    if (state === 'EXPIRED') return or(eq(accessRecords.state, 'EXPIRED'), and(eq(accessRecords.state, 'ACTIVE'), lte(accessRecords.expiresAt, nowIso)))!;
    return eq(accessRecords.state, state);
  }

  /**
   * Validates, resolves the identity record, inserts, supersedes matching DISCOVERED access.
   * Returns the new record's access token (its key and expiry as given).
   */
  create(account: AccountRow, body: AccessRecordInput, link: { resolveToken: (tokenRef: string) => IdentityRow } | { identity: IdentityRow }): AccessToken {
    const problems = ruleProblems(body, this.reg.clock.now().getTime());
    const token = body['reidentification-token'] ?? null;
    const irRef = body['record-metadata']['identity-record-ref'] ?? null;
    if ('resolveToken' in link) {
      if (token && irRef) problems.push('record-metadata.identity-record-ref must be omitted when reidentification-token is given');
      if (!token && !irRef) problems.push('record-metadata.identity-record-ref is required (or give reidentification-token for a customer re-identified from another Data User)');
    }
    if (problems.length) throw ApiError.validation(problems);

    return this.reg.tx(() => {
      let identity: IdentityRow;
      if ('identity' in link) {
        identity = link.identity;
      } else if (token) {
        const resolveToken = link.resolveToken;
        identity = resolveToken(token);
      } else {
        const found = this.identities.find(irRef!);
        // Another Data User's ir is reported exactly like an unknown one.
        if (!found || found.duid !== account.duid) throw invalid(`record-metadata.identity-record-ref ${irRef} is not one of your identity records`);
        identity = found;
      }
      if (identity.anonymisedAt || !identity.mpxn) throw conflict(`The identity record was anonymised on ${apiTime(identity.anonymisedAt)}; it cannot be linked`);

      const ak = newId('ak');
      const now = this.reg.clock.iso();
      const cols = this.columns(account.duid, identity, ak, body, now);
      this.insertRecord.run(cols);
      this.reg.audit.append({
        actor: account.accountId,
        eventType: 'access-record.created',
        ak,
        ir: identity.ir,
        detail: { 'legal-basis': body.processing['legal-basis'], state: body['access-event'].state, via: token ? 'reidentification-token' : 'identity-record-ref' },
      });
      this.supersedeDiscovered(account, identity.mpxn, ak, now);
      // What was just written, not read back: reading the row again cost a create ~5 % (docs/performance.md).
      return { ak, expiry: cols.expiry };
    });
  }

  private columns(duid: string, identity: IdentityRow, ak: string, body: AccessRecordInput, now: string) {
    const arr = body['record-metadata']['controller-arrangement'];
    const ev = body['access-event'];
    const expiresAt = normaliseExpiry(ev.expiry);
    const stored: StoredBody = {
      'record-metadata': { 'schema-version': body['record-metadata']['schema-version'], 'controller-arrangement': { ...arr, 'art26-reference': arr['art26-reference'] ?? null } },
      notice: body.notice ?? null,
      processing: (({ jurisdiction: _j, ...rest }) => rest)(body.processing),
      'access-event': {
        'registered-at': ev['registered-at'],
        expiry: ev.expiry ?? null,
        ...(ev['controller-reference'] !== undefined ? { 'controller-reference': ev['controller-reference'] } : {}),
        consent: ev.consent ?? null,
      },
    };
    return {
      ak,
      kind: 'record',
      duid,
      ir: identity.ir,
      mpxn: identity.mpxn!,
      state: ev.state,
      legalBasis: body.processing['legal-basis'],
      arrangementType: arr['arrangement-type'],
      leadControllerName: leadOf(arr),
      controllerCount: arr.controllers.length,
      purpose: body.processing.purpose,
      dataTypes: body.processing['data-types'],
      expiry: ev.expiry ?? null,
      expiresAt,
      registeredAt: ev['registered-at'],
      body: stored as unknown as Record<string, unknown>,
      createdAt: now,
      updatedAt: now,
      revokedAt: ev.state === 'REVOKED' ? now : null,
      revokeReason: ev.state === 'REVOKED' ? 'other' : null,
      expiredAt: ev.state === 'EXPIRED' ? now : null,
      // Has been ACTIVE (contract §5): submitted ACTIVE with its expiry still ahead. A record
      // submitted ACTIVE with an expiry already past reads EXPIRED from the start and never
      // gave access, so it does not count either.
      activatedAt: ev.state === 'ACTIVE' && (expiresAt === null || expiresAt > now) ? now : null,
    };
  }

  private supersedeDiscovered(account: AccountRow, mpxn: string, ak: string, now: string): void {
    if (!account.organisationReference) return;
    const matches = this.discoveredToSupersede.all({ mpxn, orgRef: account.organisationReference });
    for (const m of matches) {
      this.reg.db.update(accessRecords).set({ supersededBy: ak, supersededAt: now, updatedAt: now }).where(eq(accessRecords.ak, m.ak)).run();
      this.reg.audit.append({ actor: account.accountId, eventType: 'discovered-access.superseded', ak: m.ak, detail: { 'superseded-by': ak, 'organisation-reference': account.organisationReference } });
    }
  }

  /** The caller's own record, or 404 (another Data User's is reported as unknown). */
  getOwned(duid: string, ak: string): AccessRow {
    const row = this.find(ak);
    if (!row || row.kind !== 'record' || row.duid !== duid) throw notFound(`Access record ${ak}`);
    return row;
  }

  replace(account: AccountRow, ak: string, body: AccessRecordInput): AccessToken {
    const problems = ruleProblems(body, this.reg.clock.now().getTime());
    if (body['reidentification-token']) problems.push('reidentification-token is only accepted when creating a record');
    if (body['access-event'].state !== 'ACTIVE') problems.push('access-event.state must be ACTIVE in a replacement; use DELETE /v1/access-records/{ak} to revoke');
    if (problems.length) throw ApiError.validation(problems);
    return this.reg.tx(() => {
      const row = this.getOwned(account.duid, ak);
      const state = this.effectiveState(row);
      if (state !== 'ACTIVE') throw conflict(`Access record ${ak} is ${state}; only ACTIVE records can be replaced`);
      const irRef = body['record-metadata']['identity-record-ref'];
      if (irRef && irRef !== row.ir) throw invalid('record-metadata.identity-record-ref cannot change in a replacement');
      const identity = this.identities.find(row.ir!)!;
      const now = this.reg.clock.iso();
      const cols = this.columns(row.duid!, { ...identity, mpxn: row.mpxn }, ak, body, now);
      // activated-at stays: the record has been ACTIVE since its creation.
      const { createdAt: _c, ak: _ak, kind: _k, duid: _d, ir: _i, mpxn: _m, activatedAt: _a, ...changes } = cols;
      this.reg.db.update(accessRecords).set(changes).where(eq(accessRecords.seq, row.seq)).run();
      this.reg.audit.append({ actor: account.accountId, eventType: 'access-record.replaced', ak, ir: row.ir });
      return { ak, expiry: cols.expiry };
    });
  }

  /**
   * ACTIVE → REVOKED, with the consent.withdrawal event queued in the same transaction.
   * `reason` is optional, as in the published operation; without one the payload's reason
   * is null (contract §5).
   * `check` runs inside the transaction before anything changes (ownership, portal rules);
   * `after` runs inside it once the record is REVOKED.
   */
  revoke(actor: string, ak: string, reason: RevokeReason | null, check: (row: AccessRow) => void, after?: (row: AccessRow) => void): AccessRow {
    return this.reg.tx(() => {
      const row = this.find(ak);
      if (!row || row.kind !== 'record') throw notFound(`Access record ${ak}`);
      check(row);
      const state = this.effectiveState(row);
      if (state !== 'ACTIVE') throw conflict(`Access record ${ak} is already ${state}`);
      const now = this.reg.clock.iso();
      this.reg.db.update(accessRecords).set({ state: 'REVOKED', revokedAt: now, revokeReason: reason, revokedBy: actor, updatedAt: now }).where(eq(accessRecords.seq, row.seq)).run();
      this.reg.audit.append({ actor, eventType: 'access-record.revoked', ak, ir: row.ir, detail: { reason } });
      this.events.publish(row.duid!, 'consent.withdrawal', { ak, mpxn: row.mpxn, duid: row.duid, 'revoked-at': apiTime(now), reason }, ak);
      const revoked = this.find(ak)!;
      // In the same transaction: e.g. the customer's receipt commits (or not) with the change.
      after?.(revoked);
      return revoked;
    });
  }

  /**
   * The full record as GET /access-records/{ak} returns it, as JSON text written by SQLite
   * (see record-json.ts), or undefined for an unknown ak.
   */
  recordJson(ak: string, nowIso = this.reg.clock.iso()): string | undefined {
    return this.recordJsonByAk.get({ ak, now: nowIso })?.json;
  }

  /** The same record as an object, for pages and admin views that use its parts. */
  apiRecord(ak: string, nowIso = this.reg.clock.iso()): AccessRecordApi | undefined {
    const text = this.recordJson(ak, nowIso);
    return text === undefined ? undefined : (JSON.parse(text) as AccessRecordApi);
  }

  /**
   * Every record on a meter point, newest first, both as its summary and as the full record
   * (the customer portal shows parts of each), read in one statement.
   */
  meterPointRecords(mpxn: string, nowIso = this.reg.clock.iso()): { summary: AccessRecordSummaryApi & { ak: string }; record: AccessRecordApi }[] {
    // Every key is shown here (the customer's own view, through the portal).
    return this.recordsByMpxn.all({ mpxn, now: nowIso }).map((r) => ({ summary: JSON.parse(r.summary) as AccessRecordSummaryApi & { ak: string }, record: JSON.parse(r.record) as AccessRecordApi }));
  }

  /** When each record on a meter point ended, and why (see RecordLifecycle), by ak. */
  meterPointLifecycle(mpxn: string): Map<string, RecordLifecycle> {
    const rows = this.reg.db
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
      .where(eq(accessRecords.mpxn, mpxn))
      .all();
    return new Map(rows.map((r) => [r.ak, r]));
  }

  /** Summaries of the records linked to an identity record, newest first (admin detail). */
  summariesForIdentity(ir: string, nowIso = this.reg.clock.iso()): AccessRecordSummaryApi[] {
    return this.summariesByIr.all({ ir, now: nowIso }).map((r) => JSON.parse(r.json) as AccessRecordSummaryApi);
  }

  /** Any record of this Data User on the MPxN, whatever its state (the demo seed's idempotence). */
  callerHasRecordOn(duid: string, mpxn: string): boolean {
    return this.ownsOnMpxn.get({ mpxn, duid }) !== undefined;
  }

  /**
   * May this Data User list the meter point (contract §5)? Only with a record there that is,
   * or has been, ACTIVE: one submitted directly as REVOKED or EXPIRED never counts, one that
   * was ACTIVE and has since been revoked or expired still does.
   */
  mayListMeterPoint(duid: string, mpxn: string): boolean {
    return this.activatedOnMpxn.get({ mpxn, duid }) !== undefined;
  }

  /**
   * Audits that an account saw a meter point's records (contract §5: every listing, and every
   * portal page showing them). One audit insert; call inside the transaction of the request.
   * `via`: `api` for GET /meter-points/{mpxn}/access-records, `portal-page` for /portal.
   */
  recordView(account: Pick<AccountRow, 'accountId' | 'duid' | 'role'>, mpxn: string, via: 'api' | 'portal-page'): void {
    this.reg.audit.append({ actor: account.accountId, eventType: METER_POINT_VIEWED, subject: mpxn, detail: { duid: account.duid, role: account.role, via } });
  }

  /** The newest `limit` views of a meter point, newest first: when, and which organisation. */
  meterPointViews(mpxn: string, limit: number): MeterPointView[] {
    return this.viewsByMpxn.all({ mpxn, limit });
  }

  /**
   * Performance (see docs/performance.md): the meter-point listing and the filter-only `search` are built
   * once per combination of filters and kept as prepared statements; building the SQL with
   * drizzle on every request cost more than running it. Same SQL, parameters and results.
   * (The filter values are placeholders; only which filters are present, and the state,
   * which comes from a fixed enum, select the statement.)
   */
  private readonly statements = new Map<string, { all(p: Record<string, unknown>): AccessRow[]; get(p: Record<string, unknown>): unknown }>();

  private statement(key: string, build: () => { all(p: Record<string, unknown>): unknown[]; get(p: Record<string, unknown>): unknown }) {
    let stmt = this.statements.get(key);
    if (!stmt) this.statements.set(key, (stmt = build() as never));
    return stmt!;
  }

  /** Every record and DISCOVERED access on a meter point, newest first (optionally one page of it). */
  forMeterPoint(mpxn: string, f: MeterPointFilters): AccessRow[] {
    return this.meterPointStatement('rows', f).all(this.meterPointParams(mpxn, f)) as AccessRow[];
  }

  /** The same listing as summaries written by SQLite (GET /meter-points/{mpxn}/access-records). */
  meterPointSummaries(mpxn: string, f: MeterPointFilters): SummaryJson[] {
    return this.meterPointStatement('summaries', f).all(this.meterPointParams(mpxn, f)) as unknown as SummaryJson[];
  }

  private meterPointParams(mpxn: string, f: MeterPointFilters) {
    return { mpxn, now: this.reg.clock.iso(), viewerDuid: f.viewerDuid, legalBasis: f.legalBasis, cursor: f.cursor, limit: f.limit };
  }

  private meterPointStatement(output: 'rows' | 'summaries', f: MeterPointFilters) {
    const viewer = output === 'summaries' && f.viewerDuid !== undefined;
    return this.statement(`mpxn|${output}|${f.state ?? ''}|${f.legalBasis ? 'b' : ''}|${f.cursor ? 'c' : ''}|${f.limit ? 'l' : ''}|${viewer ? 'v' : ''}`, () => {
      const filters: SQL[] = [eq(accessRecords.mpxn, sql.placeholder('mpxn'))];
      if (f.state) filters.push(this.stateFilter(f.state, sql.placeholder('now') as unknown as string));
      if (f.legalBasis) filters.push(eq(accessRecords.legalBasis, sql.placeholder('legalBasis')));
      if (f.cursor) filters.push(lt(accessRecords.seq, sql.placeholder('cursor')));
      const q = this.select(output, undefined, viewer ? sql.placeholder('viewerDuid') : undefined)
        .from(accessRecords)
        .where(and(...filters))
        .orderBy(desc(accessRecords.seq));
      return f.limit ? q.limit(sql.placeholder('limit') as unknown as number).prepare() : q.prepare();
    });
  }

  /**
   * Whole rows, or just `seq` and the summary as JSON text. In a Data User's own listing
   * (`ownerDuid`) and on its own records in a meter-point listing (`viewerDuid`),
   * record-metadata shows the ir when that identity record is the caller's.
   */
  private select(output: 'rows' | 'summaries', ownerDuid?: Placeholder, viewerDuid?: Placeholder) {
    if (output === 'rows') return this.reg.db.select();
    // The ir is shown on the caller's own records only, when the identity record is its own too
    // (ownersIrSql), as verification shows it; a portal never learns an ir.
    const ownIr = ownerDuid ? ownersIrSql : viewerDuid ? sql`case when ${accessRecords.duid} = ${viewerDuid} then ${ownersIrSql} end` : undefined;
    return this.reg.db.select({ seq: accessRecords.seq, json: summaryJsonSql(sql.placeholder('now'), ownIr, viewerDuid) });
  }

  /**
   * Substring search for the admin lists: MPxN, purpose, controller and organisation names
   * through the FTS5 trigram index, a fragment of an access key through the access-key index,
   * plus exact matches (access key, DUID, organisation reference, a formatted MPxN).
   * A trigram needs 3 characters, so a shorter term falls back to prefixes: of the access
   * key, the MPxN and the organisation names (index range scans). Returns the matching seqs,
   * as a UNION of index lookups.
   */
  private searchSet(q: string): SQL {
    const term = q.trim();
    const t = accessRecords;
    const alternatives: SQL[] = [sql`select ${t.seq} from ${t} where ${t.ak} = ${term}`];
    const mpxn = canonicalMpxn(term);
    if (mpxn) alternatives.push(sql`select ${t.seq} from ${t} where ${t.mpxn} = ${mpxn}`);
    alternatives.push(sql`select ${t.seq} from ${t} where ${t.duid} = ${term}`);
    alternatives.push(sql`select ${t.seq} from ${t} where ${sameIgnoringCase(t.organisationReference, term)}`);
    if ([...term].length >= 3) {
      alternatives.push(sql`select rowid from access_records_search where access_records_search match ${`"${term.replace(/"/g, '""')}"`}`);
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
    } else {
      alternatives.push(sql`select ${t.seq} from ${t} where ${t.ak} >= ${term} and ${t.ak} < ${term + '\u{10FFFF}'}`);
      alternatives.push(sql`select ${t.seq} from ${t} where ${t.mpxn} >= ${term} and ${t.mpxn} < ${term + '\u{10FFFF}'}`);
      alternatives.push(sql`select ${t.seq} from ${t} where ${prefixMatch(t.leadControllerName, term)}`);
      alternatives.push(sql`select ${t.seq} from ${t} where ${prefixMatch(t.organisationName, term)}`);
    }
    return sql.join(alternatives, sql` union `);
  }

  /** The filters other than the search term. */
  private adminFilters(f: AdminRecordFilters): SQL[] {
    const t = accessRecords;
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
    const t = accessRecords;
    const filters = [...base, sql`${t.seq} in (${set})`];
    const sorted = f.sort !== undefined && !(f.sort === 'created');
    return {
      filters,
      hints: {
        count: base.length === 0 ? () => (this.reg.db.get(sql`select count(*) as n from (${set})`) as { n: number }).n : undefined,
        pageFilters: (total) => (sorted && total > 2000 ? [...base, sql`+${t.seq} in (${set})`] : filters),
      },
    };
  }

  /**
   * The sort expression for an admin list. Newest first is the default and keeps the plain
   * seq cursor. Organisation sorts by the lead controller's name for records and by the
   * organisation name for DISCOVERED access (NOCASE, as their indexes are built).
   */
  private adminSort(f: AdminRecordFilters): Sort | undefined {
    const dir = f.order ?? (f.sort === undefined || f.sort === 'created' ? 'desc' : 'asc');
    const t = accessRecords;
    switch (f.sort ?? 'created') {
      case 'created':
        return dir === 'desc' ? undefined : { expr: t.seq, dir };
      case 'expiry':
        return { expr: t.expiresAt, dir };
      case 'mpxn':
        return { expr: t.mpxn, dir };
      case 'state':
        return { expr: t.state, dir };
      case 'organisation':
        return { expr: f.kind === 'discovered' ? sql`${t.organisationName} collate nocase` : sql`${t.leadControllerName} collate nocase`, dir };
    }
  }

  /** GET /admin/records and /admin/discovered-access: one sorted, filtered page. */
  adminList<E extends Record<string, SQL<unknown>> = Record<never, SQL<unknown>>>(f: AdminRecordFilters, page: { limit: number; cursor?: string; offset?: number }, extra?: E) {
    const { filters, hints } = this.adminQuery(f);
    return sortedPage(this.reg.db, accessRecords, filters, this.adminSort(f), page, extra, hints) as PageResult<AccessRow & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never }>;
  }

  /** The same rows, every one, a chunk at a time (streamed CSV export). */
  adminListAll<E extends Record<string, SQL<unknown>> = Record<never, SQL<unknown>>>(f: AdminRecordFilters, extra?: E) {
    const { filters, hints } = this.adminQuery(f);
    const total = hints.count
      ? hints.count()
      : this.reg.db
          .select({ n: sql<number>`count(*)` })
          .from(accessRecords)
          .where(filters.length ? and(...filters) : undefined)
          .get()!.n;
    return { total, chunks: sortedChunks(this.reg.db, accessRecords, filters, this.adminSort(f), 500, extra, { ...hints, count: () => total }) as Generator<(AccessRow & { [K in keyof E]: E[K] extends SQL<infer V> ? V : never })[]> };
  }

  /**
   * GET /records: a Data User's own records, newest first, as summaries written by SQLite;
   * record-metadata shows the ir where that identity record is the caller's.
   */
  ownSummaries(f: { duid: string; state?: string; legalBasis?: string; limit: number; cursor?: number }): { rows: SummaryJson[]; total: number; nextCursor: string | null } {
    return this.searchPrepared({ ...f, kind: 'record' }, 'summaries') as { rows: SummaryJson[]; total: number; nextCursor: string | null };
  }

  /** `search` without a free-text term (GET /records, admin filters), as prepared statements. */
  private searchPrepared(f: SearchFilters, output: 'rows' | 'summaries' = 'rows') {
    // Only full records carry a duid (DISCOVERED rows never do), so with a duid filter
    // kind = 'record' is implied and left out. That keeps SQLite on the (duid, seq) index
    // whatever its statistics say: it counts from the index alone, and pages in seq order
    // (with kind in the query, approximate statistics made it walk the kind index instead).
    const kindImplied = !!f.duid && f.kind === 'record';
    const shape = `${f.duid ? 'd' : ''}${f.kind && !kindImplied ? `k=${f.kind}` : ''}${f.mpxn ? 'm' : ''}|${f.state ?? ''}|${f.legalBasis ? 'b' : ''}`;
    const filters = (): SQL[] => {
      const out: SQL[] = [];
      if (f.duid) out.push(eq(accessRecords.duid, sql.placeholder('duid')));
      if (f.kind && !kindImplied) out.push(eq(accessRecords.kind, sql.placeholder('kind')));
      if (f.mpxn) out.push(eq(accessRecords.mpxn, sql.placeholder('mpxn')));
      if (f.state) out.push(this.stateFilter(f.state, sql.placeholder('now') as unknown as string));
      if (f.legalBasis) out.push(eq(accessRecords.legalBasis, sql.placeholder('legalBasis')));
      return out;
    };
    const params = { duid: f.duid, kind: f.kind, mpxn: f.mpxn, now: this.reg.clock.iso(), legalBasis: f.legalBasis, cursor: f.cursor, limit: f.limit + 1 };
    const count = this.statement(`count|${shape}`, () => {
      const where = filters();
      return this.reg.db
        .select({ n: sql<number>`count(*)` })
        .from(accessRecords)
        .where(where.length ? and(...where) : undefined)
        .prepare();
    });
    // A Data User's own records (GET /records): from the kept counts unless filtered further.
    const owned = f.duid && (!f.kind || f.kind === 'record') && !f.mpxn && !f.legalBasis;
    const total = owned ? this.countOwned(f.duid!, f.state, params.now) : (count.get(params) as { n: number }).n;
    const pageStmt = this.statement(`page|${output}|${shape}|${f.cursor ? 'c' : ''}`, () => {
      const where = filters();
      if (f.cursor) where.push(lt(accessRecords.seq, sql.placeholder('cursor')));
      return this.select(output, f.duid ? sql.placeholder('duid') : undefined)
        .from(accessRecords)
        .where(where.length ? and(...where) : undefined)
        .orderBy(desc(accessRecords.seq))
        .limit(sql.placeholder('limit') as unknown as number)
        .prepare();
    });
    const page = pageStmt.all(params) as (AccessRow | SummaryJson)[];
    return { ...takePage(page, f.limit), total };
  }
}
