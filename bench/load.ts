/**
 * Bulk loader for the benchmark: writes a realistic, register-valid data set straight into
 * a fresh data folder's SQLite file, or into a freshly migrated PostgreSQL database
 * (bench/pg-load.ts: the same rows, written with COPY), before the register is started on it.
 *
 * - Opens the database with the register's own `openDatabase` (same schema, same migrations)
 *   and the key file with `loadOrCreateKeys`, so everything the register derives from its
 *   keys (e-mail HMAC + AES copy, audit-chain HMAC) is valid for the register that starts next.
 * - Rows are written with prepared statements in large transactions; `synchronous` is relaxed
 *   on the loader's own connection only (the register reopens it with its own durability rules).
 * - Access-record bodies have exactly the shape `AccessRecords.columns()` stores, audit events
 *   are hash-chained exactly like `AuditLog.append`, and the chain is verified after loading.
 * - Accounts the benchmark logs in with get their own scrypt hash (`hashSecret`); the other
 *   synthetic Data Users share one scrypt hash of a random secret nobody uses.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { GroupCommit } from '../src/server/db/group-commit.js';
import { openDatabase } from '../src/server/db/open.js';
import { SqliteStore } from '../src/server/db/sqlite-store.js';
import * as schema from '../src/server/db/schema.js';
import { defaultConfig } from '../src/server/config.js';
import { encrypt, hashSecret, hmacHex } from '../src/server/lib/crypto.js';
import { loadKeys, loadOrCreateKeys, type RegisterKeys } from '../src/server/lib/keys.js';
import { Clock } from '../src/server/lib/clock.js';
import { AuditLog } from '../src/server/services/audit.js';
import { openPostgresSink } from './pg-load.js';
import { Progress } from './progress.js';

export interface LoadOptions {
  /** SQLite: the data folder (register.sqlite, register.keys.json). PostgreSQL: unused by the loader. */
  dataDir: string;
  /**
   * Load into this PostgreSQL database instead (postgres://…): migrated and empty
   * (bench/pg-load.ts `resetBenchDatabase`), with `keysFile` the key file its nodes start with.
   */
  db?: string;
  keysFile?: string;
  /** Access records (kind 'record'); DISCOVERED rows come on top (~2 %). */
  records: number;
  dataUsers: number;
  /** Meter points that carry `hotSize` records each (a block of flats, a landlord's portfolio). */
  hotMeterPoints: number;
  hotSize: number;
  seed?: number;
  /** Verify the audit chain after loading (costs ~1 s per 200 k events). */
  verifyAudit?: boolean;
}

export interface LoginAccount {
  accountId: string;
  secret: string;
  duid: string;
  role: string;
}

export interface Fixture {
  counts: Record<string, number>;
  loadSeconds: number;
  /** Data User the benchmark acts as (owns ~records/dataUsers records, one on every hot MPxN). */
  du: LoginAccount;
  /** A second Data User, for cross-Data-User checks. */
  du2: LoginAccount;
  portal: LoginAccount;
  admin: LoginAccount;
  /** Random existing access keys (any owner, any state, some DISCOVERED). */
  sampleAks: string[];
  /** MPxNs where `du` holds a record and that carry a normal number (1–6) of records. */
  normalMpxns: string[];
  /** Hot MPxNs (hundreds of records each) where `du` holds a record. */
  hotMpxns: string[];
  /** MPxNs for the exists check: half exist, half do not. */
  existsMpxns: string[];
  /** `du`'s own identity records (for POST /access-records). */
  ownIrs: string[];
  /** Re-identification tokens initiated by `du` (cross-Data-User flow). */
  tokenRefs: string[];
  /** Highest access_records.seq owned by `du`, for random /records cursors. */
  duSeqs: number[];
}

const LEGAL_BASES = ['uk-consent', 'uk-consent', 'uk-consent', 'uk-consent', 'uk-consent', 'uk-consent', 'uk-explicit-consent', 'uk-legitimate-interests', 'uk-public-task', 'uk-contract', 'uk-legal-obligation'];
const DATA_TYPES = ['HH-CONSUMPTION', 'HH-EXPORT', 'MTH-CONSUMPTION', 'MTH-EXPORT', 'ANNUAL-CONSUMPTION', 'ANNUAL-EXPORT', 'TARIFF-IMPORT', 'TARIFF-EXPORT'];
const PURPOSES = [
  'Half-hourly tariff optimisation and export payments',
  'Personalised energy-saving insights in a mobile app',
  'Distribution network planning and fault management',
  'Monthly carbon footprint report',
  'Heat-pump sizing and performance monitoring',
  'Time-of-use tariff eligibility check',
  'Fuel-poverty support scheme eligibility',
];
const STREETS = ['Harbour View', 'Mill Lane', 'Station Road', 'Church Street', 'Victoria Terrace', 'Queens Avenue', 'Park Road'];
const TOWNS: [string, string][] = [
  ['Bristol', 'BS1 6XN'],
  ['Leeds', 'LS2 7EW'],
  ['Cardiff', 'CF10 1EP'],
  ['Glasgow', 'G1 1XQ'],
  ['Norwich', 'NR2 1TF'],
  ['York', 'YO1 7HH'],
];

/** mulberry32: a small deterministic PRNG so every run builds the same shape of data. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const hex = (len: number) => {
    let s = '';
    while (s.length < len) s += (int(0x100000000) >>> 0).toString(16).padStart(8, '0');
    return s.slice(0, len);
  };
  return { next, int, hex, pick: <T>(xs: readonly T[]) => xs[int(xs.length)] };
}

function sample<T>(xs: T[], n: number, rnd: ReturnType<typeof prng>): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[rnd.int(xs.length)]);
  return out;
}

/**
 * Where the loader's rows go. Each row is the column values in the order of the SQLite
 * statement in `openSqliteSink` (the constant columns are the sink's); both sinks write the
 * same rows, PostgreSQL giving each table's `seq` explicitly in insertion order, as SQLite's
 * AUTOINCREMENT hands them out in an empty table.
 */
export interface LoadSink {
  /** (key, value, updated_at); replaces an existing row. */
  setting(row: [string, string, string]): void;
  /** audit_events (seq, link_seq, at, actor, event_type, ak, ir, subject, detail, prev_hash, hash) */
  audit(row: unknown[]): void;
  account(row: unknown[]): void;
  identity(row: unknown[]): void;
  credential(row: unknown[]): void;
  /** Returns the record's seq. */
  record(row: unknown[]): number;
  discovered(row: unknown[]): void;
  token(row: unknown[]): void;
  /** Runs `fn` (synchronous: it calls the row methods) as one transaction's worth of rows. */
  batch(fn: () => void): Promise<void>;
  /** Verifies the audit chain with the register's own verifier. */
  verifyAudit(keys: RegisterKeys): Promise<{ intact: boolean }>;
  /** Builds what the engine derives from the rows (indexes, counts, statistics) and closes. */
  finish(): Promise<void>;
}

/** The data folder's SQLite file, through the register's own `openDatabase` (its migrations). */
function openSqliteSink(dataDir: string): LoadSink {
  const { sqlite } = openDatabase(join(dataDir, 'register.sqlite'), defaultConfig().migrationsFolder);
  // The loader's own connection only: the register reopens the file with its own durability rules.
  sqlite.pragma('synchronous = OFF');
  sqlite.pragma('cache_size = -1000000'); // 1 GB page cache: random-key index inserts stay in memory
  const run = (st: Database.Statement) => (row: unknown[]) => void st.run(...row);
  const insAudit = sqlite.prepare('insert into audit_events (seq, link_seq, at, actor, event_type, ak, ir, subject, detail, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insSetting = sqlite.prepare('insert or replace into settings (key, value, updated_at) values (?, ?, ?)');
  const insAccount = sqlite.prepare(
    `insert into accounts (account_id, secret_hash, duid, display_name, role, status, contact_url, organisation_reference,
       data_types_supported, return_urls, registered_at, updated_at) values (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)`,
  );
  const insIr = sqlite.prepare(
    `insert into identity_records (ir, duid, mpxn, move_in_date, address, expressed_by, principal_verification, email_hash, email_enc, webauthn_user_id, created_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insCred = sqlite.prepare(`insert into passkey_credentials (credential_id, ir, webauthn_id, public_key, counter, transports, device_type, backed_up, registered_at) values (?, ?, ?, ?, 0, ?, 'multiDevice', 1, ?)`);
  const insRecord = sqlite.prepare(
    `insert into access_records (ak, kind, duid, ir, mpxn, state, legal_basis, arrangement_type, lead_controller_name, controller_count, purpose, data_types,
       expiry, expires_at, registered_at, body, record_metadata, created_at, updated_at, revoked_at, revoke_reason, revoked_by, expired_at, activated_at)
     values (?, 'record', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insDiscovered = sqlite.prepare(
    `insert into access_records (ak, kind, mpxn, state, data_types, controller_count, created_at, updated_at, organisation_name, organisation_reference, first_seen, last_seen, source_reference)
     values (?, 'discovered', ?, 'DISCOVERED', ?, 0, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insToken = sqlite.prepare(
    `insert into reid_tokens (token_ref, method, flow, ir, mpxn, initiator_account_id, initiator_duid, status, created_at, ceremony_expires_at, usable_until, confirmed_at)
     values (?, ?, 'mpxn', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return {
    setting: run(insSetting),
    audit: run(insAudit),
    account: run(insAccount),
    identity: run(insIr),
    credential: run(insCred),
    record: (row) => Number(insRecord.run(...row).lastInsertRowid),
    discovered: run(insDiscovered),
    token: run(insToken),
    batch: (fn) => {
      sqlite.transaction(fn)();
      return Promise.resolve();
    },
    verifyAudit: (keys) => new AuditLog(new SqliteStore(drizzle(sqlite, { schema }), () => new GroupCommit(sqlite, null)), keys.signingKey, new Clock()).verify(),
    finish: () => {
      // The triggers only queued the records for the admin search (services/search-index.ts): index
      // them all at once, as a register that had indexed them as they came would have them.
      sqlite.exec("INSERT INTO access_records_search (access_records_search) VALUES ('rebuild'); DELETE FROM access_records_search_queue;");
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
      sqlite.close();
      return Promise.resolve();
    },
  };
}

export async function bulkLoad(opts: LoadOptions): Promise<Fixture> {
  const started = Date.now();
  const rnd = prng(opts.seed ?? 20260324);
  const id = (prefix: string) => `${prefix}_${rnd.hex(24)}`;
  if (opts.db && !opts.keysFile) throw new Error('loading PostgreSQL needs the key file its nodes start with (keysFile)');
  const keys = opts.db ? loadKeys(opts.keysFile!) : loadOrCreateKeys(join(opts.dataDir, 'register.keys.json'));
  const sink = opts.db ? await openPostgresSink(opts.db) : openSqliteSink(opts.dataDir);

  const now = Date.now();
  const DAY = 86_400_000;
  const span = 3 * 365 * DAY;
  // Loaded history runs from 3 years ago to 1 day ago, in seq order (so audit time is monotonic).
  const totalRows = opts.records + Math.ceil(opts.records * 0.02);
  let tick = 0;
  const at = () => new Date(now - DAY - span + Math.floor((span * tick++) / (totalRows * 3 + 1000))).toISOString();

  // ---- audit chain, as registers wrote it before events were linked after commit ----
  let prevHash = '0'.repeat(64);
  // Written as a chain from before linking after commit (services/audit.ts): linked as written,
  // position = id (the table starts empty), and marked unanchored so the register's first link
  // run anchors its tip.
  sink.setting(['audit-anchor', 'unanchored', new Date(now).toISOString()]);
  let auditCount = 0;
  const audit = (when: string, actor: string, eventType: string, ak: string | null, ir: string | null, subject: string | null, detail: Record<string, unknown>) => {
    const hash = hmacHex(keys.signingKey, JSON.stringify([prevHash, when, actor, eventType, ak, ir, subject, detail]));
    sink.audit([auditCount + 1, auditCount + 1, when, actor, eventType, ak, ir, subject, JSON.stringify(detail), prevHash, hash]);
    prevHash = hash;
    auditCount++;
  };

  // ---- accounts ----
  const login = (accountId: string, role: string): LoginAccount => ({ accountId, role, secret: `${accountId}-secret-${rnd.hex(16)}`, duid: id('duid') });
  const du = login('bench_du_0', 'data_user');
  const du2 = login('bench_du_1', 'data_user');
  const portal = login('bench_portal', 'portal');
  const admin = login('bench_admin', 'admin');
  const loginHashes = new Map<string, string>();
  for (const a of [du, du2, portal, admin]) loginHashes.set(a.accountId, await hashSecret(a.secret));
  const sharedHash = await hashSecret(rnd.hex(32));
  const returnUrls = JSON.stringify(['http://localhost:5001/return', 'http://127.0.0.1:5001/return']);
  const dus: { accountId: string; duid: string; name: string; slug: string; orgRef: string }[] = [];
  const accountsAt = new Date(now - span - 30 * DAY).toISOString();
  await sink.batch(() => {
    for (let i = 0; i < opts.dataUsers; i++) {
      const a = i === 0 ? du : i === 1 ? du2 : { accountId: `bench_du_${i}`, duid: id('duid'), secret: '', role: 'data_user' };
      const name = `Bench Energy ${i} Ltd`;
      const slug = `bench-energy-${i}`;
      const orgRef = `SEC-OU-${String(10_000 + i).padStart(5, '0')}`;
      sink.account([a.accountId, loginHashes.get(a.accountId) ?? sharedHash, a.duid, name, 'data_user', `https://${slug}.example/contact`, orgRef, JSON.stringify(DATA_TYPES.slice(0, 4)), returnUrls, accountsAt, accountsAt]);
      audit(accountsAt, 'bench-loader', 'account.created', null, null, a.accountId, { role: 'data_user', duid: a.duid });
      dus.push({ accountId: a.accountId, duid: a.duid, name, slug, orgRef });
    }
    for (const a of [portal, admin]) {
      sink.account([a.accountId, loginHashes.get(a.accountId)!, a.duid, a.accountId, a.role, null, null, '[]', a.role === 'portal' ? returnUrls : '[]', accountsAt, accountsAt]);
      audit(accountsAt, 'bench-loader', 'account.created', null, null, a.accountId, { role: a.role, duid: a.duid });
    }
  });

  // ---- identity records, access records, DISCOVERED access, tokens ----
  const irs = new Map<string, string>(); // `${duIndex}:${mpxn}` → ir
  const duSeqs: number[] = [];
  const ownIrs: string[] = [];
  const normalMpxns: string[] = [];
  const allMpxns: string[] = [];
  const akSample: string[] = [];
  let irCount = 0;
  let credCount = 0;
  let recordCount = 0;
  let discoveredCount = 0;

  const identityFor = (d: number, mpxn: string): string => {
    const key = `${d}:${mpxn}`;
    let ir = irs.get(key);
    if (ir) return ir;
    ir = id('ir');
    const when = at();
    const [town, postcode] = rnd.pick(TOWNS);
    const withEmail = rnd.next() < 0.6;
    const email = withEmail ? `customer.${mpxn}@example.com` : null;
    sink.identity([
      ir,
      dus[d].duid,
      mpxn,
      new Date(now - span - rnd.int(3650) * DAY).toISOString().slice(0, 10),
      JSON.stringify({ addressLine1: `${1 + rnd.int(200)} ${rnd.pick(STREETS)}`, townCity: town, postcode }),
      rnd.next() < 0.95 ? 'data-subject' : 'authorised-representative',
      rnd.next() < 0.5 ? JSON.stringify({ method: 'bill-match', 'verified-at': `${when.slice(0, 19)}Z`, outcome: 'verified', reference: `VER-${rnd.hex(8)}` }) : null,
      email ? hmacHex(keys.emailHmacKey, email) : null,
      email ? encrypt(keys.encryptionKey, email) : null,
      Buffer.from(rnd.hex(32), 'hex').toString('base64url'),
      when,
    ]);
    audit(when, dus[d].accountId, 'identity-record.created', null, ir, null, { 'has-email': withEmail });
    if (rnd.next() < 0.02) {
      const credentialId = id('cred');
      sink.credential([credentialId, ir, Buffer.from(rnd.hex(32), 'hex').toString('base64url'), Buffer.from(rnd.hex(154), 'hex'), JSON.stringify(['internal', 'hybrid']), when]);
      credCount++;
    }
    irs.set(key, ir);
    irCount++;
    if (d === 0) ownIrs.push(ir);
    return ir;
  };

  const addRecord = (d: number, mpxn: string, historic: boolean) => {
    const ir = identityFor(d, mpxn);
    const a = dus[d];
    const ak = id('ak');
    const when = at();
    const basis = rnd.pick(LEGAL_BASES);
    const consent = basis === 'uk-consent' || basis === 'uk-explicit-consent';
    const joint = rnd.next() < 0.1;
    const controllers = joint
      ? [
          { name: a.name, role: 'lead', 'contact-url': `https://${a.slug}.example/contact`, 'privacy-rights-url': `https://${a.slug}.example/privacy` },
          { name: `Partner Analytics ${d} Ltd`, role: 'joint', 'contact-url': `https://partner-${d}.example/contact` },
        ]
      : [
          {
            name: a.name,
            role: 'sole',
            'contact-url': `https://${a.slug}.example/contact`,
            'privacy-rights-url': `https://${a.slug}.example/privacy`,
            'storage-conditions': { location: 'United Kingdom', 'retention-period': 'P2Y' },
          },
        ];
    const types = [...new Set([rnd.pick(DATA_TYPES), rnd.pick(DATA_TYPES)])];
    const purpose = rnd.pick(PURPOSES);
    const registeredAt = `${when.slice(0, 19)}Z`;
    // State mix: historic rows are REVOKED/EXPIRED; current ones mostly ACTIVE, some already past expiry.
    const r = rnd.next();
    let state = 'ACTIVE';
    let expiry: string | null = r < 0.3 ? null : new Date(now + (30 + rnd.int(700)) * DAY).toISOString().slice(0, 10);
    if (historic) state = r < 0.5 ? 'REVOKED' : 'EXPIRED';
    else if (r > 0.97) expiry = new Date(now - (1 + rnd.int(30)) * DAY).toISOString().slice(0, 10); // expired at read time
    if (state === 'EXPIRED') expiry = new Date(new Date(when).getTime() + (1 + rnd.int(300)) * DAY).toISOString().slice(0, 10);
    const expiresAt = expiry ? `${expiry}T23:59:59.999Z` : null;
    const body = {
      'record-metadata': {
        'schema-version': '1.0',
        'controller-arrangement': { 'arrangement-type': joint ? 'joint' : 'sole', controllers, 'art26-reference': joint ? `ART26-${rnd.hex(6).toUpperCase()}` : null },
      },
      notice: consent ? { 'shared-notice': { 'terms-url': `https://${a.slug}.example/smart-data-terms`, 'notice-version': '2.1', 'notice-language': 'en-GB' } } : null,
      processing: { 'legal-basis': basis, purpose, 'data-types': types },
      'access-event': {
        'registered-at': registeredAt,
        expiry,
        consent: consent ? { 'consent-type': basis === 'uk-explicit-consent' ? 'explicit-consent' : 'expressed-consent', method: 'online-form' } : null,
      },
    };
    const revokedAt = state === 'REVOKED' ? new Date(new Date(when).getTime() + rnd.int(200) * DAY).toISOString() : null;
    // Every fixture record was created ACTIVE (see its audit event); it gave access, and so the
    // right to list its meter point, unless its expiry had already passed (AccessRecords.create).
    const activated = expiresAt === null || expiresAt > when ? when : null;
    const seq = sink.record([
      ak,
      a.duid,
      ir,
      mpxn,
      state,
      basis,
      joint ? 'joint' : 'sole',
      a.name,
      controllers.length,
      purpose,
      JSON.stringify(types),
      expiry,
      expiresAt,
      registeredAt,
      JSON.stringify(body),
      // As AccessRecords stores it (recordColumns): the section's own text beside the body.
      JSON.stringify(body['record-metadata']),
      when,
      revokedAt ?? when,
      revokedAt,
      revokedAt ? 'contract-ended' : null,
      revokedAt ? a.accountId : null,
      state === 'EXPIRED' ? expiresAt : null,
      activated,
    ]);
    audit(when, a.accountId, 'access-record.created', ak, ir, null, { 'legal-basis': basis, state: 'ACTIVE', via: 'identity-record-ref' });
    if (revokedAt) audit(when, a.accountId, 'access-record.revoked', ak, ir, null, { reason: 'contract-ended' });
    if (d === 0) duSeqs.push(seq);
    if (akSample.length < 20_000 ? true : rnd.next() < 20_000 / (recordCount + 1)) {
      if (akSample.length < 20_000) akSample.push(ak);
      else akSample[rnd.int(akSample.length)] = ak;
    }
    recordCount++;
    return activated !== null;
  };

  const addDiscovered = (mpxn: string) => {
    const ak = id('ak');
    const when = at();
    const org = rnd.next() < 0.3 ? dus[rnd.int(dus.length)] : null;
    const orgRef = org ? org.orgRef : `SEC-OU-${String(rnd.int(9999)).padStart(5, '0')}`;
    sink.discovered([ak, mpxn, JSON.stringify([rnd.pick(DATA_TYPES)]), when, when, org ? org.name : `Unregistered Energy ${orgRef.slice(-4)} Ltd`, orgRef, `${when.slice(0, 19)}Z`, `${when.slice(0, 19)}Z`, `DCC-SR-${rnd.hex(10)}`]);
    audit(when, 'dcc_system', 'discovered-access.recorded', ak, null, null, { mpxn, 'organisation-reference': orgRef });
    if (akSample.length < 20_000) akSample.push(ak);
    discoveredCount++;
  };

  const mpxnOf = (i: number) => `23${String(i).padStart(11, '0')}`;
  const progress = new Progress(`load ${opts.records.toLocaleString('en-GB')}`, opts.records);
  const hotRecords = opts.hotMeterPoints * opts.hotSize;
  const hotMpxns = Array.from({ length: opts.hotMeterPoints }, (_, i) => `99${String(i).padStart(11, '0')}`);
  const BATCH = 20_000;
  let m = 0;
  const discoveredEvery = 50; // ~2 % DISCOVERED rows
  while (recordCount < opts.records) {
    await sink.batch(() => {
      const stop = Math.min(opts.records, recordCount + BATCH);
      // Hot meter points first, spread through the load (in the first batch), the bench DU on each.
      if (m === 0) {
        for (const mpxn of hotMpxns) {
          addRecord(0, mpxn, false);
          for (let k = 1; k < opts.hotSize && recordCount < hotRecords + opts.hotMeterPoints; k++) addRecord(rnd.int(dus.length), mpxn, rnd.next() < 0.2);
          allMpxns.push(mpxn);
          addDiscovered(mpxn);
        }
      }
      while (recordCount < stop) {
        const mpxn = mpxnOf(m++);
        allMpxns.push(mpxn);
        // 1–6 Data Users per meter point (mean ~2.6), distinct; 15 % also have an older, ended record.
        const k = Math.min(dus.length, 1 + Math.floor(-Math.log(1 - rnd.next() * 0.999) * 1.6));
        const chosen = new Set<number>();
        while (chosen.size < k) chosen.add(rnd.int(dus.length));
        for (const d of chosen) {
          if (recordCount >= stop) break;
          if (rnd.next() < 0.15 && recordCount + 1 < stop) addRecord(d, mpxn, true);
          const mayList = addRecord(d, mpxn, false);
          if (d === 0 && mayList && k <= 6 && normalMpxns.length < 5000) normalMpxns.push(mpxn);
        }
        if (m % discoveredEvery === 0) addDiscovered(mpxn);
      }
    });
    progress.update(recordCount);
  }
  progress.done();

  // Re-identification tokens: cross-Data-User flows initiated by the bench DU and by others.
  const tokenRefs: string[] = [];
  let tokenCount = 0;
  const tokensWanted = Math.max(500, Math.floor(opts.records / 100));
  await sink.batch(() => {
    const irList = [...irs.entries()];
    for (let i = 0; i < tokensWanted; i++) {
      const [key, ir] = irList[rnd.int(irList.length)];
      const mpxn = key.slice(key.indexOf(':') + 1);
      const mine = i % 5 === 0;
      const initiator = mine ? dus[0] : dus[1 + rnd.int(dus.length - 1)];
      const created = new Date(now - rnd.int(50) * 60_000);
      const confirmed = rnd.next() < 0.5;
      const ref = id('mlr');
      sink.token([
        ref,
        rnd.next() < 0.5 ? 'magic-link' : 'passkey-assert',
        ir,
        mpxn,
        initiator.accountId,
        initiator.duid,
        confirmed ? 'confirmed' : 'pending',
        created.toISOString(),
        new Date(created.getTime() + 15 * 60_000).toISOString(),
        new Date(created.getTime() + 60 * 60_000).toISOString(),
        confirmed ? new Date(created.getTime() + 60_000).toISOString() : null,
      ]);
      audit(created.toISOString(), initiator.accountId, 'reidentification.started', null, ir, ref, { method: 'magic-link', flow: 'mpxn' });
      if (mine) tokenRefs.push(ref);
      tokenCount++;
    }
  });

  if (opts.verifyAudit) {
    // The register's own verifier over the loaded chain: proves the loader hashes exactly as AuditLog does.
    const result = await sink.verifyAudit(keys);
    if (!result.intact) throw new Error(`bench loader built a broken audit chain: ${JSON.stringify(result)}`);
  }

  await sink.finish();

  const existing = sample(allMpxns, 2000, rnd);
  const missing = Array.from({ length: 2000 }, (_, i) => `88${String(i * 7919).padStart(11, '0')}`);
  return {
    counts: {
      accounts: opts.dataUsers + 2,
      'data-users': opts.dataUsers,
      'meter-points': allMpxns.length,
      'identity-records': irCount,
      'passkey-credentials': credCount,
      'access-records': recordCount,
      discovered: discoveredCount,
      'reid-tokens': tokenCount,
      'audit-events': auditCount,
      'bench-du-records': duSeqs.length,
    },
    loadSeconds: (Date.now() - started) / 1000,
    du,
    du2,
    portal,
    admin,
    sampleAks: akSample,
    normalMpxns,
    hotMpxns,
    existsMpxns: existing.flatMap((x, i) => [x, missing[i]]),
    ownIrs: sample(ownIrs, 5000, rnd),
    tokenRefs,
    duSeqs,
  };
}
