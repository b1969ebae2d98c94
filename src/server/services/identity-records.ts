import { and, desc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { newestFirstPage } from '../lib/paging.js';
import type { Register } from '../context.js';
import { accessRecords, identityRecords, passkeyCredentials } from '../db/schema.js';
import { apiTime } from '../lib/clock.js';
import { encrypt, decrypt, hmacHex } from '../lib/crypto.js';
import { conflict, notFound } from '../lib/errors.js';
import { newId, newSecret } from '../lib/ids.js';
import type { CreateIdentityRecordBody, IdentityRecord } from '../schemas/identity-record.js';

export type IdentityRow = typeof identityRecords.$inferSelect;
export type CredentialRow = typeof passkeyCredentials.$inferSelect;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** `customer@example.com` → `c*****r@example.com` (what a caller may be shown). */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const masked = local.length <= 2 ? `${local[0] ?? ''}*` : `${local[0]}${'*'.repeat(Math.max(3, local.length - 2))}${local[local.length - 1]}`;
  return `${masked}@${domain}`;
}

export class IdentityRecords {
  private readonly byIr;
  private readonly activeCredentials;
  private readonly newestByMpxn;
  private readonly methodsByMpxn;
  private readonly ownersByIr;

  constructor(private readonly reg: Register) {
    // Prepared once (issue 7): the exists check and cross-Data-User flows run this per request.
    this.newestByMpxn = reg.db
      .select()
      .from(identityRecords)
      .where(and(eq(identityRecords.mpxn, sql.placeholder('mpxn')), isNull(identityRecords.anonymisedAt)))
      .orderBy(desc(identityRecords.seq))
      .limit(1)
      .prepare();
    // The exists check (issue 7): only what available-methods needs, in one statement, rather
    // than the whole newest row (PII columns included) and then its credentials.
    this.methodsByMpxn = reg.sqlite.prepare<[string], { hasEmail: number; hasPasskey: number }>(
      `select i.email_hash is not null as hasEmail,
              exists (select 1 from passkey_credentials c where c.ir = i.ir and c.removed_at is null) as hasPasskey
         from identity_records i where i.mpxn = ? and i.anonymised_at is null order by i.seq desc limit 1`,
    );
    this.ownersByIr = reg.sqlite.prepare<[string], { ir: string; duid: string }>('select ir, duid from identity_records where ir in (select value from json_each(?))');
    this.byIr = reg.db.select().from(identityRecords).where(eq(identityRecords.ir, sql.placeholder('ir'))).prepare();
    this.activeCredentials = reg.db
      .select()
      .from(passkeyCredentials)
      .where(and(eq(passkeyCredentials.ir, sql.placeholder('ir')), isNull(passkeyCredentials.removedAt)))
      .orderBy(passkeyCredentials.seq)
      .prepare();
  }

  emailHash(email: string): string {
    return hmacHex(this.reg.keys.emailHmacKey, normaliseEmail(email));
  }

  find(ir: string): IdentityRow | undefined {
    return this.byIr.get({ ir });
  }

  /** ir → owning duid for a page of records, in one query (GET /records showed an N+1 here). */
  ownersOf(irs: string[]): Map<string, string> {
    if (irs.length === 0) return new Map();
    return new Map(this.ownersByIr.all(JSON.stringify(irs)).map((r) => [r.ir, r.duid]));
  }

  /** The caller's own record, or 404 without revealing whether another Data User's exists. */
  getOwned(duid: string, ir: string): IdentityRow {
    const row = this.find(ir);
    if (!row || row.duid !== duid) throw notFound(`Identity record ${ir}`);
    return row;
  }

  credentials(ir: string): CredentialRow[] {
    return this.activeCredentials.all({ ir });
  }

  /** The stored address, decrypted, for sending a magic link. Never returned by the API. */
  email(row: IdentityRow): string | null {
    return row.emailEnc ? decrypt(this.reg.keys.encryptionKey, row.emailEnc) : null;
  }

  toApi(row: IdentityRow): IdentityRecord {
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
      credentials: this.credentials(row.ir).map((c) => ({ 'credential-id': c.credentialId, 'registered-at': apiTime(c.registeredAt)!, transports: c.transports })),
      'anonymised-at': apiTime(row.anonymisedAt),
    };
  }

  create(actor: string, duid: string, body: CreateIdentityRecordBody): IdentityRow {
    const ir = newId('ir');
    const now = this.reg.clock.iso();
    const email = body.email ? normaliseEmail(body.email) : null;
    const pii = body['pii-principal'];
    this.reg.db
      .insert(identityRecords)
      .values({
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
      })
      .run();
    this.reg.audit.append({ actor, eventType: 'identity-record.created', ir, detail: { 'has-email': email !== null } });
    return this.find(ir)!;
  }

  /** The caller's records matching mpxn and/or email (AND). */
  search(duid: string | null, q: { mpxn?: string; email?: string }, limit = 500, cursor?: number): { rows: IdentityRow[]; total: number; nextCursor: string | null } {
    const filters: SQL[] = [];
    if (duid) filters.push(eq(identityRecords.duid, duid));
    if (q.mpxn) filters.push(eq(identityRecords.mpxn, q.mpxn));
    if (q.email) filters.push(eq(identityRecords.emailHash, this.emailHash(q.email)));
    return newestFirstPage(this.reg.db, identityRecords, filters, { limit, cursor });
  }

  /** The newest non-anonymised record for an MPxN, across all Data Users (cross-DU flows). */
  newestForMpxn(mpxn: string): IdentityRow | undefined {
    return this.newestByMpxn.get({ mpxn });
  }

  /** available-methods for an MPxN: passkey-assert if any credential, magic-link if an e-mail, passkey-register always. */
  availableMethods(mpxn: string): { exists: boolean; methods: string[] } {
    const newest = this.methodsByMpxn.get(mpxn);
    if (!newest) return { exists: false, methods: [] };
    const methods: string[] = [];
    if (newest.hasPasskey) methods.push('passkey-assert');
    if (newest.hasEmail) methods.push('magic-link');
    methods.push('passkey-register');
    return { exists: true, methods };
  }

  /** GDPR Art. 17: destroys PII, keeps ir and links. Refused while an ACTIVE record is linked. */
  anonymise(actor: string, row: IdentityRow): string {
    return this.reg.tx(() => {
      const fresh = this.find(row.ir)!;
      if (fresh.anonymisedAt) throw conflict(`Identity record ${row.ir} is already anonymised`);
      const nowIso = this.reg.clock.iso();
      const linkedActive = this.reg.db
        .select({ ak: accessRecords.ak, expiresAt: accessRecords.expiresAt })
        .from(accessRecords)
        .where(and(eq(accessRecords.ir, row.ir), eq(accessRecords.state, 'ACTIVE')))
        .all()
        .filter((r) => !r.expiresAt || r.expiresAt > nowIso);
      if (linkedActive.length > 0) {
        throw conflict(
          `Identity record ${row.ir} has ${linkedActive.length} linked ACTIVE access record(s) (${linkedActive
            .slice(0, 5)
            .map((r) => r.ak)
            .join(', ')}${linkedActive.length > 5 ? ', …' : ''}); revoke them or let them expire before anonymising`,
        );
      }
      this.reg.db
        .update(identityRecords)
        .set({ mpxn: null, moveInDate: null, address: null, principalVerification: null, emailHash: null, emailEnc: null, anonymisedAt: nowIso })
        .where(eq(identityRecords.ir, row.ir))
        .run();
      this.reg.db
        .update(passkeyCredentials)
        .set({ removedAt: nowIso, publicKey: Buffer.alloc(0) })
        .where(and(eq(passkeyCredentials.ir, row.ir), isNull(passkeyCredentials.removedAt)))
        .run();
      this.reg.audit.append({ actor, eventType: 'identity-record.anonymised', ir: row.ir });
      return nowIso;
    });
  }

  removeCredential(actor: string, ir: string, credentialId: string): void {
    this.reg.tx(() => {
      const cred = this.reg.db
        .select()
        .from(passkeyCredentials)
        .where(and(eq(passkeyCredentials.credentialId, credentialId), eq(passkeyCredentials.ir, ir), isNull(passkeyCredentials.removedAt)))
        .get();
      if (!cred) throw notFound(`Credential ${credentialId}`);
      this.reg.db.update(passkeyCredentials).set({ removedAt: this.reg.clock.iso() }).where(eq(passkeyCredentials.seq, cred.seq)).run();
      this.reg.audit.append({ actor, eventType: 'identity-record.credential-removed', ir, subject: credentialId });
    });
  }

  /** Linked access-record counts, for admin listings. */
  linkedCounts(irs: string[]): Map<string, number> {
    if (irs.length === 0) return new Map();
    const rows = this.reg.db
      .select({ ir: accessRecords.ir, n: sql<number>`count(*)` })
      .from(accessRecords)
      .where(inArray(accessRecords.ir, irs))
      .groupBy(accessRecords.ir)
      .all();
    return new Map(rows.map((r) => [r.ir!, r.n]));
  }
}
