import type { Register } from '../../context.js';
import { withdrawalReceiptEmail } from '../mail/templates.js';
import { Ceremonies, type ReidDeps } from './ceremony.js';
import { MagicLinks } from './magic-link.js';
import { Passkeys } from './passkey.js';
import { DEFAULT_REID_LIMITS, Starting, type AnonymousLimits, type ReidLimits } from './starting.js';

export * from './ceremony.js';
export { DEFAULT_ANONYMOUS_LIMITS, DEFAULT_REID_LIMITS, type AnonymousLimits, type ReIdentifyResult, type ReidLimits, type StartOptions } from './starting.js';

/**
 * Issues re-identification tokens and runs the customer side: magic links (e-mail with a
 * confirm page) and passkey ceremonies (WebAuthn via @simplewebauthn/server). A token
 * becomes confirmed only when a person completes one of these; nothing auto-confirms.
 * The parts live beside this file: starting.ts, magic-link.ts, passkey.ts (with
 * passkey-registration.ts and passkey-assertion.ts); this is the one door routes and pages use.
 */
export class ReidentificationService extends Ceremonies {
  private readonly starting: Starting;
  private readonly links: MagicLinks;
  private readonly passkeys: Passkeys;

  constructor(reg: Register, deps: ReidDeps, limits: ReidLimits = DEFAULT_REID_LIMITS) {
    super(reg, deps);
    this.starting = new Starting(reg, deps, limits);
    this.links = new MagicLinks(reg, deps);
    this.passkeys = new Passkeys(reg, deps);
  }

  /** The initiation rate limit; per register (tests may tune it). */
  get limits(): ReidLimits {
    return this.starting.limits;
  }

  /** Anonymous (portal page) start limits; per register (tests may tune them). */
  get anonymousLimits(): AnonymousLimits {
    return this.starting.anonymousLimits;
  }

  // ---------------------------------------------------------------- starting (starting.ts)

  resetLimits(): void {
    this.starting.resetLimits();
  }

  admitAnonymousStart(...a: Parameters<Starting['admitAnonymousStart']>) {
    return this.starting.admitAnonymousStart(...a);
  }

  anonymousEmailSent(): void {
    this.starting.anonymousEmailSent();
  }

  startForRecord(...a: Parameters<Starting['startForRecord']>) {
    return this.starting.startForRecord(...a);
  }

  startOnboarding(...a: Parameters<Starting['startOnboarding']>) {
    return this.starting.startOnboarding(...a);
  }

  startForMpxn(...a: Parameters<Starting['startForMpxn']>) {
    return this.starting.startForMpxn(...a);
  }

  // ---------------------------------------------------------------- magic links (magic-link.ts)

  openLink(secret: string) {
    return this.links.openLink(secret);
  }

  confirmLink(secret: string) {
    return this.links.confirmLink(secret);
  }

  // ---------------------------------------------------------------- passkeys (passkey.ts)

  viewSession(...a: Parameters<Passkeys['viewSession']>) {
    return this.passkeys.viewSession(...a);
  }

  sendStepUpEmail(...a: Parameters<Passkeys['sendStepUpEmail']>) {
    return this.passkeys.sendStepUpEmail(...a);
  }

  options(...a: Parameters<Passkeys['options']>) {
    return this.passkeys.options(...a);
  }

  verify(...a: Parameters<Passkeys['verify']>) {
    return this.passkeys.verify(...a);
  }

  // ---------------------------------------------------------------- after a portal withdrawal

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
}
