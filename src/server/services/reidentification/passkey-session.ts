import { and, eq, isNull } from 'drizzle-orm';
import { affectedRows } from '../../db/store.js';
import type { TokenRow } from '../reid-tokens.js';
import { CeremonyError, Ceremonies, failureDetail, plainFailure, type SessionRow } from './ceremony.js';

/**
 * The steps of a passkey session that both verifications (passkey-registration.ts,
 * passkey-assertion.ts) end with: spending the prompt, and completing the session.
 */
export class PasskeySessions extends Ceremonies {
  /** Spends the session's prompt; false when another request already did. */
  async clearChallenge(session: SessionRow, challenge: string): Promise<boolean> {
    const { passkeySessions } = this.reg.store.tables;
    return (
      affectedRows(
        await this.reg.db
          .update(passkeySessions)
          .set({ challenge: null })
          .where(and(eq(passkeySessions.seq, session.seq), eq(passkeySessions.challenge, challenge), isNull(passkeySessions.usedAt))),
      ) === 1
    );
  }

  /** Spends the prompt inside the transaction that records the outcome; 409 when another request already did. */
  async spendPrompt(session: SessionRow, challenge: string): Promise<void> {
    if (!(await this.clearChallenge(session, challenge))) throw new CeremonyError(409, 'conflict', 'This passkey prompt was already used; press the button to start again.');
  }

  /**
   * A response the WebAuthn check refused: the prompt is spent, operators see why in the audit
   * (scrubbed), and the customer gets plain words (the error to throw). Both writes are one unit.
   */
  async refused(session: SessionRow, challenge: string, err: unknown, detail: Record<string, unknown>): Promise<CeremonyError> {
    await this.reg.tx(async () => {
      await this.clearChallenge(session, challenge);
      await this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.passkey-failed', ir: session.ir, subject: session.tokenRef, detail: { ...detail, error: failureDetail(err) } });
    });
    return plainFailure(err);
  }

  completionRedirect(session: SessionRow, token: TokenRow): string {
    if (session.returnUrl) {
      const u = new URL(session.returnUrl);
      u.searchParams.set('dar-passkey-token', token.tokenRef);
      return u.toString();
    }
    return `${this.reg.origin}/id/passkey/done?session=${session.sessionId}`;
  }

  /** Marks the session used and the token confirmed, or fails (and rolls back) if either is no longer possible. */
  async finish(session: SessionRow, token: TokenRow, via: string): Promise<void> {
    const { passkeySessions } = this.reg.store.tables;
    const used = await this.reg.db
      .update(passkeySessions)
      .set({ usedAt: this.reg.clock.iso() })
      .where(and(eq(passkeySessions.seq, session.seq), isNull(passkeySessions.usedAt)));
    if (affectedRows(used) !== 1) throw new CeremonyError(410, 'used', 'This passkey request has already been completed.');
    if (!(await this.deps.tokens.confirm(token, via))) throw new CeremonyError(410, 'expired', 'This passkey request has expired. Go back to the organisation that sent you here and start again.');
  }
}
