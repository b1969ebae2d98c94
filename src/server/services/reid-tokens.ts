import { and, desc, eq, gt, inArray, isNotNull, isNull, lt, lte, not, or, sql, type SQL } from 'drizzle-orm';
import { dateRange, listSort, prefixOf, sortedChunks, sortedPage, type Sort, type SortDir } from '../lib/listing.js';
import type { Register } from '../context.js';
import { ONE_ROW, literalLimit, rowByKey } from '../lib/sql.js';
import type * as schema from '../db/schema.js';
import { affectedRows } from '../db/store.js';
import { apiTime } from '../lib/clock.js';
import { ApiError, badState, conflict, forbidden, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { AccountRow } from './accounts.js';

export type TokenRow = typeof schema.reidTokens.$inferSelect;

/** How long a confirmed token may be used, from issue. */
export const TOKEN_USABLE_MS = 60 * 60 * 1000;
/** [ours] How long a portal may withdraw records with a token after its meter-point query. */
export const PORTAL_WITHDRAW_MS = 30 * 60 * 1000;
/** How long a magic link may be confirmed. */
export const MAGIC_LINK_MS = 15 * 60 * 1000;
/** How long a passkey ceremony session may be completed. */
export const PASSKEY_SESSION_MS = 5 * 60 * 1000;

/**
 * The SQL form of ReidTokens.endedByChangeOfTenancy, over a row of `reidTokens` (the store's
 * table: `reg.store.tables.reidTokens`), for the admin filter and stats.
 */
export function endedByCotSql(reidTokens: typeof schema.reidTokens): SQL {
  return sql`(${reidTokens.flow} = 'mpxn' and coalesce((select i.move_in_date from identity_records i where i.ir = ${reidTokens.ir}), '')
  < coalesce((select max(c.effective_date) from cot_events c where c.mpxn = ${reidTokens.mpxn}), ''))`;
}

/** Why a token of a previous occupant no longer works (one wording for every path). */
export const ENDED_BY_COT = 'This re-identification is no longer valid: a change of tenancy has been reported for the meter point since the customer moved in';

import { TOKEN_METHODS, type POLLED_TOKEN_STATUSES, type TokenFlow, type TokenMethod, type TokenStatus } from '../../shared/vocabulary.js';

export { TOKEN_METHODS, type TokenMethod };
export const TOKEN_SORTS = ['created', 'expiry', 'status'] as const;
type TokenSort = (typeof TOKEN_SORTS)[number];

/** The admin token list's filters and sort (docs/api.md "Admin lists"). */
export interface AdminTokenFilters {
  status?: string;
  mpxn?: string;
  /** Prefix of an MPxN or of a token-ref. */
  q?: string;
  /** The initiator's DUID. */
  duid?: string;
  from?: string;
  to?: string;
  sort?: TokenSort;
  order?: SortDir;
}

export interface IssueToken {
  method: TokenMethod;
  flow: 'record' | 'mpxn';
  ir: string;
  mpxn: string;
  initiator: AccountRow;
  ceremonyExpiresAt: string;
  redirectUrl: string | null;
  linkSecretHash: string | null;
  /** Who asked (the initiator, or an operator acting on its behalf). */
  actor: string;
}

/**
 * Re-identification tokens (mlr_…): status as callers see it, and atomic consumption.
 * Issuing tokens and running ceremonies live in the re-identification service.
 */
export class ReidTokens {
  private readonly byRef;
  private readonly cotAfterMoveIn;

  constructor(private readonly reg: Register) {
    const { reidTokens } = reg.store.tables;
    this.byRef = rowByKey(reg.store, 'reid-tokens.by-ref', reidTokens, reidTokens.tokenRef, 'ref');
    // A change of tenancy reported for the token's MPxN with an effective-date after the
    // move-in-date of the token's identity record (an anonymised record has none, so any
    // change of tenancy ends it). One max() over the cot_events (mpxn, …) index; an aggregate
    // answers one row even when there is none.
    this.cotAfterMoveIn = reg.store.prepare('reid-tokens.cot-after-move-in', (db, { cotEvents, identityRecords }) =>
      db
        .select({
          after: sql<number>`case when coalesce((select ${identityRecords.moveInDate} from ${identityRecords} where ${identityRecords.ir} = ${sql.placeholder('ir')}), '')
                < coalesce(max(${cotEvents.effectiveDate}), '') then 1 else 0 end`,
        })
        .from(cotEvents)
        .where(eq(cotEvents.mpxn, sql.placeholder('mpxn'))),
    );
  }

  async find(tokenRef: string): Promise<TokenRow | undefined> {
    return this.byRef.find({ ref: tokenRef });
  }

  /**
   * [ours] Whether a change of tenancy has ended this token (docs/security.md): a token of the
   * meter-point flows (cross-Data-User, portal, support staff) whose identity record's
   * move-in-date is before the latest change of tenancy for its MPxN belongs to the previous
   * occupant, who must no longer be able to act for the new one — so it can no longer be
   * confirmed, used, or keep a withdrawal window open, whenever the change of tenancy arrived
   * (before the confirmation, between confirmation and use, or during the window). A Data
   * User's own-record flow is not ended: it reaches the customer behind its own record
   * whatever the change of tenancy, and gives no access to the meter point's other records.
   */
  async endedByChangeOfTenancy(row: Pick<TokenRow, 'flow' | 'ir' | 'mpxn'>): Promise<boolean> {
    if (row.flow !== 'mpxn') return false;
    const [r] = await this.cotAfterMoveIn.execute({ ir: row.ir, mpxn: row.mpxn });
    return Number(r?.after) === 1;
  }

  /**
   * pending | confirmed | expired as seen now (a pending ceremony past its expiry, a confirmed
   * token past 1 h, or an unconsumed token ended by a change of tenancy is expired). A
   * cancelled token reads as expired to the Data User and portal: the published status has no
   * other value for "no longer usable".
   */
  async status(row: TokenRow, nowIso = this.reg.clock.iso()): Promise<(typeof POLLED_TOKEN_STATUSES)[number]> {
    if (row.status === 'expired' || row.status === 'cancelled') return 'expired';
    if (!row.consumedAt && (await this.endedByChangeOfTenancy(row))) return 'expired';
    if (row.status === 'pending') return row.ceremonyExpiresAt <= nowIso ? 'expired' : 'pending';
    return row.usableUntil <= nowIso && !row.consumedAt ? 'expired' : 'confirmed';
  }

  /** Admin view status, where consumption is shown too. */
  async adminStatus(row: TokenRow, nowIso = this.reg.clock.iso()): Promise<TokenStatus> {
    if (row.status === 'cancelled') return 'cancelled';
    return row.consumedAt ? 'consumed' : this.status(row, nowIso);
  }

  /**
   * [ours] Support staff cancel a challenge the customer has not used (the contract §10):
   * a pending or confirmed, unused and unexpired token becomes `cancelled`, so it can no
   * longer be confirmed (the conditional UPDATEs in `confirm` and `consume` require pending
   * and confirmed) nor used. Anything else is 409. Audited.
   */
  async cancel(actor: string, tokenRef: string): Promise<TokenRow> {
    const { reidTokens } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const row = await this.find(tokenRef);
      if (!row) throw notFound(`Re-identification token ${tokenRef}`);
      const status = await this.adminStatus(row);
      if (status !== 'pending' && status !== 'confirmed') throw conflict(`This re-identification token is ${status}; only a pending or confirmed, unused token can be cancelled`);
      const nowIso = this.reg.clock.iso();
      const result = await this.reg.db
        .update(reidTokens)
        .set({ status: 'cancelled' })
        .where(and(eq(reidTokens.seq, row.seq), inArray(reidTokens.status, ['pending', 'confirmed']), isNull(reidTokens.consumedAt)));
      if (affectedRows(result) !== 1) throw conflict('This re-identification token changed meanwhile; reload it');
      await this.reg.audit.append({ actor, eventType: 'reidentification.cancelled', ir: row.ir, subject: tokenRef, detail: { method: row.method, was: status, mpxn: row.mpxn, at: nowIso } });
      return (await this.find(tokenRef))!;
    });
  }

  async forIdentity(ir: string): Promise<TokenRow[]> {
    const { reidTokens } = this.reg.store.tables;
    return this.reg.db.select().from(reidTokens).where(eq(reidTokens.ir, ir)).orderBy(desc(reidTokens.seq)).limit(literalLimit(200));
  }

  /** The operator's view of a token (never the magic link secret). */
  async adminView(row: TokenRow, nowIso = this.reg.clock.iso()) {
    return {
      'token-ref': row.tokenRef,
      // The columns hold only these values (written by issue()).
      method: row.method as TokenMethod,
      flow: row.flow as TokenFlow,
      mpxn: row.mpxn,
      'initiator-account-id': row.initiatorAccountId,
      'initiator-duid': row.initiatorDuid,
      status: await this.adminStatus(row, nowIso),
      'created-at': apiTime(row.createdAt)!,
      'expires-at': apiTime(row.status === 'pending' ? row.ceremonyExpiresAt : row.usableUntil),
      'confirmed-at': apiTime(row.confirmedAt),
      'consumed-at': apiTime(row.consumedAt),
      'consumed-for': row.consumedFor,
    };
  }

  async statusBody(row: TokenRow) {
    return { method: row.method as TokenMethod, status: await this.status(row), 'confirmed-at': apiTime(row.confirmedAt) };
  }

  /** Issues a pending token. Call inside the transaction that also starts its ceremony. */
  async issue(t: IssueToken): Promise<TokenRow> {
    const { reidTokens } = this.reg.store.tables;
    const tokenRef = newId('mlr');
    const now = this.reg.clock.now();
    await this.reg.db.insert(reidTokens).values({
      tokenRef,
      method: t.method,
      flow: t.flow,
      ir: t.ir,
      mpxn: t.mpxn,
      initiatorAccountId: t.initiator.accountId,
      initiatorDuid: t.initiator.duid,
      status: 'pending',
      createdAt: now.toISOString(),
      ceremonyExpiresAt: t.ceremonyExpiresAt,
      usableUntil: new Date(now.getTime() + TOKEN_USABLE_MS).toISOString(),
      redirectUrl: t.redirectUrl,
      linkSecretHash: t.linkSecretHash,
    });
    await this.reg.audit.append({
      actor: t.actor,
      eventType: 'reidentification.started',
      ir: t.ir,
      subject: tokenRef,
      detail: { method: t.method, flow: t.flow, initiator: t.initiator.accountId },
    });
    return (await this.find(tokenRef))!;
  }

  async findByLinkHash(hash: string): Promise<TokenRow | undefined> {
    const { reidTokens } = this.reg.store.tables;
    const [row] = await this.reg.db.select().from(reidTokens).where(eq(reidTokens.linkSecretHash, hash)).limit(ONE_ROW);
    return row;
  }

  /**
   * pending → confirmed, only while the ceremony is open. The conditional UPDATE makes a
   * second confirmation (double click, two tabs) a no-op. Resolves to whether this call confirmed it.
   */
  async confirm(row: TokenRow, via: string): Promise<boolean> {
    const { reidTokens } = this.reg.store.tables;
    const nowIso = this.reg.clock.iso();
    // Callers run inside a transaction, so no change of tenancy can land between this check and the UPDATE.
    if (await this.endedByChangeOfTenancy(row)) return false;
    const result = await this.reg.db
      .update(reidTokens)
      .set({ status: 'confirmed', confirmedAt: nowIso })
      .where(and(eq(reidTokens.seq, row.seq), eq(reidTokens.status, 'pending'), gt(reidTokens.ceremonyExpiresAt, nowIso)));
    if (affectedRows(result) !== 1) return false;
    await this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.confirmed', ir: row.ir, subject: row.tokenRef, detail: { method: row.method, via } });
    return true;
  }

  /** Gives a token a magic link (step-up e-mails are sent after the token was issued). */
  async setLink(row: TokenRow, hash: string): Promise<boolean> {
    const { reidTokens } = this.reg.store.tables;
    return this.updateIf(row, { linkSecretHash: hash }, isNull(reidTokens.linkSecretHash));
  }

  /**
   * A fresh step-up link after the previous one was confirmed in another browser: the new
   * hash replaces the used one (the old link then no longer opens anything), if nobody else
   * replaced it first.
   */
  async replaceUsedLink(row: TokenRow, hash: string): Promise<boolean> {
    const { reidTokens } = this.reg.store.tables;
    if (!row.linkOpenedAt) return false;
    return this.updateIf(row, { linkSecretHash: hash, linkOpenedAt: null }, eq(reidTokens.linkOpenedAt, row.linkOpenedAt));
  }

  /** Marks a magic link as used (single use), if nobody else did first. */
  async markLinkUsed(row: TokenRow): Promise<boolean> {
    const { reidTokens } = this.reg.store.tables;
    return this.updateIf(row, { linkOpenedAt: this.reg.clock.iso() }, isNull(reidTokens.linkOpenedAt));
  }

  /**
   * Changes `row` only while `guard` still holds: the conditional update that keeps a
   * check-then-act safe when several nodes race for the same token. True when it won.
   */
  private async updateIf(row: TokenRow, set: Partial<TokenRow>, guard: SQL): Promise<boolean> {
    const { reidTokens } = this.reg.store.tables;
    return (
      affectedRows(
        await this.reg.db
          .update(reidTokens)
          .set(set)
          .where(and(eq(reidTokens.seq, row.seq), guard)),
      ) === 1
    );
  }

  async extendCeremony(row: TokenRow, until: string): Promise<void> {
    const { reidTokens } = this.reg.store.tables;
    await this.reg.db
      .update(reidTokens)
      .set({ ceremonyExpiresAt: until })
      .where(and(eq(reidTokens.seq, row.seq), lt(reidTokens.ceremonyExpiresAt, until)));
  }

  /**
   * [ours] Rate limit on starting ceremonies: at most `max` per (account, MPxN, class of
   * `methods`) in `windowMs`.
   * Resolves to the seconds until another may start, or 0. Uses the (initiator, mpxn, seq) index.
   */
  async initiationRetryAfter(accountId: string, mpxn: string, max: number, windowMs: number, methods: readonly TokenMethod[] = TOKEN_METHODS): Promise<number> {
    const { reidTokens } = this.reg.store.tables;
    const recent = await this.reg.db
      .select({ createdAt: reidTokens.createdAt })
      .from(reidTokens)
      .where(and(eq(reidTokens.initiatorAccountId, accountId), eq(reidTokens.mpxn, mpxn), inArray(reidTokens.method, methods)))
      .orderBy(desc(reidTokens.seq))
      .limit(literalLimit(max));
    if (recent.length < max) return 0;
    const freeAt = new Date(recent[max - 1].createdAt).getTime() + windowMs;
    const wait = freeAt - this.reg.clock.now().getTime();
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  /** SQL for the admin status filter (see adminStatus), including tokens ended by a change of tenancy. */
  private statusFilter(status: string, nowIso: string): SQL {
    const { reidTokens } = this.reg.store.tables;
    const ended = and(isNull(reidTokens.consumedAt), endedByCotSql(reidTokens))!;
    switch (status) {
      case 'pending':
        return and(eq(reidTokens.status, 'pending'), gt(reidTokens.ceremonyExpiresAt, nowIso), not(ended))!;
      case 'confirmed':
        return and(eq(reidTokens.status, 'confirmed'), isNull(reidTokens.consumedAt), gt(reidTokens.usableUntil, nowIso), not(ended))!;
      case 'consumed':
        return and(isNotNull(reidTokens.consumedAt), sql`${reidTokens.status} <> 'cancelled'`)!;
      case 'cancelled':
        return eq(reidTokens.status, 'cancelled');
      default:
        return or(
          eq(reidTokens.status, 'expired'),
          and(eq(reidTokens.status, 'pending'), lte(reidTokens.ceremonyExpiresAt, nowIso)),
          and(eq(reidTokens.status, 'confirmed'), isNull(reidTokens.consumedAt), lte(reidTokens.usableUntil, nowIso)),
          ended,
        )!;
    }
  }

  /**
   * The admin list's filters. The MPxN filter goes through the identity records' MPxN index to
   * the tokens' ir index (so tokens of since-anonymised records are not matched by MPxN).
   */
  private adminFilters(f: AdminTokenFilters): SQL[] {
    const { reidTokens: t, identityRecords } = this.reg.store.tables;
    const filters: SQL[] = [];
    if (f.status) filters.push(this.statusFilter(f.status, this.reg.clock.iso()));
    if (f.mpxn) filters.push(inArray(t.ir, this.reg.db.select({ ir: identityRecords.ir }).from(identityRecords).where(eq(identityRecords.mpxn, f.mpxn))), eq(t.mpxn, f.mpxn));
    if (f.duid) filters.push(eq(t.initiatorDuid, f.duid));
    // A prefix, not a substring: the token table holds live desk work (tokens last minutes to an
    // hour), so a range on the token-ref's unique index or, for an MPxN, the identity records'
    // MPxN index is enough and stays index-backed as it grows.
    if (f.q) {
      const irs = this.reg.db.select({ ir: identityRecords.ir }).from(identityRecords).where(prefixOf(identityRecords.mpxn, f.q));
      filters.push(or(prefixOf(t.tokenRef, f.q), and(inArray(t.ir, irs), prefixOf(t.mpxn, f.q)))!);
    }
    filters.push(...dateRange(t.createdAt, f.from, f.to));
    return filters;
  }

  /** Expiry as the list shows it: the ceremony's for a pending token, the usable-until otherwise. */
  private adminSort(f: AdminTokenFilters): Sort | undefined {
    const t = this.reg.store.tables.reidTokens;
    return listSort<TokenSort>(this.reg.store.dialect, { expiry: sql`(case when ${t.status} = 'pending' then ${t.ceremonyExpiresAt} else ${t.usableUntil} end)`, status: t.status }, t.seq, f.sort, f.order);
  }

  /** GET /admin/reidentifications: one sorted, filtered page (keyset cursor or offset). */
  async adminList(f: AdminTokenFilters, page: { limit: number; cursor?: string; offset?: number }) {
    const { reidTokens } = this.reg.store.tables;
    return sortedPage(this.reg.db, reidTokens, this.adminFilters(f), this.adminSort(f), page);
  }

  /** The same rows, every one, a chunk at a time (streamed CSV export). */
  async adminListAll(f: AdminTokenFilters) {
    const { reidTokens } = this.reg.store.tables;
    const filters = this.adminFilters(f);
    const [{ n: total }] = await this.reg.db
      .select({ n: sql<number>`count(*)` })
      .from(reidTokens)
      .where(filters.length ? and(...filters) : undefined);
    return { total, chunks: sortedChunks(this.reg.db, reidTokens, filters, this.adminSort(f), 500, undefined, { count: () => Promise.resolve(total) }) };
  }

  /** The caller's token or 404 / 403 (contract §4: another account's token → 403). */
  async getInitiatedBy(accountId: string, tokenRef: string): Promise<TokenRow> {
    const row = await this.find(tokenRef);
    if (!row) throw notFound(`Re-identification token ${tokenRef}`);
    if (row.initiatorAccountId !== accountId) throw forbidden('This re-identification was initiated by another account');
    return row;
  }

  /**
   * Checks a token for use by `accountId` and consumes it. Must run inside a transaction;
   * the conditional UPDATE makes consumption atomic, so of any number of concurrent uses
   * exactly one succeeds and the rest get 409.
   */
  async consume(accountId: string, tokenRef: string, purpose: string, opts: { mpxn?: string; withdrawWindow?: boolean } = {}): Promise<TokenRow> {
    const row = await this.getInitiatedBy(accountId, tokenRef);
    const nowIso = this.reg.clock.iso();
    if (opts.mpxn !== undefined && row.mpxn !== opts.mpxn) throw forbidden('This re-identification token was issued for a different meter point');
    if (row.consumedAt) throw conflict('This re-identification token has already been used');
    const status = await this.status(row, nowIso);
    if (status === 'pending') throw badState('The customer has not confirmed this re-identification yet');
    if (row.status === 'cancelled') throw badState('This re-identification was cancelled by support staff; start a new re-identification');
    if (status === 'expired') throw badState((await this.endedByChangeOfTenancy(row)) ? ENDED_BY_COT : 'This re-identification token has expired; start a new re-identification');
    // The checks above read the row unlocked; this UPDATE decides. On PostgreSQL, a concurrent
    // use from another node holds the row until it commits, after which this one no longer
    // finds it unconsumed and changes nothing.
    const { reidTokens } = this.reg.store.tables;
    const result = await this.reg.db
      .update(reidTokens)
      .set({
        consumedAt: nowIso,
        consumedFor: purpose,
        withdrawUntil: opts.withdrawWindow ? new Date(new Date(nowIso).getTime() + PORTAL_WITHDRAW_MS).toISOString() : null,
      })
      .where(and(eq(reidTokens.seq, row.seq), isNull(reidTokens.consumedAt), eq(reidTokens.status, 'confirmed')));
    if (affectedRows(result) !== 1) throw conflict('This re-identification token has already been used');
    await this.reg.audit.append({ actor: accountId, eventType: 'reidentification.consumed', ir: row.ir, subject: tokenRef, detail: { for: purpose } });
    return (await this.find(tokenRef))!;
  }

  /** [ours] A portal's withdrawal authority: the consumed token, for its MPxN, within 30 minutes. */
  async checkWithdrawal(accountId: string, tokenRef: string, mpxn: string): Promise<void> {
    const row = await this.find(tokenRef);
    if (!row || row.initiatorAccountId !== accountId) throw forbidden('reidentification-token does not authorise this withdrawal');
    if (row.mpxn !== mpxn) throw forbidden('reidentification-token was issued for a different meter point');
    if (!row.consumedAt || !row.withdrawUntil) throw forbidden('Query the meter point with this token before withdrawing');
    if (await this.endedByChangeOfTenancy(row)) throw forbidden(ENDED_BY_COT);
    if (row.withdrawUntil <= this.reg.clock.iso()) throw new ApiError(422, 'VAL002', 'The withdrawal window for this token has closed; re-identify the customer again');
  }
}
