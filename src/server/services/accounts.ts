import { and, eq, or, type SQL } from 'drizzle-orm';
import { containsPattern, listSort, sortedPage, type PageResult, type SortDir } from '../lib/listing.js';
import { rowByKey } from '../lib/sql.js';
import type { Register } from '../context.js';
import type { accounts } from '../db/schema.js';
import { apiTime } from '../lib/clock.js';
import { hashSecret, verifySecret, DUMMY_SECRET_HASH } from '../lib/crypto.js';
import { conflict, notFound, ApiError } from '../lib/errors.js';
import { newId, newSecret } from '../lib/ids.js';
import type { Account, CreateAccountBody, UpdateAccountBody } from '../../shared/schemas/account.js';
import type { AccountStatus, Role } from '../../shared/vocabulary.js';

/** Columns the account directory sorts by (created: registration order). */
export const ACCOUNT_SORTS = ['created', 'name', 'role', 'status'] as const;
export type AccountSort = (typeof ACCOUNT_SORTS)[number];

export type AccountRow = typeof accounts.$inferSelect;

export function toAccount(row: AccountRow): Account {
  return {
    'account-id': row.accountId,
    duid: row.duid,
    'display-name': row.displayName,
    role: row.role as Role,
    status: row.status as AccountStatus,
    'contact-url': row.contactUrl,
    'registered-at': apiTime(row.registeredAt)!,
    'suspended-at': apiTime(row.suspendedAt),
    'terminated-at': apiTime(row.terminatedAt),
    'data-types-supported': row.dataTypesSupported,
    'organisation-reference': row.organisationReference,
    'return-urls': row.returnUrls,
  };
}

/** Account management, authentication and status transitions. */
export class Accounts {
  private readonly byId;
  private readonly byDuid;

  constructor(private readonly reg: Register) {
    const { accounts } = reg.store.tables;
    this.byId = rowByKey(reg.store, 'accounts.by-id', accounts, accounts.accountId, 'id');
    this.byDuid = rowByKey(reg.store, 'accounts.by-duid', accounts, accounts.duid, 'duid');
  }

  find(accountId: string): Promise<AccountRow | undefined> {
    return this.byId.find({ id: accountId });
  }

  findByDuid(duid: string): Promise<AccountRow | undefined> {
    return this.byDuid.find({ duid });
  }

  async get(accountId: string): Promise<AccountRow> {
    const row = await this.find(accountId);
    if (!row) throw notFound(`Account "${accountId}"`);
    return row;
  }

  /** Checks Basic credentials. Same cost and same answer for unknown account and wrong secret. */
  async authenticate(accountId: string, secret: string): Promise<AccountRow | null> {
    const row = await this.find(accountId);
    const ok = await verifySecret(secret, row?.secretHash ?? DUMMY_SECRET_HASH);
    return row && ok ? row : null;
  }

  /**
   * Audits a sign-in (GET /v1/auth/token): `account.login`, or `account.login-failed` with
   * why, and the client address either way. Never the secret. An account id that does not
   * exist is recorded as claimed (cut to 64 characters), so guessing shows in the audit.
   */
  async auditSignIn(claimedId: string, from: string, outcome: 'ok' | 'wrong-credentials' | 'suspended' | 'terminated'): Promise<void> {
    const known = outcome !== 'wrong-credentials' || (await this.find(claimedId)) !== undefined;
    await this.reg.tx(() =>
      this.reg.audit.append({
        actor: outcome === 'ok' ? claimedId : 'anonymous',
        eventType: outcome === 'ok' ? 'account.login' : 'account.login-failed',
        subject: claimedId.slice(0, 64),
        detail: { from, ...(outcome === 'ok' ? {} : { reason: outcome, 'known-account': known }) },
      }),
    );
  }

  async create(actor: string, body: CreateAccountBody): Promise<{ account: AccountRow; secret: string }> {
    const { accounts } = this.reg.store.tables;
    const secret = body['secret-key'] ?? newSecret(32);
    const secretHash = await hashSecret(secret);
    const now = this.reg.clock.iso();
    const duid = body.duid ?? newId('duid');
    return this.reg.tx(async () => {
      if (await this.find(body['account-id'])) throw conflict(`Account "${body['account-id']}" already exists`);
      if (await this.findByDuid(duid)) throw conflict(`duid "${duid}" is already assigned to another account`);
      const row = {
        accountId: body['account-id'],
        secretHash,
        duid,
        displayName: body['display-name'],
        role: body.role,
        status: 'active',
        contactUrl: body['contact-url'] ?? null,
        organisationReference: body['organisation-reference'] ?? null,
        dataTypesSupported: body['data-types'] ?? [],
        returnUrls: body['return-urls'] ?? [],
        registeredAt: now,
        updatedAt: now,
      };
      await this.reg.db.insert(accounts).values(row);
      await this.reg.audit.append({ actor, eventType: 'account.created', subject: row.accountId, detail: { role: row.role, duid } });
      return { account: await this.get(row.accountId), secret };
    });
  }

  update(actor: string, accountId: string, body: UpdateAccountBody): Promise<AccountRow> {
    const { accounts } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const row = await this.get(accountId);
      const changes: Partial<AccountRow> = { updatedAt: this.reg.clock.iso() };
      if (body['display-name'] !== undefined) changes.displayName = body['display-name'];
      if (body['contact-url'] !== undefined) changes.contactUrl = body['contact-url'];
      if (body['data-types'] !== undefined) changes.dataTypesSupported = body['data-types'];
      if (body['organisation-reference'] !== undefined) changes.organisationReference = body['organisation-reference'];
      if (body['return-urls'] !== undefined) changes.returnUrls = body['return-urls'];
      await this.reg.db.update(accounts).set(changes).where(eq(accounts.seq, row.seq));
      // The audit keeps what changed, from and to, field by field (never a secret: no
      // editable field holds one; secrets change only through rotate-secret).
      const before = toAccount(row) as Record<string, unknown>;
      const after = toAccount(await this.get(accountId)) as Record<string, unknown>;
      const changed: Record<string, { from: unknown; to: unknown }> = {};
      for (const field of Object.keys(body)) {
        const key = field === 'data-types' ? 'data-types-supported' : field;
        if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changed[field] = { from: before[key] ?? null, to: after[key] ?? null };
      }
      await this.reg.audit.append({ actor, eventType: 'account.updated', subject: accountId, detail: { fields: Object.keys(changed), changes: changed } });
      return this.get(accountId);
    });
  }

  /** suspend / reactivate / terminate. Termination is final. */
  setStatus(actor: string, accountId: string, action: 'suspend' | 'reactivate' | 'terminate', reason: string | null = null): Promise<AccountRow> {
    const { accounts } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const row = await this.get(accountId);
      const now = this.reg.clock.iso();
      if (row.status === 'terminated') throw conflict(`Account "${accountId}" is terminated; that is final`);
      if (action === 'suspend' && row.status === 'suspended') throw conflict(`Account "${accountId}" is already suspended`);
      if (action === 'reactivate' && row.status === 'active') throw conflict(`Account "${accountId}" is already active`);
      if (actor === accountId && action !== 'reactivate') throw conflict('An administrator cannot suspend or terminate their own account');
      // Suspension and termination end every session, so reactivation does not revive them.
      const changes: Partial<AccountRow> =
        action === 'suspend'
          ? { status: 'suspended', suspendedAt: now, tokensValidAfter: this.sessionsEnd(row) }
          : action === 'reactivate'
            ? { status: 'active', reactivatedAt: now, suspendedAt: null }
            : { status: 'terminated', terminatedAt: now, tokensValidAfter: this.sessionsEnd(row) };
      await this.reg.db
        .update(accounts)
        .set({ ...changes, updatedAt: now })
        .where(eq(accounts.seq, row.seq));
      await this.reg.audit.append({
        actor,
        eventType: `account.${action === 'suspend' ? 'suspended' : action === 'reactivate' ? 'reactivated' : 'terminated'}`,
        subject: accountId,
        ...(action === 'suspend' ? { detail: { reason } } : {}),
      });
      return this.get(accountId);
    });
  }

  /**
   * The new `tokensValidAfter` that ends every bearer token issued so far: one millisecond
   * past now (real time, as tokens are), so a token issued earlier in this same millisecond
   * is ended too. A token issued afterwards counts as issued no earlier than this
   * (http/auth.ts issueToken), so it works even within the same millisecond.
   */
  private sessionsEnd(row: AccountRow): number {
    return Math.max(row.tokensValidAfter, Date.now() + 1);
  }

  /** "Sign out everywhere": every bearer token issued so far for the account answers 401. */
  signOutEverywhere(actor: string, accountId: string): Promise<AccountRow> {
    const { accounts } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const row = await this.get(accountId);
      await this.reg.db
        .update(accounts)
        .set({ tokensValidAfter: this.sessionsEnd(row), updatedAt: this.reg.clock.iso() })
        .where(eq(accounts.seq, row.seq));
      await this.reg.audit.append({ actor, eventType: 'account.signed-out-everywhere', subject: accountId });
      return this.get(accountId);
    });
  }

  /**
   * Issues a new secret; the old one stops working at once, and so does every bearer token
   * issued with it. Returned once, never stored in clear.
   */
  async rotateSecret(actor: string, accountId: string): Promise<string> {
    const { accounts } = this.reg.store.tables;
    const secret = newSecret(32);
    const secretHash = await hashSecret(secret);
    await this.reg.tx(async () => {
      const row = await this.get(accountId);
      const now = this.reg.clock.iso();
      await this.reg.db
        .update(accounts)
        .set({ secretHash, secretRotatedAt: now, tokensValidAfter: this.sessionsEnd(row), updatedAt: now })
        .where(eq(accounts.seq, row.seq));
      await this.reg.audit.append({ actor, eventType: 'account.secret-rotated', subject: accountId });
    });
    return secret;
  }

  async list(q: { role?: string; status?: string; q?: string; sort?: AccountSort; order?: SortDir; limit: number; cursor?: string; offset?: number }): Promise<PageResult<AccountRow>> {
    const { accounts } = this.reg.store.tables;
    const filters: SQL[] = [];
    if (q.role) filters.push(eq(accounts.role, q.role));
    if (q.status) filters.push(eq(accounts.status, q.status));
    if (q.q) {
      const term = q.q.trim();
      // Accounts are few (hundreds), so a fragment of the account id or display name is a scan
      // of a small table; a DUID or organisation reference must be given whole.
      const like = containsPattern(term);
      const { dialect } = this.reg.store;
      filters.push(or(eq(accounts.duid, term), dialect.sameIgnoringCase(accounts.organisationReference, term), dialect.likeIgnoringCase(accounts.accountId, like), dialect.likeIgnoringCase(accounts.displayName, like))!);
    }
    const sort = listSort<AccountSort>(this.reg.store.dialect, { name: this.reg.store.dialect.ignoringCase(accounts.displayName), role: accounts.role, status: accounts.status }, accounts.seq, q.sort, q.order);
    return sortedPage(this.reg.db, accounts, filters, sort, { limit: q.limit, cursor: q.cursor, offset: q.offset });
  }

  /** Whether `url` exactly matches a pre-registered return URL of an active Data User or portal account. */
  async isRegisteredReturnUrl(url: string): Promise<boolean> {
    const { accounts } = this.reg.store.tables;
    const rows = await this.reg.db
      .select({ returnUrls: accounts.returnUrls })
      .from(accounts)
      .where(and(eq(accounts.status, 'active'), or(eq(accounts.role, 'data_user'), eq(accounts.role, 'portal'))));
    return rows.some((r) => r.returnUrls.includes(url));
  }

  requireRole(row: AccountRow, role: Role): void {
    if (row.role !== role) throw new ApiError(404, 'NOT001', `${role} "${row.accountId}" not found`);
  }
}
