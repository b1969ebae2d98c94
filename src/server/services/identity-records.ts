import { and, desc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { TokenMethod } from '../../shared/vocabulary.js';
import { newestFirstPage } from '../lib/paging.js';
import { containsPattern, dateRange, listSort, sortedChunks, sortedPage, type PageRequest, type PageResult, type Sort, type SortDir } from '../lib/listing.js';
import type { Register } from '../context.js';
import { ONE_ROW, rowByKey } from '../lib/sql.js';
import type * as schema from '../db/schema.js';
import { apiTime } from '../lib/clock.js';
import { encrypt, decrypt, hmacHex } from '../lib/crypto.js';
import { ApiError, conflict, notFound } from '../lib/errors.js';
import { canonicalEmail, emailMatchKey } from '../lib/values.js';
import { newId, newSecret } from '../lib/ids.js';
import type { CreateIdentityRecordBody, IdentityRecord } from '../../shared/schemas/identity-record.js';
import { contactChangeEmail } from './mail/templates.js';
import type { Accounts } from './accounts.js';
import type { Mailer } from './mail/mailer.js';

/** Columns the staff identity list sorts by (created: creation order). */
export const IDENTITY_SORTS = ['created', 'mpxn'] as const;
export type IdentitySort = (typeof IDENTITY_SORTS)[number];

/** The staff identity list's filters: every one optional; all that are given must hold. */
export interface AdminIdentityFilters {
  mpxn?: string;
  email?: string;
  q?: string;
  duid?: string;
  from?: string;
  to?: string;
  sort?: IdentitySort;
  order?: SortDir;
}

export type IdentityRow = typeof schema.identityRecords.$inferSelect;
export type CredentialRow = typeof schema.passkeyCredentials.$inferSelect;

/**
 * The address as stored (encrypted) and sent: trimmed, its domain in ASCII (punycode), the
 * local part's case kept (lib/values.ts canonicalEmail). Lookups match it case-insensitively
 * through `emailHash`.
 */
export function normaliseEmail(email: string): string {
  return canonicalEmail(email) ?? email.trim();
}

/** `customer@example.com` → `c*****r@example.com` (what a caller may be shown). */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const masked = local.length <= 2 ? `${local[0] ?? ''}*` : `${local[0]}${'*'.repeat(Math.max(3, local.length - 2))}${local[local.length - 1]}`;
  return `${masked}@${domain}`;
}

/** [ours] How far ahead of the register's today a move-in-date may be (a planned move). */
export const MOVE_IN_MAX_AHEAD_DAYS = 366;

/** What the register knows about the records of one MPxN, from one statement (see eligibleStatement). */
export interface EligibleRecord {
  /** The eligible record's ir, or null when the current occupant has records but none with a factor. */
  ir: string | null;
  hasEmail: boolean;
  hasPasskey: boolean;
}

export class IdentityRecords {
  private readonly byIr;
  private readonly activeCredentials;
  private readonly eligibleByMpxn;

  constructor(
    private readonly reg: Register,
    private readonly deps: { accounts: Accounts; mail: Mailer },
  ) {
    // The exists check and the cross-Data-User / portal flows (docs/performance.md: a hot, benchmarked
    // path, so one prepared statement, no PII columns, no second query for credentials).
    // [ours] Which record speaks for a meter point (contract §4, "eligible"): the newest
    // non-anonymised record that has a factor (e-mail or live passkey) and whose move-in-date
    // is on or after the latest change of tenancy reported for the MPxN. A newer record
    // without a factor does not hide an older one with a factor; a record from before a
    // change of tenancy belongs to the previous occupant and is never used. Records of the
    // current occupant that have no factor still make `exists` true (ir null, no methods).
    // The change-of-tenancy date is one max() over the cot_events (mpxn, …) index.
    // A record speaks for the meter point only from its move-in-date: one dated after the
    // register's today (@today, from the register clock) is not the current occupant's yet,
    // so a future move-in-date cannot outlast a later change of tenancy.
    this.eligibleByMpxn = reg.store.prepare('identity-records.eligible-by-mpxn', (db, { identityRecords: i, passkeyCredentials, cotEvents }) => {
      const mpxn = sql.placeholder('mpxn');
      // 0/1 on SQLite, a boolean on PostgreSQL.
      const hasEmail = sql<number | boolean>`${i.emailHash} is not null`;
      // The outer column is written out: drizzle leaves a single-table select's columns unqualified
      // in its fields, where `ir` would be the credential's own.
      const hasPasskey = sql<number | boolean>`exists (select 1 from ${passkeyCredentials} c where c.ir = identity_records.ir and c.removed_at is null)`;
      return db
        .select({ ir: i.ir, hasEmail, hasPasskey })
        .from(i)
        .where(
          and(
            eq(i.mpxn, mpxn),
            isNull(i.anonymisedAt),
            sql`coalesce(${i.moveInDate}, '') >= coalesce((select max(${cotEvents.effectiveDate}) from ${cotEvents} where ${cotEvents.mpxn} = ${mpxn}), '')`,
            sql`coalesce(${i.moveInDate}, '') <= ${sql.placeholder('today')}`,
          ),
        )
        .orderBy(sql`(${hasEmail} or ${hasPasskey}) desc`, desc(i.seq))
        .limit(ONE_ROW);
    });
    const { identityRecords } = reg.store.tables;
    this.byIr = rowByKey(reg.store, 'identity-records.by-ir', identityRecords, identityRecords.ir, 'ir');
    this.activeCredentials = reg.store.prepare('identity-records.active-credentials', (db, { passkeyCredentials }) =>
      db
        .select()
        .from(passkeyCredentials)
        .where(and(eq(passkeyCredentials.ir, sql.placeholder('ir')), isNull(passkeyCredentials.removedAt)))
        .orderBy(passkeyCredentials.seq),
    );
  }

  /**
   * Keyed hash for lookups, over the address lower-cased with an ASCII domain, so that case
   * and Unicode-versus-punycode spellings of one address match (lib/values.ts emailMatchKey).
   * For an ASCII address this is the hash of the trimmed, lower-cased text, as before.
   */
  emailHash(email: string): string {
    return hmacHex(this.reg.keys.emailHmacKey, emailMatchKey(email));
  }

  find(ir: string): Promise<IdentityRow | undefined> {
    return this.byIr.find({ ir });
  }

  /** ir → owning duid for a page of records, in one query (GET /records showed an N+1 here). */
  async ownersOf(irs: string[]): Promise<Map<string, string>> {
    if (irs.length === 0) return new Map();
    const { identityRecords } = this.reg.store.tables;
    const rows = await this.reg.db.select({ ir: identityRecords.ir, duid: identityRecords.duid }).from(identityRecords).where(inArray(identityRecords.ir, irs));
    return new Map(rows.map((r) => [r.ir, r.duid]));
  }

  /** The caller's own record, or 404 without revealing whether another Data User's exists. */
  async getOwned(duid: string, ir: string): Promise<IdentityRow> {
    const row = await this.find(ir);
    if (!row || row.duid !== duid) throw notFound(`Identity record ${ir}`);
    return row;
  }

  credentials(ir: string): Promise<CredentialRow[]> {
    return this.activeCredentials.execute({ ir });
  }

  /** The stored address, decrypted, for sending a magic link. Never returned by the API. */
  email(row: IdentityRow): string | null {
    return row.emailEnc ? decrypt(this.reg.keys.encryptionKey, row.emailEnc) : null;
  }

  async toApi(row: IdentityRow): Promise<IdentityRecord> {
    type Address = NonNullable<NonNullable<IdentityRecord['pii-principal']>['address']>;
    // Optional address lines sent as null (which request validation turns into "") are left
    // out too: the published address has no null lines.
    const stored = row.address as Record<string, unknown> | null;
    const address = stored ? (Object.fromEntries(Object.entries(stored).filter(([, v]) => v !== null && v !== '')) as Address) : undefined;
    return {
      ir: row.ir,
      'created-at': apiTime(row.createdAt)!,
      'pii-principal': row.mpxn
        ? // No address: omitted, not null (the published schema does not allow null).
          { mpxn: row.mpxn, 'move-in-date': row.moveInDate, ...(address ? { address } : {}) }
        : null,
      'expressed-by': row.expressedBy,
      'principal-verification': (row.principalVerification as IdentityRecord['principal-verification']) ?? null,
      'has-email': row.emailHash !== null,
      credentials: (await this.credentials(row.ir)).map((c) => ({ 'credential-id': c.credentialId, 'registered-at': apiTime(c.registeredAt)!, transports: c.transports })),
      'anonymised-at': apiTime(row.anonymisedAt),
    };
  }

  /**
   * What a person at the console sees of a record until they press "Reveal": the address
   * lines reduced to their first character and the postcode to its outward code. The
   * MPxN stays (it is how the customer is found); the e-mail is masked as on the
   * customer pages. Revealing is a separate, audited read (admin route `?reveal=true`).
   */
  masked(view: IdentityRecord): IdentityRecord {
    const pii = view['pii-principal'];
    if (!pii?.address) return view;
    const hide = (v: string | null | undefined) => (v ? `${v[0]}${'•'.repeat(Math.min(12, Math.max(3, v.length - 1)))}` : v);
    const a = pii.address;
    const outward = a.postcode.trim().split(/\s+/)[0] ?? '';
    const address = {
      addressLine1: hide(a.addressLine1)!,
      ...(a.addressLine2 !== undefined ? { addressLine2: hide(a.addressLine2) } : {}),
      townCity: hide(a.townCity)!,
      ...(a.county !== undefined ? { county: hide(a.county) } : {}),
      postcode: `${outward} •••`,
    };
    return { ...view, 'pii-principal': { ...pii, address } };
  }

  /**
   * Audits a person's read of customer data (docs/security.md "What the audit records"): who, which record (or the
   * MPxN searched; never an e-mail address) and where from (the client address).
   */
  async auditRead(actor: string, from: string, what: { ir?: string; mpxn?: string; byEmail?: boolean; filters?: Record<string, string>; found?: string[]; exported?: number; revealed?: boolean }): Promise<void> {
    await this.reg.tx(() =>
      this.reg.audit.append({
        actor,
        eventType: 'identity-record.read',
        ir: what.ir ?? null,
        subject: what.mpxn ?? null,
        detail: {
          from,
          ...(what.ir
            ? { revealed: what.revealed === true }
            : { search: { ...(what.mpxn ? { mpxn: what.mpxn } : {}), ...(what.byEmail ? { email: 'keyed-hash match' } : {}), ...what.filters }, ...(what.exported !== undefined ? { exported: what.exported } : { found: what.found ?? [] }) }),
        },
      }),
    );
  }

  /** The e-mail on file for a person at the console: masked, or in full when revealed. */
  emailForStaff(row: IdentityRow, revealed: boolean): string | null {
    const email = this.email(row);
    return email && !revealed ? maskEmail(email) : email;
  }

  /** Call inside the caller's transaction, so the contact-change notice commits with the record. */
  async create(actor: string, duid: string, body: CreateIdentityRecordBody): Promise<IdentityRow> {
    const ir = newId('ir');
    const now = this.reg.clock.iso();
    const email = body.email ? normaliseEmail(body.email) : null;
    const pii = body['pii-principal'];
    // [ours] A move-in-date more than a year ahead of the register's today is a mistake (or an
    // attempt to outlast a later change of tenancy); a move planned within the year is accepted
    // and the record speaks for the meter point from that date (see eligibleByMpxn).
    const latest = new Date(this.reg.clock.now().getTime() + MOVE_IN_MAX_AHEAD_DAYS * 86_400_000).toISOString().slice(0, 10);
    if (pii['move-in-date'] && pii['move-in-date'] > latest)
      throw ApiError.validation([`pii-principal.move-in-date ${pii['move-in-date']} is more than ${MOVE_IN_MAX_AHEAD_DAYS} days after the register's today (${this.reg.clock.iso().slice(0, 10)})`]);
    // Read before the insert: the record that spoke for the meter point until now. (Without
    // an e-mail the new record has no factor yet; its first passkey is checked then.)
    const previous = email ? await this.eligibleForMpxn(pii.mpxn) : undefined;
    const { identityRecords } = this.reg.store.tables;
    await this.reg.db.insert(identityRecords).values({
      ir,
      duid,
      mpxn: pii.mpxn,
      moveInDate: pii['move-in-date'],
      address: (pii.address as Record<string, string> | null | undefined) ?? null,
      expressedBy: body['expressed-by'],
      principalVerification: (body['principal-verification'] as Record<string, unknown> | null | undefined) ?? null,
      emailHash: email ? this.emailHash(email) : null,
      emailEnc: email ? encrypt(this.reg.keys.encryptionKey, email) : null,
      webauthnUserId: newSecret(16),
      createdAt: now,
    });
    await this.reg.audit.append({ actor, eventType: 'identity-record.created', ir, detail: { 'has-email': email !== null } });
    if (previous) await this.noticeContactChange(previous, ir, (await this.deps.accounts.findByDuid(duid))?.displayName ?? duid, pii.mpxn);
    return (await this.find(ir))!;
  }

  /**
   * [ours] Detection where the register cannot know better (contract §4). Call after a change
   * (a new record, a first passkey) with the eligible record from before it: when the change
   * made `ir` the record that speaks for the meter point and the previous one had a different
   * e-mail, the previous address is told who did it, when, for which meter point, and how to
   * raise a concern.
   */
  async noticeContactChange(before: EligibleRecord | undefined, ir: string, org: string, mpxn: string): Promise<void> {
    if (!before?.ir || !before.hasEmail || before.ir === ir) return;
    if ((await this.eligibleForMpxn(mpxn))?.ir !== ir) return; // e.g. a record from before a change of tenancy
    const previous = (await this.find(before.ir))!;
    const current = (await this.find(ir))!;
    if (previous.emailHash === current.emailHash) return;
    const change = current.emailHash ? 'email' : 'passkey';
    await this.deps.mail.queue({ to: this.email(previous)!, ...contactChangeEmail({ org, mpxn, at: this.reg.clock.iso(), change }), purpose: 'identity-record.contact-changed', ref: before.ir });
    await this.reg.audit.append({ actor: 'register', eventType: 'identity-record.contact-change-notified', ir: before.ir, detail: { 'new-ir': ir } });
  }

  /** Display name of the organisation that registered a record (its contact details). */
  async heldBy(row: Pick<IdentityRow, 'duid'>): Promise<string> {
    return (await this.deps.accounts.findByDuid(row.duid))?.displayName ?? row.duid;
  }

  /** The caller's records matching mpxn and/or email (AND). */
  search(duid: string | null, q: { mpxn?: string; email?: string }, limit = 500, cursor?: number): Promise<{ rows: IdentityRow[]; total: number; nextCursor: string | null }> {
    const { identityRecords } = this.reg.store.tables;
    const filters: SQL[] = [];
    if (duid) filters.push(eq(identityRecords.duid, duid));
    if (q.mpxn) filters.push(eq(identityRecords.mpxn, q.mpxn));
    if (q.email) filters.push(eq(identityRecords.emailHash, this.emailHash(q.email)));
    return newestFirstPage(this.reg.db, identityRecords, filters, { limit, cursor });
  }

  /**
   * The staff list (docs/api.md "Admin lists"): exact MPxN or e-mail (keyed hash), a fragment
   * of the MPxN, the owning Data User, a creation date range; sorted by creation or MPxN. The
   * address and e-mail are never searched by substring: they are held encrypted, and a
   * fragment search over them would let a reader enumerate customers' personal data.
   */
  adminList(f: AdminIdentityFilters, page: PageRequest): Promise<PageResult<IdentityRow>> {
    return sortedPage(this.reg.db, this.reg.store.tables.identityRecords, this.adminFilters(f), this.adminSort(f), page);
  }

  /** The same rows, every one, a chunk at a time (streamed CSV export). */
  async adminListAll(f: AdminIdentityFilters): Promise<{ total: number; chunks: AsyncGenerator<IdentityRow[]> }> {
    const filters = this.adminFilters(f);
    const { identityRecords } = this.reg.store.tables;
    const [{ n: total }] = await this.reg.db
      .select({ n: sql<number>`count(*)` })
      .from(identityRecords)
      .where(filters.length ? and(...filters) : undefined);
    return { total, chunks: sortedChunks(this.reg.db, identityRecords, filters, this.adminSort(f), 500, undefined, { count: () => Promise.resolve(total) }) };
  }

  private adminFilters(f: AdminIdentityFilters): SQL[] {
    const { identityRecords } = this.reg.store.tables;
    const filters: SQL[] = [];
    if (f.duid) filters.push(eq(identityRecords.duid, f.duid));
    if (f.mpxn) filters.push(eq(identityRecords.mpxn, f.mpxn));
    if (f.email) filters.push(eq(identityRecords.emailHash, this.emailHash(f.email)));
    // Digits only (the query schema says so), so no LIKE wildcard can be in the fragment.
    if (f.q) filters.push(sql`${identityRecords.mpxn} like ${containsPattern(f.q)} escape '\\'`);
    filters.push(...dateRange(identityRecords.createdAt, f.from, f.to));
    return filters;
  }

  private adminSort(f: AdminIdentityFilters): Sort | undefined {
    const { identityRecords } = this.reg.store.tables;
    return listSort<IdentitySort>(this.reg.store.dialect, { mpxn: identityRecords.mpxn }, identityRecords.seq, f.sort, f.order);
  }

  /**
   * The record that speaks for an MPxN in cross-Data-User and portal flows (see the
   * constructor): undefined when the current occupant has no record at all.
   */
  async eligibleForMpxn(mpxn: string): Promise<EligibleRecord | undefined> {
    const [row] = await this.eligibleByMpxn.execute({ mpxn, today: this.reg.clock.iso().slice(0, 10) });
    if (!row) return undefined;
    const hasEmail = Boolean(row.hasEmail);
    const hasPasskey = Boolean(row.hasPasskey);
    return { ir: hasEmail || hasPasskey ? row.ir : null, hasEmail, hasPasskey };
  }

  /**
   * available-methods for an MPxN, from the eligible record: passkey-assert if a live
   * credential, magic-link if an e-mail, and [ours] passkey-register only together with one
   * of those (a new passkey is enrolled only after proving a factor already on the record).
   */
  async availableMethods(mpxn: string): Promise<{ exists: boolean; methods: TokenMethod[] }> {
    const eligible = await this.eligibleForMpxn(mpxn);
    if (!eligible) return { exists: false, methods: [] };
    return { exists: true, methods: methodsFor(eligible) };
  }

  /**
   * GDPR Art. 17: destroys PII, keeps ir and links. Refused while an ACTIVE record is linked.
   * `viewerDuid` is the Data User asking: the refusal names only its own access keys and
   * counts those of other organisations (records linked through re-identification), whose keys
   * it must never see. null = a register operator, who is shown every key.
   */
  async anonymise(actor: string, row: IdentityRow, viewerDuid: string | null): Promise<string> {
    return this.reg.tx(async () => {
      const fresh = (await this.find(row.ir))!;
      if (fresh.anonymisedAt) throw conflict(`Identity record ${row.ir} is already anonymised`);
      const nowIso = this.reg.clock.iso();
      const { accessRecords, identityRecords, passkeyCredentials } = this.reg.store.tables;
      const linkedActive = (
        await this.reg.db
          .select({ ak: accessRecords.ak, duid: accessRecords.duid, expiresAt: accessRecords.expiresAt })
          .from(accessRecords)
          .where(and(eq(accessRecords.ir, row.ir), eq(accessRecords.state, 'ACTIVE')))
      ).filter((r) => !r.expiresAt || r.expiresAt > nowIso);
      if (linkedActive.length > 0) {
        const shown = viewerDuid === null ? linkedActive : linkedActive.filter((r) => r.duid === viewerDuid);
        const hidden = linkedActive.length - shown.length;
        const keys =
          shown
            .slice(0, 5)
            .map((r) => r.ak)
            .join(', ') + (shown.length > 5 ? ', …' : '');
        const parts = [...(shown.length ? [viewerDuid === null ? keys : `yours: ${keys}`] : []), ...(hidden ? [`${hidden} held by other organisations, who must revoke them or let them expire`] : [])];
        throw conflict(`Identity record ${row.ir} has ${linkedActive.length} linked ACTIVE access record(s) (${parts.join('; ')}); revoke them or let them expire before anonymising`);
      }
      await this.reg.db.update(identityRecords).set({ mpxn: null, moveInDate: null, address: null, principalVerification: null, emailHash: null, emailEnc: null, anonymisedAt: nowIso }).where(eq(identityRecords.ir, row.ir));
      await this.reg.db
        .update(passkeyCredentials)
        .set({ removedAt: nowIso, publicKey: Buffer.alloc(0) })
        .where(and(eq(passkeyCredentials.ir, row.ir), isNull(passkeyCredentials.removedAt)));
      await this.reg.audit.append({ actor, eventType: 'identity-record.anonymised', ir: row.ir });
      return nowIso;
    });
  }

  async removeCredential(actor: string, ir: string, credentialId: string): Promise<void> {
    await this.reg.tx(async () => {
      const { passkeyCredentials } = this.reg.store.tables;
      const [cred] = await this.reg.db
        .select()
        .from(passkeyCredentials)
        .where(and(eq(passkeyCredentials.credentialId, credentialId), eq(passkeyCredentials.ir, ir), isNull(passkeyCredentials.removedAt)))
        .limit(ONE_ROW);
      if (!cred) throw notFound(`Credential ${credentialId}`);
      await this.reg.db.update(passkeyCredentials).set({ removedAt: this.reg.clock.iso() }).where(eq(passkeyCredentials.seq, cred.seq));
      await this.reg.audit.append({ actor, eventType: 'identity-record.credential-removed', ir, subject: credentialId });
    });
  }

  /** Linked access-record counts, for admin listings. */
  async linkedCounts(irs: string[]): Promise<Map<string, number>> {
    if (irs.length === 0) return new Map();
    const { accessRecords } = this.reg.store.tables;
    const rows = await this.reg.db
      .select({ ir: accessRecords.ir, n: sql<number>`count(*)` })
      .from(accessRecords)
      .where(inArray(accessRecords.ir, irs))
      .groupBy(accessRecords.ir);
    return new Map(rows.map((r) => [r.ir!, r.n]));
  }
}

/** The methods a record's factors allow (passkey-register never on its own). */
export function methodsFor(f: { hasEmail: boolean; hasPasskey: boolean }): TokenMethod[] {
  const methods: TokenMethod[] = [];
  if (f.hasPasskey) methods.push('passkey-assert');
  if (f.hasEmail) methods.push('magic-link');
  if (methods.length) methods.push('passkey-register');
  return methods;
}
