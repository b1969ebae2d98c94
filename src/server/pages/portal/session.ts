import { eq, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Register } from '../../context.js';
import { decrypt, encrypt, safeEqual } from '../../lib/crypto.js';
import { newSecret } from '../../lib/ids.js';
import { ONE_ROW } from '../../lib/sql.js';

/**
 * Portal state lives in two encrypted, httpOnly, SameSite=Strict cookies (AES-256-GCM with
 * the register's key, so they can be neither read nor forged):
 * - `dar_portal_pending`: a re-identification in progress (MPxN, token-ref, return URL);
 * - `dar_portal_session`: a confirmed customer, bound to exactly one MPxN, for at most 8 h.
 * After confirmation the MPxN never appears in a URL again.
 * Each session has a random id; signing out records it as ended (table
 * `ended_portal_sessions`), so a copy of the cookie kept from before gets nothing more.
 */
export const SESSION_MS = 8 * 60 * 60 * 1000;
const PENDING_MS = 20 * 60 * 1000;
const PENDING = 'dar_portal_pending';
const SESSION = 'dar_portal_session';
const CSRF = 'dar_portal_csrf';

export interface Pending {
  mpxn: string;
  tokenRef: string;
  method: string;
  returnUrl: string | null;
  dispatchedTo: string | null;
  /** The organisation whose record (contact details) the check used. */
  heldBy?: string | null;
  expiresAt: number;
}

export interface Session {
  /** Random; recorded server-side when the customer signs out. */
  sid: string;
  mpxn: string;
  tokenRef: string;
  returnUrl: string | null;
  openedAt: number;
  expiresAt: number;
}

export class PortalCookies {
  private readonly ended;

  constructor(private readonly reg: Register) {
    this.ended = reg.store.prepareValue('portal.ended-session', (db, { endedPortalSessions }) =>
      db
        .select({ seq: endedPortalSessions.seq })
        .from(endedPortalSessions)
        .where(eq(endedPortalSessions.sessionId, sql.placeholder('sid')))
        .limit(ONE_ROW),
    );
  }

  private options(maxAgeMs: number) {
    return {
      path: '/portal',
      httpOnly: true,
      sameSite: 'strict' as const,
      secure: this.reg.config.mode === 'production',
      maxAge: Math.floor(maxAgeMs / 1000),
    };
  }

  private read<T extends { expiresAt: number }>(req: FastifyRequest, name: string): T | null {
    const sealed = req.cookies[name];
    if (!sealed) return null;
    try {
      const value = JSON.parse(decrypt(this.reg.keys.encryptionKey, sealed)) as T;
      return value.expiresAt > Date.now() ? value : null;
    } catch {
      return null;
    }
  }

  private write(reply: FastifyReply, name: string, value: { expiresAt: number }): void {
    reply.setCookie(name, encrypt(this.reg.keys.encryptionKey, JSON.stringify(value)), this.options(value.expiresAt - Date.now()));
  }

  pending(req: FastifyRequest): Pending | null {
    return this.read<Pending>(req, PENDING);
  }

  setPending(reply: FastifyReply, p: Omit<Pending, 'expiresAt'>): void {
    this.write(reply, PENDING, { ...p, expiresAt: Date.now() + PENDING_MS });
  }

  /** The confirmed session, unless it expired or was signed out of (on any copy of the cookie). */
  async session(req: FastifyRequest): Promise<Session | null> {
    const session = this.read<Session>(req, SESSION);
    if (!session || typeof session.sid !== 'string' || (await this.ended.execute({ sid: session.sid })) !== undefined) return null;
    return session;
  }

  openSession(reply: FastifyReply, s: Omit<Session, 'sid' | 'openedAt' | 'expiresAt'>): void {
    const now = Date.now();
    const session: Session = { ...s, sid: newSecret(16), openedAt: now, expiresAt: now + SESSION_MS };
    this.write(reply, SESSION, session);
    reply.clearCookie(PENDING, { path: '/portal' });
  }

  clear(reply: FastifyReply): void {
    reply.clearCookie(PENDING, { path: '/portal' });
    reply.clearCookie(SESSION, { path: '/portal' });
  }

  /** Sign-out: ends the session on the server as well as clearing this browser's cookies. */
  async signOut(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const session = this.read<Session>(req, SESSION);
    if (session && typeof session.sid === 'string') {
      const sid = session.sid;
      await this.reg.tx(async () => {
        await this.reg.db.insert(this.reg.store.tables.endedPortalSessions).values({ sessionId: sid, endedAt: this.reg.clock.iso() }).onConflictDoNothing();
      });
    }
    this.clear(reply);
  }

  /** Double-submit CSRF token: a random cookie echoed in every form. */
  csrf(req: FastifyRequest, reply: FastifyReply): string {
    const existing = req.cookies[CSRF];
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const token = newSecret(32);
    reply.setCookie(CSRF, token, { ...this.options(SESSION_MS), path: '/portal' });
    return token;
  }

  checkCsrf(req: FastifyRequest, submitted: unknown): boolean {
    const cookie = req.cookies[CSRF];
    if (!cookie || typeof submitted !== 'string' || !safeEqual(cookie, submitted)) return false;
    // Browsers send Origin on POST; when present it must be ours.
    const origin = req.headers.origin;
    return !origin || origin === this.reg.origin || origin === `http://${req.headers.host}` || origin === `https://${req.headers.host}`;
  }
}
