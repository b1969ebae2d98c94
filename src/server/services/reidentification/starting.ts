import type { ReIdentifyResult } from '../../../shared/schemas/reidentification.js';
import type { Register } from '../../context.js';
import { apiTime } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/crypto.js';
import { ApiError, conflict, invalid, notFound, precondition } from '../../lib/errors.js';
import { newId, newSecret } from '../../lib/ids.js';
import { WindowLimiter } from '../../lib/window-limiter.js';
import type { AccountRow } from '../accounts.js';
import type { IdentityRow } from '../identity-records.js';
import { maskEmail } from '../identity-records.js';
import { MAGIC_LINK_MS, PASSKEY_SESSION_MS, TOKEN_METHODS, type TokenMethod } from '../reid-tokens.js';
import { Ceremonies, type ReidDeps, type SessionKind } from './ceremony.js';

/** What starting a ceremony returns: the body of the re-identify operations (one schema, src/shared). */
export type { ReIdentifyResult };

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

export interface StartOptions {
  redirectUrl?: string | null;
  returnUrl?: string | null;
  /** Defaults to the initiating account. */
  actor?: string;
}

/**
 * Starting a ceremony: the rate limits, then a token and either a magic link by e-mail or a
 * passkey session. Nothing confirms here; a person completes the ceremony (MagicLinks, Passkeys).
 */
export class Starting extends Ceremonies {
  /** The initiation rate limit; per register (tests may tune it). */
  readonly limits: ReidLimits;
  /** Anonymous (portal page) start limits; per register (tests may tune them). */
  readonly anonymousLimits: AnonymousLimits = { ...DEFAULT_ANONYMOUS_LIMITS };
  private readonly anonymous: WindowLimiter;

  constructor(reg: Register, deps: ReidDeps, limits: ReidLimits = DEFAULT_REID_LIMITS) {
    super(reg, deps);
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

  /** Same Data User: a ceremony on one of the caller's own identity records. */
  async startForRecord(account: AccountRow, identity: IdentityRow, method: string, opts: StartOptions): Promise<ReIdentifyResult> {
    return (await this.begin(account, identity, method, 'record', opts)).result;
  }

  /**
   * [ours] The one exception to "prove a factor before enrolling a passkey": the owning Data
   * User onboarding its own customer, in the request that creates the record
   * (initiate-passkey-registration on POST /identity-records). Call in that transaction.
   */
  async startOnboarding(account: AccountRow, identity: IdentityRow, opts: StartOptions): Promise<ReIdentifyResult> {
    if (identity.duid !== account.duid || (await this.deps.identities.credentials(identity.ir)).length > 0) throw precondition('Passkey onboarding is only for a new identity record of your own that has no passkey yet');
    return (await this.begin(account, identity, 'passkey-register', 'record', { ...opts, onboarding: true })).result;
  }

  /** Cross-Data-User or portal: the eligible record for the MPxN (contract §4), never revealed. */
  async startForMpxn(account: AccountRow, mpxn: string, method: string, opts: StartOptions): Promise<{ result: ReIdentifyResult; customerUrl: string }> {
    return this.reg.tx(async () => {
      const eligible = await this.deps.identities.eligibleForMpxn(mpxn);
      if (!eligible) throw notFound(`Identity record for MPxN ${mpxn}`);
      if (!TOKEN_METHODS.includes(method as TokenMethod)) throw invalid(`method must be one of: ${TOKEN_METHODS.join(', ')}`);
      if (!eligible.ir) throw noFactor();
      return this.begin(account, (await this.deps.identities.find(eligible.ir))!, method, 'mpxn', opts);
    });
  }

  private async begin(account: AccountRow, identity: IdentityRow, method: string, flow: 'record' | 'mpxn', opts: StartOptions & { onboarding?: boolean }): Promise<{ result: ReIdentifyResult; customerUrl: string }> {
    if (!TOKEN_METHODS.includes(method as TokenMethod)) throw invalid(`method must be one of: ${TOKEN_METHODS.join(', ')}`);
    return this.reg.tx(async () => {
      const fresh = (await this.deps.identities.find(identity.ir)) ?? identity;
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
      const credentials = await this.deps.identities.credentials(fresh.ir);
      if (method === 'magic-link' && !email) throw precondition('magic-link needs an e-mail address on the identity record, and none is stored');
      if (method === 'passkey-assert' && credentials.length === 0) throw precondition('passkey-assert needs a registered passkey on the identity record, and none is registered');
      if (!email && credentials.length === 0 && !opts.onboarding) throw noFactor();

      // Starts for one (account, MPxN) take turns, so two nodes cannot both count the same
      // recent starts and each let one more through.
      await this.reg.store.lockKey(`reid-start:${account.accountId}:${fresh.mpxn}`);

      // The per-meter-point limit protects the customer's mailbox: magic-link and
      // passkey-register (which may e-mail a step-up link) share it. passkey-assert sends
      // nothing and is counted apart, and not at all for a portal account, whose anonymous
      // visitors are limited per address instead: a stranger cannot block a customer's passkey.
      const wait =
        method === 'passkey-assert' && account.role === 'portal'
          ? 0
          : await this.deps.tokens.initiationRetryAfter(account.accountId, fresh.mpxn, this.limits.max, this.limits.windowMs, method === 'passkey-assert' ? ['passkey-assert'] : EMAIL_CLASS);
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
        const token = await this.deps.tokens.issue({
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
        await this.sendLink(token, email!, link, 'confirm');
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
      const token = await this.deps.tokens.issue({
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
      await this.reg.db.insert(this.reg.store.tables.passkeySessions).values({ sessionId, tokenRef: token.tokenRef, kind, ir: fresh.ir, challenge: null, returnUrl, createdAt: new Date(now).toISOString(), expiresAt });
      if (secret) await this.sendLink(token, email!, this.linkUrl(secret), 'step-up');
      const pageUrl = this.sessionUrl(sessionId, kind);
      return {
        result: { method: method as TokenMethod, 'magic-link': null, passkey: { 'redirect-url': pageUrl, 'token-ref': token.tokenRef, 'expires-at': apiTime(expiresAt)!, 'return-url': returnUrl } },
        customerUrl: pageUrl,
      };
    });
  }
}
