import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { and, eq, isNull } from 'drizzle-orm';
import { safeEqual, sha256Hex } from '../../lib/crypto.js';
import { newSecret } from '../../lib/ids.js';
import { meterHint } from '../../lib/customer-text.js';
import { maskEmail } from '../identity-records.js';
import { CeremonyError, ENDED_PAGE_TEXT, type CeremonyContext, type CeremonyStep, type SessionKind, type SessionRow, type SessionView } from './ceremony.js';
import { PasskeySessions } from './passkey-session.js';
import { verifyAssertion } from './passkey-assertion.js';
import { verifyRegistration } from './passkey-registration.js';
import { webauthn } from './webauthn.js';
import { ONE_ROW } from '../../lib/sql.js';

/** How many step-up e-mails one passkey request may send (the first, then new links for this device). */
const MAX_STEP_UP_LINKS = 3;

/**
 * Passkey sessions: where one stands, the e-mail step-up, the WebAuthn options, and the
 * verification of the browser's response (registration or assertion, in their own files).
 */
export class Passkeys extends PasskeySessions {
  /** WebAuthn relying-party id: --rp-id, else the origin's host name (sandbox: localhost). */
  get rpId(): string {
    return this.reg.config.rpId ?? new URL(this.reg.origin).hostname;
  }

  get rpName(): string {
    return this.reg.config.rpName;
  }

  async findSession(sessionId: string): Promise<SessionRow | undefined> {
    if (!/^pks_[0-9a-f]{24}$/.test(sessionId)) return undefined;
    const { passkeySessions } = this.reg.store.tables;
    const [row] = await this.reg.db.select().from(passkeySessions).where(eq(passkeySessions.sessionId, sessionId)).limit(ONE_ROW);
    return row;
  }

  hasStepUp(sessionId: string, cookie: string | undefined): boolean {
    return typeof cookie === 'string' && safeEqual(cookie, this.stepUpProof(sessionId));
  }

  /** Where a passkey session stands, and which step the page runs next. Read-only. */
  async viewSession(sessionId: string, stepUpCookie?: string): Promise<SessionView> {
    const session = await this.findSession(sessionId);
    if (!session) return { state: 'unknown' };
    const token = await this.deps.tokens.find(session.tokenRef);
    if (!token) return { state: 'unknown' };
    const ctx = await this.context(token);
    const kind = session.kind as SessionKind;
    if (session.usedAt) return { state: 'used', session, ctx, kind };
    if (token.status === 'cancelled') return { state: 'cancelled', session, ctx, kind };
    if (await this.deps.tokens.endedByChangeOfTenancy(token)) return { state: 'ended', session, ctx, kind };
    if (session.expiresAt <= this.reg.clock.iso() || token.status !== 'pending' || !(await this.tokenLive(token))) return { state: 'expired', session, ctx, kind };
    const identity = await this.deps.identities.find(session.ir);
    if (!identity || identity.anonymisedAt) return { state: 'expired', session, ctx, kind };
    const hasEmail = identity.emailEnc !== null;
    const hasCredentials = (await this.deps.identities.credentials(session.ir)).length > 0;
    let step: SessionView['step'];
    if (kind === 'assert') step = 'assert';
    else if (kind === 'register') step = 'register';
    else if (this.hasStepUp(sessionId, stepUpCookie)) step = 'register';
    else step = hasCredentials ? 'assert' : 'await-email';
    const mails = await this.deps.mail.forRef([token.tokenRef]);
    const emailSentTo = mails.length ? maskEmail(this.deps.mail.recipient(mails[0])) : null;
    // Only a browser without the step-up proof can have confirmed "elsewhere".
    const confirmedElsewhereAt = kind === 'register-stepup' && step !== 'register' && token.linkOpenedAt ? token.linkOpenedAt : null;
    const mayResend = confirmedElsewhereAt !== null && hasEmail && (await this.stepUpLinksSent(token.tokenRef)) < MAX_STEP_UP_LINKS;
    return { state: 'ready', session, ctx, kind, step, hasEmail, hasCredentials, emailSentTo, expiresAt: session.expiresAt, confirmedElsewhereAt, mayResend };
  }

  private async readySession(sessionId: string, stepUpCookie?: string): Promise<SessionView & { session: SessionRow; ctx: CeremonyContext; kind: SessionKind }> {
    const view = await this.viewSession(sessionId, stepUpCookie);
    if (view.state === 'unknown') throw new CeremonyError(404, 'unknown', 'This passkey request is not known. Go back to the organisation that sent you here and start again.');
    if (view.state === 'used') throw new CeremonyError(410, 'used', 'This passkey request has already been completed.');
    if (view.state === 'ended') throw new CeremonyError(410, 'ended', ENDED_PAGE_TEXT);
    if (view.state === 'expired') throw new CeremonyError(410, 'expired', 'This passkey request has expired. Go back to the organisation that sent you here and start again.');
    if (view.state === 'cancelled') throw new CeremonyError(410, 'cancelled', 'This passkey request was cancelled and can no longer be used. Nothing has changed.');
    return view as SessionView & { session: SessionRow; ctx: CeremonyContext; kind: SessionKind };
  }

  private async stepUpLinksSent(tokenRef: string): Promise<number> {
    return (await this.deps.mail.forRef([tokenRef])).filter((m) => m.purpose === 'reidentification.step-up').length;
  }

  /**
   * Step-up by e-mail from the passkey page ("E-mail me a link instead"): once per session,
   * plus, when the link was confirmed in another browser, a new one for this browser
   * ("get a new link here"), up to MAX_STEP_UP_LINKS in all.
   */
  async sendStepUpEmail(sessionId: string, stepUpCookie?: string): Promise<{ sentTo: string }> {
    return this.reg.tx(async () => {
      const view = await this.readySession(sessionId, stepUpCookie);
      if (view.confirmedElsewhereAt) {
        const identity = (await this.deps.identities.find(view.session.ir))!;
        const email = this.deps.identities.email(identity);
        if (!email || !view.mayResend) throw new CeremonyError(429, 'invalid', 'We cannot send more links for this request. Continue on the device where you confirmed, or start again.');
        const secret = newSecret(32);
        if (!(await this.deps.tokens.replaceUsedLink(view.ctx.token, sha256Hex(secret)))) throw new CeremonyError(409, 'conflict', 'We already sent a new link. Open it on this device to continue.');
        await this.sendLink((await this.deps.tokens.find(view.ctx.token.tokenRef))!, email, this.linkUrl(secret), 'step-up');
        await this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.step-up-resent', ir: view.session.ir, subject: view.ctx.token.tokenRef, detail: { reason: 'confirmed-on-another-device' } });
        return { sentTo: maskEmail(email) };
      }
      if (view.kind !== 'register-stepup') throw new CeremonyError(400, 'invalid', 'This request does not need an e-mail confirmation.');
      const identity = (await this.deps.identities.find(view.session.ir))!;
      const email = this.deps.identities.email(identity);
      if (!email) throw new CeremonyError(400, 'invalid', 'There is no e-mail address to send a link to. Use your existing passkey.');
      const token = view.ctx.token;
      if (view.emailSentTo || token.linkSecretHash) throw new CeremonyError(409, 'conflict', `We already sent a link to ${view.emailSentTo ?? maskEmail(email)}. Open it on this device to continue.`);
      const secret = newSecret(32);
      if (!(await this.deps.tokens.setLink(token, sha256Hex(secret)))) throw new CeremonyError(409, 'conflict', 'We already sent a link. Open it on this device to continue.');
      await this.sendLink((await this.deps.tokens.find(token.tokenRef))!, email, this.linkUrl(secret), 'step-up');
      return { sentTo: maskEmail(email) };
    });
  }

  /** WebAuthn options for the session's next step; stores the challenge. */
  async options(sessionId: string, stepUpCookie?: string): Promise<{ step: CeremonyStep; options: unknown }> {
    const view = await this.readySession(sessionId, stepUpCookie);
    if (view.step === 'await-email') throw new CeremonyError(403, 'step-up-required', `First open the link we e-mailed${view.emailSentTo ? ` to ${view.emailSentTo}` : ''}, on this device.`);
    const step = view.step as CeremonyStep;
    const credentials = await this.deps.identities.credentials(view.session.ir);
    let options: { challenge: string };
    if (step === 'register') {
      const identity = (await this.deps.identities.find(view.session.ir))!;
      const label = `Meter point ${meterHint(view.ctx.token.mpxn)}`;
      options = await (
        await webauthn()
      ).generateRegistrationOptions({
        rpName: this.rpName,
        rpID: this.rpId,
        userName: label,
        userDisplayName: label,
        userID: new Uint8Array(Buffer.from(identity.webauthnUserId, 'base64url')),
        attestationType: 'none',
        timeout: 120_000,
        excludeCredentials: credentials.map((c) => ({ id: c.webauthnId, transports: c.transports })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      });
    } else {
      options = await (
        await webauthn()
      ).generateAuthenticationOptions({
        rpID: this.rpId,
        timeout: 120_000,
        userVerification: 'required',
        allowCredentials: credentials.map((c) => ({ id: c.webauthnId, transports: c.transports })),
      });
    }
    const { passkeySessions } = this.reg.store.tables;
    await this.reg.tx(() =>
      this.reg.db
        .update(passkeySessions)
        .set({ challenge: options.challenge })
        .where(and(eq(passkeySessions.seq, view.session.seq), isNull(passkeySessions.usedAt))),
    );
    return { step, options };
  }

  /**
   * Verifies the browser's WebAuthn response server-side (challenge, origin, RP ID, user
   * presence and verification, signature, counter), then stores the credential or updates
   * its counter and confirms the token — or, for a step-up assertion, grants the step-up.
   */
  async verify(
    sessionId: string,
    step: CeremonyStep,
    response: RegistrationResponseJSON | AuthenticationResponseJSON,
    stepUpCookie?: string,
    pageOrigin?: string,
  ): Promise<{ done: true; redirect: string } | { done: false; next: 'register'; stepUpProof: string }> {
    const view = await this.readySession(sessionId, stepUpCookie);
    if (view.step !== step) throw new CeremonyError(409, 'conflict', 'This page is out of date; reload it and try again.');
    const session = view.session;
    const challenge = session.challenge;
    if (!challenge) throw new CeremonyError(409, 'conflict', 'No passkey prompt is in progress for this request; press the button to start again.');
    // A sandbox page opened on the register's own loopback address (the one the console talks
    // to, see pages/id/csrf.ts originAllowed) signs with that origin; the relying party is unchanged.
    const expectedOrigin = pageOrigin && pageOrigin !== this.reg.origin && this.reg.config.mode === 'sandbox' ? [this.reg.origin, pageOrigin] : this.reg.origin;
    const expectedRPID = this.rpId;
    const expected = { expectedChallenge: challenge, expectedOrigin, expectedRPID, requireUserVerification: true as const };
    if (step === 'register') return verifyRegistration(this, session, challenge, response as RegistrationResponseJSON, expected);
    return verifyAssertion(this, view.kind, session, challenge, response as AuthenticationResponseJSON, expected);
  }
}
