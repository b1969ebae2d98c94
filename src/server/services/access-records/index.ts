import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Register } from '../../context.js';
import type * as schema from '../../db/schema.js';
import { apiTime } from '../../lib/clock.js';
import { ApiError, conflict, invalid, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { AccessRecordInput } from '../../../shared/schemas/access-record.js';
import type { AccountRow } from '../accounts.js';
import type { EventPublisher } from '../events.js';
import type { IdentityRecords, IdentityRow } from '../identity-records.js';
import { AccessRecordQueries, METER_POINT_VIEWED, type AccessRow } from './queries.js';
import { RECORD_COLUMNS, recordColumns, ruleProblems, type RevokeReason } from './rules.js';

export * from './queries.js';
export { normaliseExpiry, REGISTERED_AT_MAX_FUTURE_MS, ruleProblems, type RevokeReason } from './rules.js';

/** What creating or replacing a record answers with (the access-token of contract §5). */
export interface AccessToken {
  ak: string;
  expiry: string | null;
}

/**
 * The access-record service: creating, replacing and revoking records under the rules
 * (rules.ts), with their audit and events, on top of the reads (queries.ts).
 */
export class AccessRecords extends AccessRecordQueries {
  private readonly insertRecord;
  private readonly discoveredToSupersede;

  constructor(
    reg: Register,
    private readonly identities: IdentityRecords,
    private readonly events: EventPublisher,
  ) {
    super(reg);
    // Prepared once (docs/performance.md): building these with drizzle on every create cost more than
    // running them. The json columns' encoders apply to placeholder values as to literals.
    const p = (name: string) => sql.placeholder(name);
    this.insertRecord = reg.store.prepare('access-records.insert', (db, { accessRecords }) => db.insert(accessRecords).values(Object.fromEntries(RECORD_COLUMNS.map((k) => [k, p(k)])) as unknown as typeof schema.accessRecords.$inferInsert));
    this.discoveredToSupersede = reg.store.prepare('access-records.discovered-to-supersede', (db, { accessRecords }) =>
      db
        .select({ ak: accessRecords.ak })
        .from(accessRecords)
        .where(and(eq(accessRecords.mpxn, p('mpxn')), reg.store.dialect.sameIgnoringCase(accessRecords.organisationReference, p('orgRef')), eq(accessRecords.kind, 'discovered'), isNull(accessRecords.supersededBy))),
    );
  }

  /**
   * Validates, resolves the identity record, inserts, supersedes matching DISCOVERED access.
   * Resolves to the new record's access token (its key and expiry as given). `resolveToken`
   * runs inside the transaction (consuming the token commits, or not, with the record).
   */
  async create(account: AccountRow, body: AccessRecordInput, link: { resolveToken: (tokenRef: string) => Promise<IdentityRow> | IdentityRow } | { identity: IdentityRow }): Promise<AccessToken> {
    const problems = ruleProblems(body, this.reg.clock.now().getTime());
    const token = body['reidentification-token'] ?? null;
    const irRef = body['record-metadata']['identity-record-ref'] ?? null;
    if ('resolveToken' in link) {
      if (token && irRef) problems.push('record-metadata.identity-record-ref must be omitted when reidentification-token is given');
      if (!token && !irRef) problems.push('record-metadata.identity-record-ref is required (or give reidentification-token for a customer re-identified from another Data User)');
    }
    if (problems.length) throw ApiError.validation(problems);

    return this.reg.tx(async () => {
      let identity: IdentityRow;
      if ('identity' in link) {
        identity = link.identity;
      } else if (token) {
        const resolveToken = link.resolveToken;
        identity = await resolveToken(token);
      } else {
        const found = await this.identities.find(irRef!);
        // Another Data User's ir is reported exactly like an unknown one.
        if (!found || found.duid !== account.duid) throw invalid(`record-metadata.identity-record-ref ${irRef} is not one of your identity records`);
        identity = found;
      }
      if (identity.anonymisedAt || !identity.mpxn) throw conflict(`The identity record was anonymised on ${apiTime(identity.anonymisedAt)}; it cannot be linked`);

      const ak = newId('ak');
      const now = this.reg.clock.iso();
      const cols = recordColumns(account.duid, identity, ak, body, now);
      await this.insertRecord.execute(cols);
      await this.reg.audit.append({
        actor: account.accountId,
        eventType: 'access-record.created',
        ak,
        ir: identity.ir,
        detail: { 'legal-basis': body.processing['legal-basis'], state: body['access-event'].state, via: token ? 'reidentification-token' : 'identity-record-ref' },
      });
      await this.supersedeDiscovered(account, identity.mpxn, ak, now);
      // What was just written, not read back: reading the row again cost a create ~5 % (docs/performance.md).
      return { ak, expiry: cols.expiry };
    });
  }
  private async supersedeDiscovered(account: AccountRow, mpxn: string, ak: string, now: string): Promise<void> {
    if (!account.organisationReference) return;
    const matches = await this.discoveredToSupersede.execute({ mpxn, orgRef: account.organisationReference });
    const { accessRecords } = this.reg.store.tables;
    for (const m of matches) {
      await this.reg.db.update(accessRecords).set({ supersededBy: ak, supersededAt: now, updatedAt: now }).where(eq(accessRecords.ak, m.ak));
      await this.reg.audit.append({ actor: account.accountId, eventType: 'discovered-access.superseded', ak: m.ak, detail: { 'superseded-by': ak, 'organisation-reference': account.organisationReference } });
    }
  }

  /** The caller's own record, or 404 (another Data User's is reported as unknown). */
  async getOwned(duid: string, ak: string): Promise<AccessRow> {
    const row = await this.find(ak);
    if (!row || row.kind !== 'record' || row.duid !== duid) throw notFound(`Access record ${ak}`);
    return row;
  }

  async replace(account: AccountRow, ak: string, body: AccessRecordInput): Promise<AccessToken> {
    const problems = ruleProblems(body, this.reg.clock.now().getTime());
    if (body['reidentification-token']) problems.push('reidentification-token is only accepted when creating a record');
    if (body['access-event'].state !== 'ACTIVE') problems.push('access-event.state must be ACTIVE in a replacement; use DELETE /v1/access-records/{ak} to revoke');
    if (problems.length) throw ApiError.validation(problems);
    return this.reg.tx(async () => {
      const row = await this.getOwned(account.duid, ak);
      const state = this.effectiveState(row);
      if (state !== 'ACTIVE') throw conflict(`Access record ${ak} is ${state}; only ACTIVE records can be replaced`);
      const irRef = body['record-metadata']['identity-record-ref'];
      if (irRef && irRef !== row.ir) throw invalid('record-metadata.identity-record-ref cannot change in a replacement');
      const identity = (await this.identities.find(row.ir!))!;
      const now = this.reg.clock.iso();
      const cols = recordColumns(row.duid!, { ...identity, mpxn: row.mpxn }, ak, body, now);
      // activated-at stays: the record has been ACTIVE since its creation.
      const { createdAt: _c, ak: _ak, kind: _k, duid: _d, ir: _i, mpxn: _m, activatedAt: _a, ...changes } = cols;
      const { accessRecords } = this.reg.store.tables;
      await this.reg.db.update(accessRecords).set(changes).where(eq(accessRecords.seq, row.seq));
      await this.reg.audit.append({ actor: account.accountId, eventType: 'access-record.replaced', ak, ir: row.ir });
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
  async revoke(actor: string, ak: string, reason: RevokeReason | null, check: (row: AccessRow) => Promise<void> | void, after?: (row: AccessRow) => Promise<void> | void): Promise<AccessRow> {
    return this.reg.tx(async () => {
      const row = await this.find(ak);
      if (!row || row.kind !== 'record') throw notFound(`Access record ${ak}`);
      await check(row);
      const state = this.effectiveState(row);
      if (state !== 'ACTIVE') throw conflict(`Access record ${ak} is already ${state}`);
      const now = this.reg.clock.iso();
      const { accessRecords } = this.reg.store.tables;
      await this.reg.db.update(accessRecords).set({ state: 'REVOKED', revokedAt: now, revokeReason: reason, revokedBy: actor, updatedAt: now }).where(eq(accessRecords.seq, row.seq));
      await this.reg.audit.append({ actor, eventType: 'access-record.revoked', ak, ir: row.ir, detail: { reason } });
      await this.events.publish(row.duid!, 'consent.withdrawal', { ak, mpxn: row.mpxn, duid: row.duid, 'revoked-at': apiTime(now), reason }, ak);
      const revoked = (await this.find(ak))!;
      // In the same transaction: e.g. the customer's receipt commits (or not) with the change.
      await after?.(revoked);
      return revoked;
    });
  }
  /**
   * Audits that an account saw a meter point's records (contract §5: every listing, and every
   * portal page showing them). One audit insert; call inside the transaction of the request.
   * `via`: `api` for GET /meter-points/{mpxn}/access-records, `portal-page` for /portal.
   */
  recordView(account: Pick<AccountRow, 'accountId' | 'duid' | 'role'>, mpxn: string, via: 'api' | 'portal-page'): Promise<void> {
    return this.reg.audit.append({ actor: account.accountId, eventType: METER_POINT_VIEWED, subject: mpxn, detail: { duid: account.duid, role: account.role, via } });
  }
}
