import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Register } from '../../context.js';
import { hmacHex, safeEqual } from '../../lib/crypto.js';
import { newSecret } from '../../lib/ids.js';

/**
 * CSRF for the customer pages: a double-submit cookie. The page sets a random httpOnly,
 * SameSite=Strict cookie and embeds HMAC(register key, scope + cookie) in a hidden field
 * (or a data attribute the page script sends as `x-dar-csrf`). A POST must carry both and
 * they must match; a cross-site form can neither read the cookie nor compute the HMAC.
 * The scope binds the token to one link or session.
 */
export const CSRF_COOKIE = 'dar_id_csrf';
export const STEP_UP_COOKIE = 'dar_id_stepup';

export function cookieOptions(reg: Register, maxAgeSeconds?: number) {
  return {
    path: '/id/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: reg.origin.startsWith('https://'),
    ...(maxAgeSeconds ? { maxAge: maxAgeSeconds } : {}),
  };
}

function expected(reg: Register, scope: string, cookie: string): string {
  return hmacHex(reg.keys.signingKey, `csrf:${scope}:${cookie}`);
}

/** The token to embed in a page for `scope`; sets the cookie when the browser has none. */
export function issueCsrf(reg: Register, req: FastifyRequest, reply: FastifyReply, scope: string): string {
  let cookie = req.cookies[CSRF_COOKIE];
  if (!cookie || !/^[A-Za-z0-9_-]{43}$/.test(cookie)) {
    cookie = newSecret(32);
    reply.setCookie(CSRF_COOKIE, cookie, cookieOptions(reg));
  }
  return expected(reg, scope, cookie);
}

export function checkCsrf(reg: Register, req: FastifyRequest, scope: string, submitted: unknown): boolean {
  const cookie = req.cookies[CSRF_COOKIE];
  if (!cookie || typeof submitted !== 'string' || submitted.length === 0) return false;
  return safeEqual(submitted, expected(reg, scope, cookie));
}

const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i;

/**
 * A state-changing request must not come from another origin (checked when the browser says).
 * A sandbox register also accepts its own loopback address as the origin (the page was served
 * from the very host:port the form posts to), so a link opened from the console on the
 * address it talks to works when --origin names another port or localhost/127.0.0.1 differ.
 * Only loopback names count: a rebinding attacker's own host name is never accepted.
 */
export function originAllowed(reg: Register, req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (origin === reg.origin) return true;
  const host = req.headers.host;
  return reg.config.mode === 'sandbox' && !!host && LOOPBACK_HOST.test(host) && origin === `http://${host.toLowerCase()}`;
}
