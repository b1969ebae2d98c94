import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Register } from '../context.js';
import { reidTokens } from '../db/schema.js';
import { apiTime } from '../lib/clock.js';
import { ApiError, badState, conflict, forbidden, notFound } from '../lib/errors.js';

export type TokenRow = typeof reidTokens.$inferSelect;

/** How long a confirmed token may be used, from issue. */
export const TOKEN_USABLE_MS = 60 * 60 * 1000;
/** [ours] How long a portal may withdraw records with a token after its meter-point query. */
export const PORTAL_WITHDRAW_MS = 30 * 60 * 1000;

/**
 * Re-identification tokens (mlr_…): status as callers see it, and atomic consumption.
 * Issuing tokens and running ceremonies live in the re-identification service.
 */
export class ReidTokens {
  private readonly byRef;

  constructor(private readonly reg: Register) {
    this.byRef = reg.db.select().from(reidTokens).where(eq(reidTokens.tokenRef, sql.placeholder('ref'))).prepare();
  }

  find(tokenRef: string): TokenRow | undefined {
    return this.byRef.get({ ref: tokenRef });
  }

  /** pending | confirmed | expired as seen now (a pending ceremony past its expiry, or a confirmed token past 1 h, is expired). */
  status(row: TokenRow, nowIso = this.reg.clock.iso()): 'pending' | 'confirmed' | 'expired' {
    if (row.status === 'expired') return 'expired';
    if (row.status === 'pending') return row.ceremonyExpiresAt <= nowIso ? 'expired' : 'pending';
    return row.usableUntil <= nowIso && !row.consumedAt ? 'expired' : 'confirmed';
  }

  /** Admin view status, where consumption is shown too. */
  adminStatus(row: TokenRow, nowIso = this.reg.clock.iso()): string {
    return row.consumedAt ? 'consumed' : this.status(row, nowIso);
  }

  forIdentity(ir: string): TokenRow[] {
    return this.reg.db.select().from(reidTokens).where(eq(reidTokens.ir, ir)).orderBy(desc(reidTokens.seq)).limit(200).all();
  }

  /** The operator's view of a token (never the magic link secret). */
  adminView(row: TokenRow, nowIso = this.reg.clock.iso()) {
    return {
      'token-ref': row.tokenRef,
      method: row.method,
      flow: row.flow,
      mpxn: row.mpxn,
      'initiator-account-id': row.initiatorAccountId,
      'initiator-duid': row.initiatorDuid,
      status: this.adminStatus(row, nowIso),
      'created-at': apiTime(row.createdAt),
      'expires-at': apiTime(row.status === 'pending' ? row.ceremonyExpiresAt : row.usableUntil),
      'confirmed-at': apiTime(row.confirmedAt),
      'consumed-at': apiTime(row.consumedAt),
      'consumed-for': row.consumedFor,
    };
  }

  statusBody(row: TokenRow) {
    return { method: row.method, status: this.status(row), 'confirmed-at': apiTime(row.confirmedAt) };
  }

  /** The caller's token or 404 / 403 (contract §4: another account's token → 403). */
  getInitiatedBy(accountId: string, tokenRef: string): TokenRow {
    const row = this.find(tokenRef);
    if (!row) throw notFound(`Re-identification token ${tokenRef}`);
    if (row.initiatorAccountId !== accountId) throw forbidden('This re-identification was initiated by another account');
    return row;
  }

  /**
   * Checks a token for use by `accountId` and consumes it. Must run inside a transaction;
   * the conditional UPDATE makes consumption atomic, so of any number of concurrent uses
   * exactly one succeeds and the rest get 409.
   */
  consume(accountId: string, tokenRef: string, purpose: string, opts: { mpxn?: string; withdrawWindow?: boolean } = {}): TokenRow {
    const row = this.getInitiatedBy(accountId, tokenRef);
    const nowIso = this.reg.clock.iso();
    if (opts.mpxn !== undefined && row.mpxn !== opts.mpxn) throw forbidden('This re-identification token was issued for a different meter point');
    if (row.consumedAt) throw conflict('This re-identification token has already been used');
    const status = this.status(row, nowIso);
    if (status === 'pending') throw badState('The customer has not confirmed this re-identification yet');
    if (status === 'expired') throw badState('This re-identification token has expired; start a new re-identification');
    const result = this.reg.db
      .update(reidTokens)
      .set({
        consumedAt: nowIso,
        consumedFor: purpose,
        withdrawUntil: opts.withdrawWindow ? new Date(new Date(nowIso).getTime() + PORTAL_WITHDRAW_MS).toISOString() : null,
      })
      .where(and(eq(reidTokens.seq, row.seq), isNull(reidTokens.consumedAt), eq(reidTokens.status, 'confirmed')))
      .run();
    if (result.changes !== 1) throw conflict('This re-identification token has already been used');
    this.reg.audit.append({ actor: accountId, eventType: 'reidentification.consumed', ir: row.ir, subject: tokenRef, detail: { for: purpose } });
    return this.find(tokenRef)!;
  }

  /** [ours] A portal's withdrawal authority: the consumed token, for its MPxN, within 30 minutes. */
  checkWithdrawal(accountId: string, tokenRef: string, mpxn: string): void {
    const row = this.find(tokenRef);
    if (!row || row.initiatorAccountId !== accountId) throw forbidden('reidentification-token does not authorise this withdrawal');
    if (row.mpxn !== mpxn) throw forbidden('reidentification-token was issued for a different meter point');
    if (!row.consumedAt || !row.withdrawUntil) throw forbidden('Query the meter point with this token before withdrawing');
    if (row.withdrawUntil <= this.reg.clock.iso()) throw new ApiError(422, 'VAL002', 'The withdrawal window for this token has closed; re-identify the customer again');
  }
}
