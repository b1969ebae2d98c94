import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Register } from '../context.js';
import { ApiError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { AccountRow, Accounts } from '../services/accounts.js';
import type { Role } from '../schemas/common.js';

export const TOKEN_TTL_SECONDS = 7200;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated account (set by a bearer guard). */
    account: AccountRow;
  }
}

/**
 * Bearer tokens live on real time, not the sandbox clock: moving the sandbox clock (to watch
 * records expire) must not sign everyone out, nor let a token outlive its 7200 s.
 */
const realNow = () => new Date();

export async function issueToken(reg: Register, account: AccountRow): Promise<string> {
  const iat = Math.floor(realNow().getTime() / 1000);
  return new SignJWT({ duid: account.duid, role: account.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(account.accountId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + TOKEN_TTL_SECONDS)
    .setJti(newId('tid').slice(4))
    .sign(reg.keys.jwtSecret);
}

/** Parses `Authorization: Basic base64(account:secret)`; null when malformed. */
export function parseBasic(header: string | undefined): { accountId: string; secret: string } | null {
  if (!header || !/^Basic /i.test(header)) return null;
  const raw = header.slice(6).trim();
  if (!/^[A-Za-z0-9+/=]+$/.test(raw)) return null;
  const decoded = Buffer.from(raw, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return null;
  return { accountId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * Performance (issue 7): jose verifies HS256 through WebCrypto (key import + an async job
 * per call), which cost more than the rest of a typical authenticated request. A token that
 * verified once is remembered (per register, by its exact text) with its time claims; a hit
 * only re-checks `exp`/`nbf` against real time, and anything else goes through jose
 * again, so answers (including the "expired" message) are unchanged. Bounded in size.
 */
const VERIFIED_CACHE_MAX = 10_000;
const verifiedTokens = new WeakMap<Register['keys'], Map<string, { sub: string | undefined; exp?: number; nbf?: number }>>();

async function verifiedSubject(reg: Register, token: string): Promise<string | undefined> {
  let cache = verifiedTokens.get(reg.keys);
  if (!cache) verifiedTokens.set(reg.keys, (cache = new Map()));
  const nowDate = realNow();
  const hit = cache.get(token);
  if (hit) {
    const now = Math.floor(nowDate.getTime() / 1000);
    if ((hit.exp === undefined || hit.exp > now) && (hit.nbf === undefined || hit.nbf <= now)) return hit.sub;
    cache.delete(token);
  }
  try {
    const { payload } = await jwtVerify(token, reg.keys.jwtSecret, { algorithms: ['HS256'], currentDate: nowDate });
    if (cache.size >= VERIFIED_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(token, { sub: payload.sub, exp: payload.exp, nbf: payload.nbf });
    return payload.sub;
  } catch (err) {
    const message = err instanceof joseErrors.JWTExpired ? 'Bearer token has expired; request a new one' : 'Bearer token is invalid';
    throw new ApiError(401, 'AUTH002', message);
  }
}

/**
 * A preHandler that requires a valid bearer token for one of `roles`, and re-checks the
 * account on every request so suspension or termination takes effect immediately.
 */
export function bearer(reg: Register, accounts: Accounts, roles: readonly Role[]) {
  const allowed = new Set<string>(roles);
  return async function guard(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const header = req.headers.authorization;
    if (!header) throw new ApiError(401, 'AUTH001', 'Authorization header is missing; send "Authorization: Bearer <token>" from GET /v1/auth/token');
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!m) throw new ApiError(401, 'AUTH001', 'Authorization header is malformed; expected "Bearer <token>"');
    const sub = await verifiedSubject(reg, m[1]);
    const account = sub ? accounts.find(sub) : undefined;
    if (!account) throw new ApiError(401, 'AUTH002', 'Bearer token is invalid');
    if (account.status !== 'active') throw new ApiError(401, 'AUTH006', `Account is ${account.status}`);
    if (!allowed.has(account.role)) throw new ApiError(403, 'AUTH003', `This operation is not available to the ${account.role} role`);
    req.account = account;
  };
}
