import { eq } from 'drizzle-orm';
import { sha256Hex } from '../../lib/crypto.js';
import { PASSKEY_SESSION_MS } from '../reid-tokens.js';
import { Ceremonies, type LinkOutcome, type LinkView } from './ceremony.js';

/** After the step-up, the customer has this long to create the new passkey. */
const AFTER_STEP_UP_MS = PASSKEY_SESSION_MS;

/** The magic link's page: what it shows (read-only), and its "Yes, it's me" confirmation. */
export class MagicLinks extends Ceremonies {
  /** What a magic link leads to. Read-only: opening a link (GET/HEAD) changes nothing. */
  async openLink(secret: string): Promise<LinkView> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(secret)) return { state: 'unknown' };
    const token = await this.deps.tokens.findByLinkHash(sha256Hex(secret));
    if (!token) return { state: 'unknown' };
    const ctx = await this.context(token);
    const stepUp = token.method === 'passkey-register';
    // Cancelled by support staff: the link changes nothing, and says so.
    if (token.status === 'cancelled') return { state: 'cancelled', ctx };
    const kind = stepUp ? ('step-up' as const) : ('confirm' as const);
    // A reopened link that was confirmed says so, and when: only what the link already showed, plus that time.
    if (token.linkOpenedAt) return { state: 'used', ctx, confirmedAt: token.linkOpenedAt, kind };
    if (token.status !== 'pending') return { state: 'used', ctx, confirmedAt: null, kind };
    if (await this.deps.tokens.endedByChangeOfTenancy(token)) return { state: 'ended', ctx };
    if (!(await this.tokenLive(token))) return { state: 'expired', ctx };
    if (stepUp) {
      const session = await this.sessionForToken(token.tokenRef);
      if (!session || session.usedAt) return { state: 'used', ctx, confirmedAt: null, kind };
      if (session.expiresAt <= this.reg.clock.iso()) return { state: 'expired', ctx };
    }
    return { state: 'ready', ctx, kind: stepUp ? 'step-up' : 'confirm', expiresAt: token.ceremonyExpiresAt };
  }

  /** The "Yes, it's me" POST (CSRF is checked by the page). Confirms, or completes a step-up. */
  async confirmLink(secret: string): Promise<LinkOutcome> {
    return this.reg.tx(async (): Promise<LinkOutcome> => {
      const view = await this.openLink(secret);
      if (view.state !== 'ready') return view;
      const { ctx } = view;
      const token = ctx.token;
      if (view.kind === 'step-up') {
        const session = (await this.sessionForToken(token.tokenRef))!;
        if (!(await this.deps.tokens.markLinkUsed(token))) return (await this.openLink(secret)) as LinkOutcome;
        const until = new Date(this.reg.clock.now().getTime() + AFTER_STEP_UP_MS).toISOString();
        const { passkeySessions } = this.reg.store.tables;
        if (session.expiresAt < until) await this.reg.db.update(passkeySessions).set({ expiresAt: until }).where(eq(passkeySessions.seq, session.seq));
        await this.deps.tokens.extendCeremony(token, until);
        await this.reg.audit.append({ actor: 'customer', eventType: 'reidentification.step-up', ir: token.ir, subject: token.tokenRef, detail: { via: 'magic-link' } });
        return { state: 'stepped-up', ctx, sessionId: session.sessionId };
      }
      if (!(await this.deps.tokens.confirm(token, 'magic-link'))) return (await this.openLink(secret)) as LinkOutcome;
      await this.deps.tokens.markLinkUsed(token);
      let redirect: string | null = null;
      if (token.redirectUrl) {
        const u = new URL(token.redirectUrl);
        u.searchParams.set('dar-reid-token', token.tokenRef);
        redirect = u.toString();
      }
      return { state: 'confirmed', ctx: await this.context((await this.deps.tokens.find(token.tokenRef))!), redirect };
    });
  }
}
