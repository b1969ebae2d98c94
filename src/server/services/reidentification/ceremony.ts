import { eq } from 'drizzle-orm';
import type { Register } from '../../context.js';
import type * as schema from '../../db/schema.js';
import { hmacHex } from '../../lib/crypto.js';
import { meterHint } from '../../lib/customer-text.js';
import { scrubText } from '../../http/log-redaction.js';
import type { Accounts } from '../accounts.js';
import type { IdentityRecords } from '../identity-records.js';
import { reidentificationEmail } from '../mail/templates.js';
import type { Mailer } from '../mail/mailer.js';
import type { ReidTokens, TokenRow } from '../reid-tokens.js';
import { ONE_ROW } from '../../lib/sql.js';

export type SessionRow = typeof schema.passkeySessions.$inferSelect;

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

/** The library's wording when the authenticator did not verify the person (no PIN, biometric or screen lock). */
const USER_NOT_VERIFIED = /user (could not be |was not )?verified|user verification/i;

/** What the customer is told when their device cannot verify them: plain words, and the e-mail route. */
export const NO_USER_VERIFICATION_MESSAGE =
  'This device could not check that it’s you: it needs a PIN, fingerprint, face or screen lock for passkeys, and none was used. Confirm it’s you by e-mail instead, or set up a screen lock on this device first.';

/** A failed WebAuthn check as the customer sees it: plain words, never the library's own text. */
export function plainFailure(err: unknown): CeremonyError {
  const detail = String((err as Error)?.message ?? '');
  if (USER_NOT_VERIFIED.test(detail)) return new CeremonyError(400, 'user-verification', NO_USER_VERIFICATION_MESSAGE);
  // A signature counter that went backwards: possibly a cloned authenticator.
  if (/counter/i.test(detail)) return new CeremonyError(400, 'failed', 'This passkey could not be accepted: it looks like a copy of one used before. Confirm it’s you another way, and tell the organisation.');
  return new CeremonyError(400, 'failed', 'Your passkey could not be checked. Press the button to try once more, or confirm it’s you another way.');
}

/** The library's detail for the audit (operators only), scrubbed of anything personal or secret. */
export function failureDetail(err: unknown): string {
  return scrubText(String((err as Error)?.message ?? err)).slice(0, 200);
}

/** What a ceremony page says when a change of tenancy ended its token: nothing changes. */
export const ENDED_PAGE_TEXT = 'This request is no longer valid: the details it relies on are no longer current for this meter point. Nothing has changed.';
/** An error on a customer ceremony page or its JSON endpoints (never the /v1 envelope). */
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

/** What the re-identification services work with. */
export interface ReidDeps {
  accounts: Accounts;
  identities: IdentityRecords;
  tokens: ReidTokens;
  mail: Mailer;
}

/**
 * What every part of a ceremony shares (starting, magic links, passkeys): the customer-facing
 * URLs, the e-mail with a link, and who is asking and why.
 */
export class Ceremonies {
  constructor(
    readonly reg: Register,
    readonly deps: ReidDeps,
  ) {}

  linkUrl(secret: string): string {
    return `${this.reg.origin}/id/magic/${secret}`;
  }

  sessionUrl(sessionId: string, kind: string): string {
    return `${this.reg.origin}/id/passkey/${kind === 'assert' ? 'assert' : 'register'}?session=${sessionId}`;
  }

  async sendLink(token: TokenRow, to: string, link: string, kind: 'confirm' | 'step-up'): Promise<string> {
    const ctx = await this.context(token);
    const mail = reidentificationEmail({ org: ctx.org, purpose: ctx.purpose, mpxn: token.mpxn, link, expiresAt: token.ceremonyExpiresAt, kind, heldBy: ctx.heldBy });
    return this.deps.mail.queue({ to, ...mail, purpose: kind === 'confirm' ? 'reidentification.magic-link' : 'reidentification.step-up', ref: token.tokenRef });
  }

  // ---------------------------------------------------------------- what the customer sees

  async context(token: TokenRow): Promise<CeremonyContext> {
    const initiator = await this.deps.accounts.find(token.initiatorAccountId);
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
    const identity = await this.deps.identities.find(token.ir);
    const heldBy = identity ? await this.deps.identities.heldBy(identity) : org;
    return { token, org, initiatorRole: role, purpose, meter, heldBy };
  }

  async tokenLive(token: TokenRow): Promise<boolean> {
    return (await this.deps.tokens.status(token)) === 'pending';
  }

  async sessionForToken(tokenRef: string): Promise<SessionRow | undefined> {
    const { passkeySessions } = this.reg.store.tables;
    const [row] = await this.reg.db.select().from(passkeySessions).where(eq(passkeySessions.tokenRef, tokenRef)).limit(ONE_ROW);
    return row;
  }

  /** The value of the step-up cookie for a session: only the browser that proved a factor holds it. */
  stepUpProof(sessionId: string): string {
    return hmacHex(this.reg.keys.signingKey, `passkey-step-up:${sessionId}`);
  }
}
