import { isIPv4, isIPv6 } from 'node:net';
import { eq, lt, sql } from 'drizzle-orm';
import type { Register } from '../context.js';
import { FailureLimiter, type FailureStore } from '../lib/failure-limiter.js';
import { ONE_ROW } from '../lib/sql.js';

/** Failures are forgotten after this long (the limiters' window). */
const WINDOW_MS = 60 * 60_000;
/** Rows idle past the window are deleted every this many updates. */
const PRUNE_EVERY = 256;

/**
 * Failed sign-ins kept in the database (`sign_in_failures`), so every node sharing it sees the
 * same counts: spreading guesses over several nodes behind a load balancer buys nothing.
 *
 * Several nodes: `update` reads and writes the key's row inside one transaction that first
 * holds the key (`store.lockKey`), so two nodes failing at once are both counted. On SQLite
 * that transaction already holds the database's only write lock (BEGIN IMMEDIATE), whichever
 * process runs it; on PostgreSQL the key lock serialises them, even before the row exists.
 */
export class SignInFailureStore implements FailureStore {
  private readonly read;
  private readonly write;
  private readonly remove;
  private readonly prune;
  private updates = 0;

  constructor(private readonly reg: Register) {
    const store = reg.store;
    this.read = store.prepare('sign-in-throttle.read', (db, { signInFailures }) =>
      db
        .select({ failures: signInFailures.failures })
        .from(signInFailures)
        .where(eq(signInFailures.key, sql.placeholder('key')))
        .limit(ONE_ROW),
    );
    this.write = store.prepare('sign-in-throttle.write', (db, { signInFailures }) =>
      db
        .insert(signInFailures)
        .values({ key: sql.placeholder('key'), failures: sql.placeholder('failures'), lastAt: sql.placeholder('lastAt') })
        .onConflictDoUpdate({ target: signInFailures.key, set: { failures: sql`excluded.failures`, lastAt: sql`excluded.last_at` } }),
    );
    this.remove = store.prepare('sign-in-throttle.remove', (db, { signInFailures }) => db.delete(signInFailures).where(eq(signInFailures.key, sql.placeholder('key'))));
    this.prune = store.prepare('sign-in-throttle.prune', (db, { signInFailures }) => db.delete(signInFailures).where(lt(signInFailures.lastAt, sql.placeholder('before'))));
  }

  async get(key: string): Promise<number[]> {
    const [row] = await this.read.execute({ key });
    return row ? row.failures : [];
  }

  async update(key: string, change: (list: number[]) => number[]): Promise<void> {
    await this.reg.tx(async () => {
      await this.reg.store.lockKey(`sign-in-failures:${key}`);
      const list = change(await this.get(key));
      if (list.length) await this.write.execute({ key, failures: list, lastAt: list[list.length - 1] });
      else await this.remove.execute({ key });
      // Bounded under a flood of distinct keys: what is past the window counts for nothing.
      if (++this.updates % PRUNE_EVERY === 0) await this.prune.execute({ before: Date.now() - WINDOW_MS });
    });
  }
}

/**
 * Sign-in throttling (docs/security.md "Sign-in throttling"): failures count per account and
 * client address, so a stranger's wrong guesses delay the stranger, never the account's own
 * clients. The delays grow (1 s, 2 s, 4 s … up to 15 min) rather than lock anyone out. A
 * second, looser count per client address slows one address guessing across many accounts.
 * There is no count per account alone: it would let anyone lock an account out, and secrets
 * the register generates are far beyond guessing. Counts live in the database (above).
 * Real time, not the sandbox clock: moving the clock must not lift a delay.
 */
export class SignInThrottle {
  private readonly perAccountAndAddress: FailureLimiter;
  private readonly perAddress: FailureLimiter;

  constructor(reg: Register) {
    const store = new SignInFailureStore(reg);
    const scoped = (scope: string): FailureStore => ({
      get: (key) => store.get(`${scope}:${key}`),
      update: (key, change) => store.update(`${scope}:${key}`, change),
    });
    this.perAccountAndAddress = new FailureLimiter({ free: 5, baseDelayMs: 1000, maxDelayMs: 15 * 60_000, windowMs: WINDOW_MS }, Date.now, scoped('account-address'));
    this.perAddress = new FailureLimiter({ free: 50, baseDelayMs: 1000, maxDelayMs: 15 * 60_000, windowMs: WINDOW_MS }, Date.now, scoped('address'));
  }

  /** Seconds this account id from this address must wait before trying again (0: go ahead). */
  async blockedFor(accountId: string, ip: string): Promise<number> {
    const client = clientKey(ip);
    return Math.max(await this.perAccountAndAddress.blockedFor(JSON.stringify([claimed(accountId), client])), await this.perAddress.blockedFor(client));
  }

  async failed(accountId: string, ip: string): Promise<void> {
    const client = clientKey(ip);
    await this.perAccountAndAddress.fail(JSON.stringify([claimed(accountId), client]));
    await this.perAddress.fail(client);
  }

  succeeded(accountId: string, ip: string): Promise<void> {
    return this.perAccountAndAddress.reset(JSON.stringify([claimed(accountId), clientKey(ip)]));
  }
}

/**
 * The account id a failure counts against, at most 65 characters: account ids are at most 64
 * (ACCOUNT_ID_PATTERN), so a longer claim names no account, and storing it whole would let
 * each failure write up to a request header's size into sign_in_failures.
 */
function claimed(accountId: string): string {
  return accountId.length > 64 ? `${accountId.slice(0, 64)}…` : accountId;
}

/**
 * The client a failure counts against. An IPv4 address as itself (also when it arrives
 * IPv4-mapped, `::ffff:a.b.c.d`); an IPv6 address by its /64, since one client is routinely
 * given a whole /64 and could otherwise take a fresh address, and a fresh count, per guess.
 */
export function clientKey(ip: string): string {
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (zone dropped, dotted-quad tail allowed). */
function ipv6Groups(ip: string): number[] | null {
  let s = ip.split('%')[0]!.toLowerCase();
  const quad = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (quad) s = `${quad[1]}${((Number(quad[2]) << 8) | Number(quad[3])).toString(16)}:${((Number(quad[4]) << 8) | Number(quad[5])).toString(16)}`;
  const [head, tail] = s.split('::') as [string, string | undefined];
  const part = (x: string | undefined) => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const h = part(head);
  const t = part(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}
