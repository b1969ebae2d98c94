import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Register } from '../context.js';
import { ApiError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { AccountRow, Accounts } from '../services/accounts.js';
import type { Role } from '../../shared/vocabulary.js';

export const TOKEN_TTL_SECONDS = 7200;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated account (set by a bearer guard). */
    account: AccountRow;
  }
  interface FastifyContextConfig {
    /**
     * Who may call a route, when it differs from its scope's roles (routes/index.ts):
     * a list of roles, or 'public' for no authentication at all.
     */
    roles?: readonly Role[] | 'public';
  }
}

/**
 * Bearer tokens live on real time, not the sandbox clock: moving the sandbox clock (to watch
 * records expire) must not sign everyone out, nor let a token outlive its 7200 s.
 */
const realNow = () => new Date();

/**
 * The private claim carrying the issue time in milliseconds. JWT `iat` has one-second
 * resolution, too coarse to tell a token issued just before a secret rotation from one
 * issued just after it in the same second.
 */
const IAT_MS = 'iat_ms';

/**
 * Issues a bearer token for `account`. `checkedAt` is when its credentials were checked
 * (real time, ms), read before the account row they were checked against: a token counts as
 * issued then, so a rotation or sign-out that lands while a sign-in is being checked still
 * ends it. Never earlier than the account's `tokensValidAfter`, so a token issued after a
 * rotation in the same millisecond still works (see Accounts.sessionsEnd).
 */
export async function issueToken(reg: Register, account: AccountRow, checkedAt: number = realNow().getTime()): Promise<string> {
  const iatMs = Math.max(checkedAt, account.tokensValidAfter);
  const iat = Math.floor(realNow().getTime() / 1000);
  return new SignJWT({ duid: account.duid, role: account.role, [IAT_MS]: iatMs })
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
 * Performance (see docs/performance.md): jose verifies HS256 through WebCrypto (key import + an async job
 * per call), which cost more than the rest of a typical authenticated request. A token that
 * verified once is remembered (per register, by its exact text) with its time claims; a hit
 * only re-checks `exp`/`nbf` against real time, and anything else goes through jose
 * again, so answers (including the "expired" message) are unchanged. Bounded in size.
 */
const VERIFIED_CACHE_MAX = 10_000;
interface Verified {
  sub: string;
  exp: number;
  nbf?: number;
  /** Issue time in ms (the iat_ms claim; `iat` × 1000 for a token without one). */
  iatMs: number;
}
const verifiedTokens = new WeakMap<Register['keys'], Map<string, Verified>>();

async function verifiedToken(reg: Register, token: string): Promise<Verified> {
  let cache = verifiedTokens.get(reg.keys);
  if (!cache) verifiedTokens.set(reg.keys, (cache = new Map()));
  const nowDate = realNow();
  const hit = cache.get(token);
  if (hit) {
    const now = Math.floor(nowDate.getTime() / 1000);
    if (hit.exp > now && (hit.nbf === undefined || hit.nbf <= now)) return hit;
    cache.delete(token);
  }
  try {
    // A token without `exp` would never expire: refused, like one without a subject.
    const { payload } = await jwtVerify(token, reg.keys.jwtSecret, { algorithms: ['HS256'], currentDate: nowDate, requiredClaims: ['exp', 'sub', 'iat'] });
    const claimed = payload[IAT_MS];
    const verified: Verified = {
      sub: payload.sub!,
      exp: payload.exp!,
      nbf: payload.nbf,
      iatMs: typeof claimed === 'number' && Number.isFinite(claimed) ? claimed : payload.iat! * 1000,
    };
    if (cache.size >= VERIFIED_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(token, verified);
    return verified;
  } catch (err) {
    const message = err instanceof joseErrors.JWTExpired ? 'Bearer token has expired; request a new one' : 'Bearer token is invalid';
    throw new ApiError(401, 'AUTH002', message);
  }
}

/**
 * Who is asking: the account behind a valid bearer token (401 otherwise). Re-checks the
 * account on every request, so suspension, termination, a secret rotation or "sign out
 * everywhere" ends tokens issued before it at once.
 */
export async function authenticate(reg: Register, accounts: Accounts, req: FastifyRequest): Promise<AccountRow> {
  const header = req.headers.authorization;
  if (!header) throw new ApiError(401, 'AUTH001', 'Authorization header is missing; send "Authorization: Bearer <token>" from GET /v1/auth/token');
  const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  if (!m) throw new ApiError(401, 'AUTH001', 'Authorization header is malformed; expected "Bearer <token>"');
  const token = await verifiedToken(reg, m[1]);
  const account = await accounts.find(token.sub);
  if (!account) throw new ApiError(401, 'AUTH002', 'Bearer token is invalid');
  if (account.status !== 'active') throw new ApiError(401, 'AUTH006', `Account is ${account.status}`);
  if (token.iatMs < account.tokensValidAfter) throw new ApiError(401, 'AUTH002', 'Bearer token was issued before this account was signed out; request a new one');
  return account;
}

/**
 * An `onRequest` hook requiring a valid bearer token for one of `roles`. `onRequest` runs
 * before the body is parsed and validated, so a caller learns 401 or 403 before anything about
 * its input (docs/security.md: authentication, then role, then validation).
 */
export function bearer(reg: Register, accounts: Accounts, roles: readonly Role[]) {
  return async function guard(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const account = await authenticate(reg, accounts, req);
    if (!roles.includes(account.role as Role)) throw new ApiError(403, 'AUTH003', `This operation is not available to the ${account.role} role`);
    req.account = account;
  };
}

/**
 * Puts the bearer guard on every route of a scope (routes/index.ts) for the roles the route
 * admits: its own `config.roles` or else the scope's. A 'public' route gets no guard at all.
 * The guard is the route's first own `onRequest` hook, so it runs where a scope hook would
 * (after every scope-wide hook, before the route's ownership checks). Deciding this once per
 * route instead of in a scope-wide hook spares every request a lookup of its route's options
 * (Fastify builds a new object for each `req.routeOptions`) and spares a public route, such as
 * verify, a promise and a microtask that did nothing (docs/performance.md).
 */
export function guardRoutes(scope: FastifyInstance, reg: Register, accounts: Accounts, roles: readonly Role[]): void {
  scope.addHook('onRoute', (route) => {
    const allowed = route.config?.roles ?? roles;
    if (allowed === 'public') return;
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    // A new array: Fastify copies a GET route's options for its HEAD route before this hook,
    // sharing the array, and runs this hook for the HEAD route too.
    route.onRequest = [bearer(reg, accounts, allowed) as onRequestHookHandler, ...own];
  });
}

/**
 * A route's `onRequest` ownership check, for what the URL alone decides (another Data User's
 * record, identity record or webhook is "not found"). It runs after the scope's
 * authentication and before the body or query is parsed and validated, so probing someone
 * else's resource answers the same 404 (or 403) whatever is sent. A malformed parameter is
 * left to validation (400), which reveals nothing about anyone's resources.
 */
export function ownership(param: string, pattern: string, check: (account: AccountRow, value: string) => Promise<unknown> | void) {
  const wellFormed = new RegExp(pattern);
  return async function owned(req: FastifyRequest): Promise<void> {
    const value = (req.params as Record<string, string | undefined>)[param];
    if (value !== undefined && wellFormed.test(value)) await check(req.account, value);
  };
}
