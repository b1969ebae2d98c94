import type { Register } from '../../context.js';
import { withdrawalReceiptEmail } from '../mail/templates.js';
import type { ReidDeps } from './ceremony.js';
import { MagicLinks } from './magic-link.js';
import { Passkeys } from './passkey.js';
import { DEFAULT_REID_LIMITS, Starting, type ReidLimits } from './starting.js';

export * from './ceremony.js';
export { DEFAULT_ANONYMOUS_LIMITS, DEFAULT_REID_LIMITS, type AnonymousLimits, type ReIdentifyResult, type ReidLimits, type StartOptions } from './starting.js';

/**
 * Issues re-identification tokens and runs the customer side: magic links (e-mail with a
 * confirm page) and passkey ceremonies (WebAuthn via @simplewebauthn/server). A token
 * becomes confirmed only when a person completes one of these; nothing auto-confirms.
 *
 * Starting a ceremony (the /v1 operations, with their limits) is this class itself
 * (starting.ts); the customer pages use `links` (magic-link.ts) and `passkeys` (passkey.ts,
 * with passkey-registration.ts and passkey-assertion.ts).
 */
export class ReidentificationService extends Starting {
  readonly links: MagicLinks;
  readonly passkeys: Passkeys;

  constructor(reg: Register, deps: ReidDeps, limits: ReidLimits = DEFAULT_REID_LIMITS) {
    super(reg, deps, limits);
    this.links = new MagicLinks(reg, deps);
    this.passkeys = new Passkeys(reg, deps);
  }

  /**
   * [ours] After a portal withdrawal: a receipt to the e-mail of the identity record the
   * customer proved (the token's), when it has one. Call inside the withdrawal's transaction.
   */
  async withdrawalReceipt(tokenRef: string, record: { ak: string; duid: string | null; leadControllerName: string | null; purpose: string | null; mpxn: string; revokedAt: string | null }): Promise<string | null> {
    const token = await this.deps.tokens.find(tokenRef);
    if (!token) return null;
    const identity = await this.deps.identities.find(token.ir);
    const email = identity && !identity.anonymisedAt ? this.deps.identities.email(identity) : null;
    if (!email) return null;
    const owner = record.duid ? await this.deps.accounts.findByDuid(record.duid) : undefined;
    const org = record.leadControllerName ?? owner?.displayName ?? 'the organisation';
    const via = (await this.context(token)).org;
    const mail = withdrawalReceiptEmail({ org, purpose: record.purpose, mpxn: record.mpxn, at: record.revokedAt ?? this.reg.clock.iso(), via });
    return this.deps.mail.queue({ to: email, ...mail, purpose: 'access-record.withdrawal-receipt', ref: token.tokenRef });
  }
}
