import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { and, eq, isNull } from 'drizzle-orm';
import type { Register } from '../context.js';
import { passkeyCredentials, passkeySessions } from '../db/schema.js';
import { apiTime } from '../lib/clock.js';
import { hmacHex, safeEqual, sha256Hex } from '../lib/crypto.js';
import { ApiError, conflict, invalid, notFound, precondition } from '../lib/errors.js';
import { canonicalCredentialId } from '../lib/values.js';
import { newId, newSecret } from '../lib/ids.js';
import { WindowLimiter } from '../lib/window-limiter.js';
import { scrubText } from '../http/log-redaction.js';
import { passkeyAddedEmail, reidentificationEmail, withdrawalReceiptEmail } from '../pages/id/emails.js';
import { meterHint } from '../pages/id/layout.js';
import type { AccountRow, Accounts } from './accounts.js';
import type { IdentityRecords, IdentityRow } from './identity-records.js';
import { maskEmail } from './identity-records.js';

/**
 * @simplewebauthn/server and its crypto libraries load on the first passkey ceremony, not at
 * every start: they were a seventh of the register's start-up (docs/performance.md).
 */
let webauthnModule: Promise<typeof import('@simplewebauthn/server')> | null = null;
const webauthn = () => (webauthnModule ??= import('@simplewebauthn/server'));
import type { ReIdentifyResult, Reidentification } from './index.js';
import type { Mailer } from './mail.js';
import { MAGIC_LINK_MS, PASSKEY_SESSION_MS, TOKEN_METHODS, type ReidTokens, type TokenMethod, type TokenRow } from './reid-tokens.js';

export type SessionRow = typeof passkeySessions.$inferSelect;

/**
 * Passkey session kinds:
 * - register: enrol a new passkey, then confirm the token.
 * - assert: prove possession of an existing passkey, then confirm the token.
 * - register-stepup: [ours] a cross-Data-User / portal passkey-register on a record that
 *   already has a factor: the customer first proves an existing factor (an existing passkey,
 *   or a magic link sent to the record's e-mail), and only then may enrol a new passkey.
 */
export type SessionKind = 'register' | 'assert' | 'register-stepup';
export type CeremonyStep = 'register' | 'assert';

export interface ReidLimits {
  /** At most this many re-identifications per (initiating account, MPxN)… */
  max: number;
  /** …in this window. */
  windowMs: number;
}

export const DEFAULT_REID_LIMITS: ReidLimits = { max: 5, windowMs: 15 * 60 * 1000 };

/**
 * [ours] Limits on anonymous starts (the /portal pages, keyed by the client address), on top
 * of the per-(account, MPxN) limit. Starts that can send e-mail (magic-link, passkey-register)
 * are limited per address and for all addresses together; passkey-assert sends nothing, so it
 * has only its own, looser per-address limit: a stranger using up a customer's e-mail limit
 * cannot stop that customer using their passkey.
 */
export interface AnonymousLimits {
  windowMs: number;
  emailPerAddress: number;
  emailGlobal: number;
  passkeyPerAddress: number;
}

/** The limiter key of the anonymous e-mail starts of everyone together. */
const ANONYMOUS_EMAIL_GLOBAL = 'email:*';

export const DEFAULT_ANONYMOUS_LIMITS: AnonymousLimits = { windowMs: 15 * 60 * 1000, emailPerAddress: 10, emailGlobal: 500, passkeyPerAddress: 30 };

/** Methods whose starts count against the per-meter-point e-mail limit. */
const EMAIL_CLASS: TokenMethod[] = ['magic-link', 'passkey-register'];

/** 422 VAL003: a record with neither factor cannot be re-identified by anyone (contract §4). */
function noFactor(): ApiError {
  return precondition('The identity record has neither an e-mail address nor a passkey, so the customer cannot prove who they are; a new passkey is enrolled only after proving a factor already on the record');
}
/** After the step-up, the customer has this long to create the new passkey. */
const AFTER_STEP_UP_MS = PASSKEY_SESSION_MS;

/** An error on a customer ceremony page or its JSON endpoints (never the /v1 envelope). */
/** How many step-up e-mails one passkey request may send (the first, then new links for this device). */
const MAX_STEP_UP_LINKS = 3;

/** The library's wording when the authenticator did not verify the person (no PIN, biometric or screen lock). */
const USER_NOT_VERIFIED = /user (could not be |was not )?verified|user verification/i;

/** What the customer is told when their device cannot verify them: plain words, and the e-mail route. */
export const NO_USER_VERIFICATION_MESSAGE =
  'This device could not check that it’s you: it needs a PIN, fingerprint, face or screen lock for passkeys, and none was used. Confirm it’s you by e-mail instead, or set up a screen lock on this device first.';

/** A failed WebAuthn check as the customer sees it: plain words, never the library's own text. */
function plainFailure(err: unknown): CeremonyError {
  const detail = String((err as Error)?.message ?? '');
  if (USER_NOT_VERIFIED.test(detail)) return new CeremonyError(400, 'user-verification', NO_USER_VERIFICATION_MESSAGE);
  // A signature counter that went backwards: possibly a cloned authenticator.
  if (/counter/i.test(detail)) return new CeremonyError(400, 'failed', 'This passkey could not be accepted: it looks like a copy of one used before. Confirm it’s you another way, and tell the organisation.');
  return new CeremonyError(400, 'failed', 'Your passkey could not be checked. Press the button to try once more, or confirm it’s you another way.');
}

/** The library's detail for the audit (operators only), scrubbed of anything personal or secret. */
function failureDetail(err: unknown): string {
  return scrubText(String((err as Error)?.message ?? err)).slice(0, 200);
}

/** What a ceremony page says when a change of tenancy ended its token: nothing changes. */
export const ENDED_PAGE_TEXT = 'This request is no longer valid: the details it relies on are no longer current for this meter point. Nothing has changed.';

export class CeremonyError extends Error {
  constructor(
    readonly status: number,
    readonly code: 'unknown' | 'expired' | 'cancelled' | 'used' | 'ended' | 'invalid' | 'step-up-required' | 'failed' | 'conflict' | 'user-verification',
    message: string,
  ) {
    super(message);
  }
}

/** Who is asking and why — what every customer page and e-mail shows. */
export interface CeremonyContext {
  token: TokenRow;
  org: string;
  initiatorRole: string;
  purpose: string;
  meter: string;
  /** [ours] The organisation that registered the contact details used (the record's owner). */
  heldBy: string;
}

export type LinkView =
  | { state: 'unknown' }
  | { state: 'expired' | 'cancelled' | 'ended'; ctx: CeremonyContext }
  /** `confirmedAt`: when this link was confirmed (null: the request ended another way, e.g. cancelled). */
  | { state: 'used'; ctx: CeremonyContext; confirmedAt: string | null; kind: 'confirm' | 'step-up' }
  | { state: 'ready'; ctx: CeremonyContext; kind: 'confirm' | 'step-up'; expiresAt: string };

export type LinkOutcome = Exclude<LinkView, { state: 'ready' }> | { state: 'confirmed'; ctx: CeremonyContext; redirect: string | null } | { state: 'stepped-up'; ctx: CeremonyContext; sessionId: string };

export interface SessionView {
  /** ended: a change of tenancy since the record's move-in-date ended the token (see ReidTokens.endedByChangeOfTenancy). */
  state: 'unknown' | 'expired' | 'used' | 'cancelled' | 'ended' | 'ready';
  session?: SessionRow;
  ctx?: CeremonyContext;
  kind?: SessionKind;
  /** The step the page runs next. */
  step?: CeremonyStep | 'await-email';
  hasEmail?: boolean;
  hasCredentials?: boolean;
  emailSentTo?: string | null;
  expiresAt?: string;
  /**
   * [ours] The step-up link was confirmed in another browser (which holds the step-up proof
   * and may continue there); this one may ask for a new link. When it was confirmed.
   */
  confirmedElsewhereAt?: string | null;
  /** Whether this browser may still ask for another step-up link. */
  mayResend?: boolean;
}

export interface StartOptions {
  redirectUrl?: string | null;
  returnUrl?: string | null;
  /** Defaults to the initiating account. */
  actor?: string;
}

/**
 * Issues re-identification tokens and runs the customer side: magic links (e-mail with a
 * confirm page) and passkey ceremonies (WebAuthn via @simplewebauthn/server). A token
 * becomes confirmed only when a person completes one of these; nothing auto-confirms.
 */
export class ReidentificationService implements Reidentification {
  /** The initiation rate limit; per register (tests may tune it). */
  readonly limits: ReidLimits;
  /** Anonymous (portal page) start limits; per register (tests may tune them). */
  readonly anonymousLimits: AnonymousLimits = { ...DEFAULT_ANONYMOUS_LIMITS };
  private readonly anonymous: WindowLimiter;

  constructor(
    private readonly reg: Register,
    private readonly deps: { accounts: Accounts; identities: IdentityRecords; tokens: ReidTokens; mail: Mailer },
    limits: ReidLimits = DEFAULT_REID_LIMITS,
  ) {
    this.limits = { ...limits };
    this.anonymous = new WindowLimiter(() => this.reg.clock.now().getTime());
  }

  /** Forgets the anonymous-start counts (sandbox snapshot restore or reset: the clock they were counted on was replaced). */
  resetLimits(): void {
    this.anonymous.clear();
  }

  /**
   * [ours] Admits one anonymous start from `address` (the socket address, or the client
   * address a trusted proxy reports) for `method`: returns 0, or the seconds to wait. Call
   * before starting; a refused start is not counted. Only the per-address allowance counts
   * the attempt here (a brake on one address probing meter points); the global e-mail
   * allowance is checked here but counted only by anonymousEmailSent, once a start has
   * actually sent an e-mail, so attempts on unregistered meter points (which send nothing)
   * cannot use up every customer's e-mail starts.
   */
  admitAnonymousStart(address: string, method: string): number {
    const l = this.anonymousLimits;
    const checks: [string, number][] =
      method === 'passkey-assert'
        ? [[`passkey:${address}`, l.passkeyPerAddress]]
        : [
            [`email:${address}`, l.emailPerAddress],
            [ANONYMOUS_EMAIL_GLOBAL, l.emailGlobal],
          ];
    const wait = Math.max(...checks.map(([key, max]) => this.anonymous.waitFor(key, max, l.windowMs)));
    if (wait > 0) return wait;
    for (const [key] of checks) if (key !== ANONYMOUS_EMAIL_GLOBAL) this.anonymous.record(key, l.windowMs);
    return 0;
  }

  /** [ours] Counts an anonymous start that sent an e-mail against the global e-mail allowance. */
  anonymousEmailSent(): void {
    this.anonymous.record(ANONYMOUS_EMAIL_GLOBAL, this.anonymousLimits.windowMs);
  }

  /** WebAuthn relying-party id: --rp-id, else the origin's host name (sandbox: localhost). */
  get rpId(): string {
    return this.reg.config.rpId ?? new URL(this.reg.origin).hostname;
  }

  get rpName(): string {
    return this.reg.config.rpName;
  }

  // ---------------------------------------------------------------- starting

  /** Same Data User: a ceremony on one of the caller's own identity records. */
  startForRecord(account: AccountRow, identity: IdentityRow, method: string, opts: StartOptions): ReIdentifyResult {
    return this.begin(account, identity, method, 'record', opts).result;
  }

  /**
   * [ours] The one exception to "prove a factor before enrolling a passkey": the owning Data
   * User onboarding its own customer, in the request that creates the record
   * (initiate-passkey-registration on POST /identity-records). Call in that transaction.
   */
  startOnboarding(account: AccountRow, identity: IdentityRow, opts: StartOptions): ReIdentifyResult {
    if (identity.duid !== account.duid || this.deps.identities.credentials(identity.ir).length > 0) throw precondition('Passkey onboarding is only for a new identity record of your own that has no passkey yet');
    return this.begin(account, identity, 'passkey-register', 'record', { ...opts, onboarding: true }).result;
  }

  /** Cross-Data-User or portal: the eligible record for the MPxN (contract §4), never revealed. */
  startForMpxn(account: AccountRow, mpxn: string, method: string, opts: StartOptions): { result: ReIdentifyResult; customerUrl: string } {
    return this.reg.tx(() => {
      const eligible = this.deps.identities.eligibleForMpxn(mpxn);
      if (!eligible) throw notFound(`Identity record for MPxN ${mpxn}`);
      if (!TOKEN_METHODS.includes(method as TokenMethod)) throw invalid(`method must be one of: ${TOKEN_METHODS.join(', ')}`);
      if (!eligible.ir) throw noFactor();
      return this.begin(account, this.deps.identities.find(eligible.ir)!, method, 'mpxn', opts);
    });
  }

  private begin(account: AccountRow, identity: IdentityRow, method: string, flow: 'record' | 'mpxn', opts: StartOptions & { onboarding?: boolean }): { result: ReIdentifyResult; customerUrl: string } {
    if (!TOKEN_METHODS.includes(method as TokenMethod)) throw invalid(`method must be one of: ${TOKEN_METHODS.join(', ')}`);
    return this.reg.tx(() => {
      const fresh = this.deps.identities.find(identity.ir) ?? identity;
      if (fresh.anonymisedAt || !fresh.mpxn) throw conflict('The identity record has been anonymised; it cannot be re-identified');
      const problems: string[] = [];
      for (const [field, url] of [
        ['redirect-url', opts.redirectUrl],
        ['passkey-return-url', opts.returnUrl],
      ] as const) {
        if (url && !account.returnUrls.includes(url)) problems.push(`${field} must exactly match one of your pre-registered return URLs`);
      }
      if (problems.length) throw ApiError.validation(problems);

      const email = this.deps.identities.email(fresh);
      const credentials = this.deps.identities.credentials(fresh.ir);
      if (method === 'magic-link' && !email) throw precondition('magic-link needs an e-mail address on the identity record, and none is stored');
      if (method === 'passkey-assert' && credentials.length === 0) throw precondition('passkey-assert needs a registered passkey on the identity record, and none is registered');
      if (!email && credentials.length === 0 && !opts.onboarding) throw noFactor();

      // The per-meter-point limit protects the customer's mailbox: magic-link and
      // passkey-register (which may e-mail a step-up link) share it. passkey-assert sends
      // nothing and is counted apart, and not at all for a portal account, whose anonymous
      // visitors are limited per address instead: a stranger cannot block a customer's passkey.
      const wait =
        method === 'passkey-assert' && account.role === 'portal'
          ? 0
          : this.deps.tokens.initiationRetryAfter(account.accountId, fresh.mpxn, this.limits.max, this.limits.windowMs, method === 'passkey-assert' ? ['passkey-assert'] : EMAIL_CLASS);
      if (wait > 0) {
        throw new ApiError(429, 'RATE001', `Too many re-identification requests for this meter point (at most ${this.limits.max} in ${Math.round(this.limits.windowMs / 60000)} minutes); try again in ${wait} s`, [], {
          'Retry-After': String(wait),
        });
      }

      const actor = opts.actor ?? account.accountId;
      const now = this.reg.clock.now().getTime();
      if (method === 'magic-link') {
        const secret = newSecret(32);
        const expiresAt = new Date(now + MAGIC_LINK_MS).toISOString();
        const token = this.deps.tokens.issue({
          method: 'magic-link',
          flow,
          ir: fresh.ir,
          mpxn: fresh.mpxn,
          initiator: account,
          ceremonyExpiresAt: expiresAt,
          redirectUrl: opts.redirectUrl ?? null,
          linkSecretHash: sha256Hex(secret),
          actor,
        });
        const link = this.linkUrl(secret);
        this.sendLink(token, email!, link, 'confirm');
        return {
          result: {
            method,
            'magic-link': { 'dispatched-to': maskEmail(email!), 'expires-at': apiTime(expiresAt)!, 'token-ref': token.tokenRef, 'redirect-url': opts.redirectUrl ?? null },
            passkey: null,
          },
          customerUrl: link,
        };
      }

      const returnUrl = opts.returnUrl ?? opts.redirectUrl ?? null;
      // [ours] Every passkey-register proves an existing factor first (same Data User too),
      // except the owner's onboarding at creation.
      const stepUp = method === 'passkey-register' && !opts.onboarding;
      const kind: SessionKind = method === 'passkey-assert' ? 'assert' : stepUp ? 'register-stepup' : 'register';
      // A step-up that may go through e-mail gets the magic link's 15 minutes.
      const expiresAt = new Date(now + (stepUp && email ? MAGIC_LINK_MS : PASSKEY_SESSION_MS)).toISOString();
      // With no passkey to assert, the step-up e-mail goes out now.
      const secret = stepUp && email && credentials.length === 0 ? newSecret(32) : null;
      const token = this.deps.tokens.issue({
        method: method as TokenMethod,
        flow,
        ir: fresh.ir,
        mpxn: fresh.mpxn,
        initiator: account,
        ceremonyExpiresAt: expiresAt,
        redirectUrl: returnUrl,
        linkSecretHash: secret ? sha256Hex(secret) : null,
        actor,
      });
      const sessionId = newId('pks');
      this.reg.db
        .insert(passkeySessions)
        .values({ sessionId, tokenRef: token.tokenRef, kind, ir: fresh.ir, challenge: null, returnUrl, createdAt: new Date(now).toISOString(), expiresAt })
        .run();
      if (secret) this.sendLink(token, email!, this.linkUrl(secret), 'step-up');
      const pageUrl = this.sessionUrl(sessionId, kind);
      return {
        result: { method: method as TokenMethod, 'magic-link': null, passkey: { 'redirect-url': pageUrl, 'token-ref': token.tokenRef, 'expires-at': apiTime(expiresAt)!, 'return-url': returnUrl } },
        customerUrl: pageUrl,
      };
    });
  }

  linkUrl(secret: string): string {
    return `${this.reg.origin}/id/magic/${secret}`;
  }

  sessionUrl(sessionId: string, kind: string): string {
    return `${this.reg.origin}/id/passkey/${kind === 'assert' ? 'assert' : 'register'}?session=${sessionId}`;
  }

  private sendLink(token: TokenRow, to: string, link: string, kind: 'confirm' | 'step-up'): string {
    const ctx = this.context(token);
    const mail = reidentificationEmail({ org: ctx.org, purpose: ctx.purpose, mpxn: token.mpxn, link, expiresAt: token.ceremonyExpiresAt, kind, heldBy: ctx.heldBy });
    return this.deps.mail.queue({ to, ...mail, purpose: kind === 'confirm' ? 'reidentification.magic-link' : 'reidentification.step-up', ref: token.tokenRef });
  }

  // ---------------------------------------------------------------- what the customer sees

  context(token: TokenRow): CeremonyContext {
    const initiator = this.deps.accounts.find(token.initiatorAccountId);
    const org = initiator?.displayName ?? token.initiatorAccountId;
    const role = initiator?.role ?? 'data_user';
    const meter = meterHint(token.mpxn);
    let purpose: string;
    if (role === 'portal') purpose = `${org} wants to show you every organisation that has access to data from your smart meter (meter point ${meter}), so you can check them and withdraw permissions you no longer want.`;
    else if (token.flow === 'mpxn') purpose = `${org} wants to link its record of the smart-meter data you agreed to share with it to your existing entry in the Data Access Register (meter point ${meter}).`;
    else if (token.method === 'passkey-register')
      purpose = `${org} has asked you to set up a passkey for your entry in the Data Access Register (meter point ${meter}), so you can confirm it is you quickly and safely whenever an organisation asks.`;
    else purpose = `${org} wants to confirm it is you before it updates its record of the smart-meter data you share with it (meter point ${meter}).`;
    if (token.method === 'passkey-register' && token.flow === 'mpxn') purpose += ' You will also add a passkey, so you can confirm it is you more quickly next time.';
    const identity = this.deps.identities.find(token.ir);
    const heldBy = identity ? this.deps.identities.heldBy(identity) : org;
    return { token, org, initiatorRole: role, purpose, meter, heldBy };
  }

  /**
   * [ours] After a portal withdrawal: a receipt to the e-mail of the identity record the
   * customer proved (the token's), when it has one. Call inside the withdrawal's transaction.
   */
  withdrawalReceipt(tokenRef: string, record: { ak: string; duid: string | null; leadControllerName: string | null; purpose: string | null; mpxn: string; revokedAt: string | null }): string | null {
    const token = this.deps.tokens.find(tokenRef);
    if (!token) return null;
    const identity = this.deps.identities.find(token.ir);
    const email = identity && !identity.anonymisedAt ? this.deps.identities.email(identity) : null;
    if (!email) return null;
    const owner = record.duid ? this.deps.accounts.findByDuid(record.duid) : undefined;
    const org = record.leadControllerName ?? owner?.displayName ?? 'the organisation';
    const via = this.context(token).org;
    const mail = withdrawalReceiptEmail({ org, purpose: record.purpose, mpxn: record.mpxn, at: record.revokedAt ?? this.reg.clock.iso(), via });
    return this.deps.mail.queue({ to: email, ...mail, purpose: 'access-record.withdrawal-receipt', ref: token.tokenRef });
  }

  private tokenLive(token: TokenRow): boolean {
    return this.deps.tokens.status(token) === 'pending';
  }

  private sessionForToken(tokenRef: string): SessionRow | undefined {
    return this.reg.db.select().from(passkeySessions).where(eq(passkeySessions.tokenRef, tokenRef)).get();
  }

  /** What a magic link leads to. Read-only: opening a link (GET/HEAD) changes nothing. */
  openLink(secret: string): LinkView {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(secret)) return { state: 'unknown' };
    const token = this.deps.tokens.findByLinkHash(sha256Hex(secret));
    if (!token) return { state: 'unknown' };
    const ctx = this.context(token);
    const stepUp = token.method === 'passkey-register';
    // Cancelled by support staff: the link changes nothing, and says so.
    if (token.status === 'cancelled') return { state: 'cancelled', ctx };
    const kind = stepUp ? ('step-up' as const) : ('confirm' as const);
    // A reopened link that was confirmed says so, and when: only what the link already showed, plus that time.
    if (token.linkOpenedAt) return { state: 'used', ctx, confirmedAt: token.linkOpenedAt, kind };
    if (token.status !== 'pending') return { state: 'used', ctx, confirmedAt: null, kind };
    if (this.deps.tokens.endedByChangeOfTenancy(token)) return { state: 'ended', ctx };
    if (!this.tokenLive(token)) return { state: 'expired', ctx };
    if (stepUp) {
      const session = this.sessionForToken(token.tokenRef);
      if (!session || session.usedAt) return { state: 'used', ctx, confirmedAt: null, kind };
      if (session.expiresAt <= this.reg.clock.iso()) return { state: 'expired', ctx };
    }
    return { state: 'ready', ctx, kind: stepUp ? 'step-up' : 'confirm', expiresAt: token.ceremonyExpiresAt };
  }

  /** The "Yes, it's me" POST (CSRF is checked by the page). Confirms, or completes a step-up. */
  confirmLink(secret: string): LinkOutcome {
    return this.reg.tx((): LinkOutcome => {
      const view = this.openLink(secret);
      if (view.state !== 'ready') return view;
      const { ctx } = view;
      const token = ctx.token;
      if (view.kind === 'step-up') {
        const session = this.sessionForToken(token.tokenRef)!;
        if (!this.deps.tokens.markLinkUsed(token)) return this.openLink(secret) as LinkOutcome;
        const until = new Date(this.reg.clock.now().getTime() + AFTER_STEP_UP_MS).toISOString();
        if (session.expiresAt < until) this.reg.db.update(passkeySessions).set({ expiresAt: until }).where(eq(passkeySessions.seq, session.seq)).run();
        this.deps.tokens.extendCeremony(token, until);
        this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.step-up', ir: token.ir, subject: token.tokenRef, detail: { via: 'magic-link' } });
        return { state: 'stepped-up', ctx, sessionId: session.sessionId };
      }
      if (!this.deps.tokens.confirm(token, 'magic-link')) return this.openLink(secret) as LinkOutcome;
      this.deps.tokens.markLinkUsed(token);
      let redirect: string | null = null;
      if (token.redirectUrl) {
        const u = new URL(token.redirectUrl);
        u.searchParams.set('dar-reid-token', token.tokenRef);
        redirect = u.toString();
      }
      return { state: 'confirmed', ctx: this.context(this.deps.tokens.find(token.tokenRef)!), redirect };
    });
  }

  // ---------------------------------------------------------------- passkey sessions

  findSession(sessionId: string): SessionRow | undefined {
    if (!/^pks_[0-9a-f]{24}$/.test(sessionId)) return undefined;
    return this.reg.db.select().from(passkeySessions).where(eq(passkeySessions.sessionId, sessionId)).get();
  }

  /** The value of the step-up cookie for a session: only the browser that proved a factor holds it. */
  stepUpProof(sessionId: string): string {
    return hmacHex(this.reg.keys.signingKey, `passkey-step-up:${sessionId}`);
  }

  hasStepUp(sessionId: string, cookie: string | undefined): boolean {
    return typeof cookie === 'string' && safeEqual(cookie, this.stepUpProof(sessionId));
  }

  /** Where a passkey session stands, and which step the page runs next. Read-only. */
  viewSession(sessionId: string, stepUpCookie?: string): SessionView {
    const session = this.findSession(sessionId);
    if (!session) return { state: 'unknown' };
    const token = this.deps.tokens.find(session.tokenRef);
    if (!token) return { state: 'unknown' };
    const ctx = this.context(token);
    const kind = session.kind as SessionKind;
    if (session.usedAt) return { state: 'used', session, ctx, kind };
    if (token.status === 'cancelled') return { state: 'cancelled', session, ctx, kind };
    if (this.deps.tokens.endedByChangeOfTenancy(token)) return { state: 'ended', session, ctx, kind };
    if (session.expiresAt <= this.reg.clock.iso() || token.status !== 'pending' || !this.tokenLive(token)) return { state: 'expired', session, ctx, kind };
    const identity = this.deps.identities.find(session.ir);
    if (!identity || identity.anonymisedAt) return { state: 'expired', session, ctx, kind };
    const hasEmail = identity.emailEnc !== null;
    const hasCredentials = this.deps.identities.credentials(session.ir).length > 0;
    let step: SessionView['step'];
    if (kind === 'assert') step = 'assert';
    else if (kind === 'register') step = 'register';
    else if (this.hasStepUp(sessionId, stepUpCookie)) step = 'register';
    else step = hasCredentials ? 'assert' : 'await-email';
    const mails = this.deps.mail.forRef([token.tokenRef]);
    const emailSentTo = mails.length ? maskEmail(this.deps.mail.recipient(mails[0])) : null;
    // Only a browser without the step-up proof can have confirmed "elsewhere".
    const confirmedElsewhereAt = kind === 'register-stepup' && step !== 'register' && token.linkOpenedAt ? token.linkOpenedAt : null;
    const mayResend = confirmedElsewhereAt !== null && hasEmail && this.stepUpLinksSent(token.tokenRef) < MAX_STEP_UP_LINKS;
    return { state: 'ready', session, ctx, kind, step, hasEmail, hasCredentials, emailSentTo, expiresAt: session.expiresAt, confirmedElsewhereAt, mayResend };
  }

  private readySession(sessionId: string, stepUpCookie?: string): SessionView & { session: SessionRow; ctx: CeremonyContext; kind: SessionKind } {
    const view = this.viewSession(sessionId, stepUpCookie);
    if (view.state === 'unknown') throw new CeremonyError(404, 'unknown', 'This passkey request is not known. Go back to the organisation that sent you here and start again.');
    if (view.state === 'used') throw new CeremonyError(410, 'used', 'This passkey request has already been completed.');
    if (view.state === 'ended') throw new CeremonyError(410, 'ended', ENDED_PAGE_TEXT);
    if (view.state === 'expired') throw new CeremonyError(410, 'expired', 'This passkey request has expired. Go back to the organisation that sent you here and start again.');
    if (view.state === 'cancelled') throw new CeremonyError(410, 'cancelled', 'This passkey request was cancelled and can no longer be used. Nothing has changed.');
    return view as SessionView & { session: SessionRow; ctx: CeremonyContext; kind: SessionKind };
  }

  private stepUpLinksSent(tokenRef: string): number {
    return this.deps.mail.forRef([tokenRef]).filter((m) => m.purpose === 'reidentification.step-up').length;
  }

  /**
   * Step-up by e-mail from the passkey page ("E-mail me a link instead"): once per session,
   * plus, when the link was confirmed in another browser, a new one for this browser
   * ("get a new link here"), up to MAX_STEP_UP_LINKS in all.
   */
  sendStepUpEmail(sessionId: string, stepUpCookie?: string): { sentTo: string } {
    return this.reg.tx(() => {
      const view = this.readySession(sessionId, stepUpCookie);
      if (view.confirmedElsewhereAt) {
        const identity = this.deps.identities.find(view.session.ir)!;
        const email = this.deps.identities.email(identity);
        if (!email || !view.mayResend) throw new CeremonyError(429, 'invalid', 'We cannot send more links for this request. Continue on the device where you confirmed, or start again.');
        const secret = newSecret(32);
        if (!this.deps.tokens.replaceUsedLink(view.ctx.token, sha256Hex(secret))) throw new CeremonyError(409, 'conflict', 'We already sent a new link. Open it on this device to continue.');
        this.sendLink(this.deps.tokens.find(view.ctx.token.tokenRef)!, email, this.linkUrl(secret), 'step-up');
        this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.step-up-resent', ir: view.session.ir, subject: view.ctx.token.tokenRef, detail: { reason: 'confirmed-on-another-device' } });
        return { sentTo: maskEmail(email) };
      }
      if (view.kind !== 'register-stepup') throw new CeremonyError(400, 'invalid', 'This request does not need an e-mail confirmation.');
      const identity = this.deps.identities.find(view.session.ir)!;
      const email = this.deps.identities.email(identity);
      if (!email) throw new CeremonyError(400, 'invalid', 'There is no e-mail address to send a link to. Use your existing passkey.');
      const token = view.ctx.token;
      if (view.emailSentTo || token.linkSecretHash) throw new CeremonyError(409, 'conflict', `We already sent a link to ${view.emailSentTo ?? maskEmail(email)}. Open it on this device to continue.`);
      const secret = newSecret(32);
      if (!this.deps.tokens.setLink(token, sha256Hex(secret))) throw new CeremonyError(409, 'conflict', 'We already sent a link. Open it on this device to continue.');
      this.sendLink(this.deps.tokens.find(token.tokenRef)!, email, this.linkUrl(secret), 'step-up');
      return { sentTo: maskEmail(email) };
    });
  }

  /** WebAuthn options for the session's next step; stores the challenge. */
  async options(sessionId: string, stepUpCookie?: string): Promise<{ step: CeremonyStep; options: unknown }> {
    const view = this.readySession(sessionId, stepUpCookie);
    if (view.step === 'await-email') throw new CeremonyError(403, 'step-up-required', `First open the link we e-mailed${view.emailSentTo ? ` to ${view.emailSentTo}` : ''}, on this device.`);
    const step = view.step as CeremonyStep;
    const credentials = this.deps.identities.credentials(view.session.ir);
    let options: { challenge: string };
    if (step === 'register') {
      const identity = this.deps.identities.find(view.session.ir)!;
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
    this.reg.db
      .update(passkeySessions)
      .set({ challenge: options.challenge })
      .where(and(eq(passkeySessions.seq, view.session.seq), isNull(passkeySessions.usedAt)))
      .run();
    return { step, options };
  }

  private clearChallenge(session: SessionRow, challenge: string): boolean {
    return (
      this.reg.db
        .update(passkeySessions)
        .set({ challenge: null })
        .where(and(eq(passkeySessions.seq, session.seq), eq(passkeySessions.challenge, challenge), isNull(passkeySessions.usedAt)))
        .run().changes === 1
    );
  }

  private completionRedirect(session: SessionRow, token: TokenRow): string {
    if (session.returnUrl) {
      const u = new URL(session.returnUrl);
      u.searchParams.set('dar-passkey-token', token.tokenRef);
      return u.toString();
    }
    return `${this.reg.origin}/id/passkey/done?session=${session.sessionId}`;
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
    const view = this.readySession(sessionId, stepUpCookie);
    if (view.step !== step) throw new CeremonyError(409, 'conflict', 'This page is out of date; reload it and try again.');
    const session = view.session;
    const challenge = session.challenge;
    if (!challenge) throw new CeremonyError(409, 'conflict', 'No passkey prompt is in progress for this request; press the button to start again.');
    // A sandbox page opened on the register's own loopback address (the one the console talks
    // to, see pages/id/csrf.ts originAllowed) signs with that origin; the relying party is unchanged.
    const expectedOrigin = pageOrigin && pageOrigin !== this.reg.origin && this.reg.config.mode === 'sandbox' ? [this.reg.origin, pageOrigin] : this.reg.origin;
    const expectedRPID = this.rpId;

    if (step === 'register') {
      let info;
      try {
        const result = await (
          await webauthn()
        ).verifyRegistrationResponse({
          response: response as RegistrationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin,
          expectedRPID,
          requireUserPresence: true,
          requireUserVerification: true,
        });
        if (!result.verified) throw new Error('the registration could not be verified');
        info = result.registrationInfo;
      } catch (err) {
        this.clearChallenge(session, challenge);
        this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.passkey-failed', ir: session.ir, subject: session.tokenRef, detail: { step, error: failureDetail(err) } });
        throw plainFailure(err);
      }
      return this.reg.tx(() => {
        if (!this.clearChallenge(session, challenge)) throw new CeremonyError(409, 'conflict', 'This passkey prompt was already used; press the button to start again.');
        const token = this.deps.tokens.find(session.tokenRef)!;
        const credentialId = newId('cred');
        const now = this.reg.clock.iso();
        const webauthnId = canonicalCredentialId(info.credential.id);
        const existing = this.reg.db.select({ seq: passkeyCredentials.seq }).from(passkeyCredentials).where(eq(passkeyCredentials.webauthnId, webauthnId)).get();
        if (existing) throw new CeremonyError(409, 'conflict', 'This passkey is already registered.');
        // A first passkey can make this record the one that speaks for the meter point.
        const before = this.deps.identities.eligibleForMpxn(token.mpxn);
        this.reg.db
          .insert(passkeyCredentials)
          .values({
            credentialId,
            ir: session.ir,
            webauthnId,
            publicKey: Buffer.from(info.credential.publicKey),
            counter: info.credential.counter,
            transports: ((response as RegistrationResponseJSON).response.transports ?? info.credential.transports ?? []).slice(0, 10),
            deviceType: info.credentialDeviceType,
            backedUp: info.credentialBackedUp,
            registeredAt: now,
          })
          .run();
        this.reg.audit.append({ actor: 'customer', eventType: 'identity-record.credential-added', ir: session.ir, subject: credentialId, detail: { 'token-ref': token.tokenRef, 'device-type': info.credentialDeviceType } });
        const identity = this.deps.identities.find(session.ir)!;
        const org = this.context(token).org;
        const email = this.deps.identities.email(identity);
        // [ours] The record's address hears of every new passkey: who asked, and when.
        if (email) this.deps.mail.queue({ to: email, ...passkeyAddedEmail({ org, mpxn: token.mpxn, at: now }), purpose: 'identity-record.passkey-added', ref: credentialId });
        this.deps.identities.noticeContactChange(before, session.ir, org, token.mpxn);
        this.finish(session, token, 'passkey-register');
        return { done: true as const, redirect: this.completionRedirect(session, token) };
      });
    }

    const auth = response as AuthenticationResponseJSON;
    const credential = this.deps.identities.credentials(session.ir).find((c) => c.webauthnId === canonicalCredentialId(String(auth.id ?? '')));
    if (!credential) {
      this.clearChallenge(session, challenge);
      throw new CeremonyError(400, 'failed', 'That passkey is not registered for this meter point. Try another passkey.');
    }
    let newCounter: number;
    try {
      const result = await (
        await webauthn()
      ).verifyAuthenticationResponse({
        response: auth,
        expectedChallenge: challenge,
        expectedOrigin,
        expectedRPID,
        credential: { id: credential.webauthnId, publicKey: new Uint8Array(credential.publicKey), counter: credential.counter, transports: credential.transports },
        requireUserVerification: true,
      });
      if (!result.verified) throw new Error('the signature could not be verified');
      newCounter = result.authenticationInfo.newCounter;
    } catch (err) {
      this.clearChallenge(session, challenge);
      this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.passkey-failed', ir: session.ir, subject: session.tokenRef, detail: { step, credential: credential.credentialId, error: failureDetail(err) } });
      throw plainFailure(err);
    }
    return this.reg.tx(() => {
      if (!this.clearChallenge(session, challenge)) throw new CeremonyError(409, 'conflict', 'This passkey prompt was already used; press the button to start again.');
      // Re-read inside the transaction: a concurrent assertion may have moved the counter on.
      const current = this.reg.db.select().from(passkeyCredentials).where(eq(passkeyCredentials.seq, credential.seq)).get()!;
      if (current.removedAt) throw new CeremonyError(400, 'failed', 'That passkey has been removed.');
      // Synced passkeys keep the counter at 0; any other counter must move forward.
      if ((newCounter > 0 || current.counter > 0) && newCounter <= current.counter) {
        this.reg.audit.append({
          actor: 'customer',
          eventType: 'reidentification.passkey-failed',
          ir: session.ir,
          subject: session.tokenRef,
          detail: { step, credential: credential.credentialId, error: `counter ${newCounter} did not increase from ${current.counter}` },
        });
        throw new CeremonyError(400, 'failed', 'This passkey reported a signature counter that went backwards, which can mean it was copied. Use another passkey.');
      }
      this.reg.db.update(passkeyCredentials).set({ counter: newCounter, lastUsedAt: this.reg.clock.iso() }).where(eq(passkeyCredentials.seq, credential.seq)).run();
      const token = this.deps.tokens.find(session.tokenRef)!;
      if (view.kind === 'register-stepup') {
        this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.step-up', ir: session.ir, subject: token.tokenRef, detail: { via: 'passkey', credential: credential.credentialId } });
        return { done: false as const, next: 'register' as const, stepUpProof: this.stepUpProof(session.sessionId) };
      }
      this.finish(session, token, 'passkey-assert');
      return { done: true as const, redirect: this.completionRedirect(session, token) };
    });
  }

  /** Marks the session used and the token confirmed, or fails (and rolls back) if either is no longer possible. */
  private finish(session: SessionRow, token: TokenRow, via: string): void {
    const used = this.reg.db
      .update(passkeySessions)
      .set({ usedAt: this.reg.clock.iso() })
      .where(and(eq(passkeySessions.seq, session.seq), isNull(passkeySessions.usedAt)))
      .run();
    if (used.changes !== 1) throw new CeremonyError(410, 'used', 'This passkey request has already been completed.');
    if (!this.deps.tokens.confirm(token, via)) throw new CeremonyError(410, 'expired', 'This passkey request has expired. Go back to the organisation that sent you here and start again.');
  }
}
