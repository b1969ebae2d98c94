import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/server/db/open.js';
import { DbProbe } from './support/db-probe.js';
import { canonicalInstant, canonicalMpxn, canonicalPostcode, mpanCheckDigitOk } from '../src/shared/values.js';
import { Customer } from './support/customer.js';
import { publishedIdentityBody } from './support/published.js';
import { consentBody, registerWithSmtpSink, testRegister, type TestRegister } from './support/register.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';
import { decodeQuotedPrintable, type SmtpSink } from './support/smtp-sink.js';
import { tempDir } from './support/temp-files.js';

const messages = (res: { body: { errors?: { message: string; 'error-code': string }[] } }) => (res.body.errors ?? []).map((e) => e.message).join('\n');
const codes = (res: { body: { errors?: { 'error-code': string }[] } }) => [...new Set((res.body.errors ?? []).map((e) => e['error-code']))];

/** Values that name no real instant: a leap second, an hour-only offset, 30 February. */
const NOT_INSTANTS = ['2016-12-31T23:59:60Z', '2026-03-24T10:00:00+01', '2026-02-30T10:00:00Z'];

const VALID_MPAN = '1800000001003'; // check digit 3 is right
const WRONG_MPAN = '1800000001004';

describe('canonical values: the parsers (src/shared/values.ts)', () => {
  it('instants: offsets, lowercase, space, fractions → one UTC form; no instant → null', () => {
    expect(canonicalInstant('2026-03-24T10:00:00+01:00')).toBe('2026-03-24T09:00:00Z');
    expect(canonicalInstant('2026-03-24t09:00:00z')).toBe('2026-03-24T09:00:00Z');
    expect(canonicalInstant('2026-03-24 09:00:00.987654Z')).toBe('2026-03-24T09:00:00Z');
    expect(canonicalInstant('2026-03-24T09:00:00-05:00')).toBe('2026-03-24T14:00:00Z');
    expect(canonicalInstant('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00Z');
    for (const bad of [...NOT_INSTANTS, '2025-02-29T00:00:00Z', '2026-03-24T24:00:00Z', '2026-03-24T09:00:00', '2026-03-24', 'soon']) expect(canonicalInstant(bad), bad).toBeNull();
  });

  it('postcodes, MPxNs and the MPAN check digit', () => {
    for (const p of ['sw1a 1aa', ' SW1A  1AA ', 'SW1A1AA']) expect(canonicalPostcode(p)).toBe('SW1A 1AA');
    expect(canonicalPostcode('m11ae')).toBe('M1 1AE');
    expect(canonicalPostcode('SW1A 1A')).toBeNull();
    expect(canonicalMpxn('18 0000 0001 003')).toBe(VALID_MPAN);
    expect(canonicalMpxn('1800-0000-0100-3')).toBe(VALID_MPAN);
    expect(canonicalMpxn('S 01 801 123 1800000001003')).toBe(VALID_MPAN);
    expect(canonicalMpxn('018011231800000001003')).toBe(VALID_MPAN);
    expect(canonicalMpxn('ab12345678')).toBe('AB12345678');
    expect(canonicalMpxn('12345')).toBeNull();
    expect(mpanCheckDigitOk(VALID_MPAN)).toBe(true);
    expect(mpanCheckDigitOk(WRONG_MPAN)).toBe(false);
    expect(mpanCheckDigitOk('2312345678901')).toBe(false); // the demo / published example
    expect(mpanCheckDigitOk('1029384756')).toBe(true); // an MPRN has no MPAN check digit
  });
});

describe('timestamps in both directions (contract §1)', () => {
  let r: TestRegister;
  let ir: string;
  const MPXN = '1029384756';
  beforeAll(async () => {
    r = await testRegister();
    const res = await r.call('octopusflux', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: MPXN, 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' });
    ir = res.body.ir;
  });
  afterAll(() => r.close());

  const create = (event: Record<string, unknown>) => {
    const body = consentBody(ir);
    Object.assign(body['access-event'], event);
    return r.call('octopusflux', 'POST', '/v1/access-records', body);
  };

  it('stores and returns every accepted date-time in one UTC form; a date-only expiry means 00:00:00Z', async () => {
    const cases: [Record<string, unknown>, string, string | null][] = [
      [{ 'registered-at': '2026-03-24T10:00:00+01:00', expiry: '2027-03-24t10:00:00.250z' }, '2026-03-24T09:00:00Z', '2027-03-24T10:00:00Z'],
      [{ 'registered-at': '2026-03-24 09:00:00Z', expiry: '2027-03-24T09:00:00-05:00' }, '2026-03-24T09:00:00Z', '2027-03-24T14:00:00Z'],
      [{ 'registered-at': '2026-03-24T09:00:00.5Z', expiry: '2027-03-24' }, '2026-03-24T09:00:00Z', '2027-03-24T00:00:00Z'],
    ];
    for (const [event, registeredAt, expiry] of cases) {
      const res = await create(event);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body['access-token'].expiry).toBe(expiry);
      const ak = res.body['access-token'].key;
      const rec = (await r.call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record'];
      expect(rec['access-event']).toMatchObject({ 'registered-at': registeredAt, expiry });
      const listed = (await r.call('octopusflux', 'GET', `/v1/meter-points/${MPXN}/access-records`)).body['access-records'].find((s: any) => s.ak === ak);
      expect(listed.expiry).toBe(expiry);
      const row = (await r.probe.record(ak))!;
      expect(row).toMatchObject({ registeredAt, expiry, expiresAt: `${expiry!.slice(0, 19)}.000Z` });
    }
  });

  it('a date-time that names no real instant is 400 VAL001 naming the field, never 500', async () => {
    for (const bad of NOT_INSTANTS) {
      const reg = await create({ 'registered-at': bad });
      expect(reg.status, bad).toBe(400);
      expect(codes(reg)).toEqual(['VAL001']);
      expect(messages(reg)).toContain('"access-event.registered-at"');
      expect(reg.body.errors).toHaveLength(1);
      const exp = await create({ expiry: bad });
      expect(exp.status, bad).toBe(400);
      expect(messages(exp)).toContain('"access-event.expiry"');
      const verified = await r.call('octopusflux', 'POST', '/v1/identity-records', {
        'pii-principal': { mpxn: MPXN, 'move-in-date': '2021-01-01' },
        'expressed-by': 'data-subject',
        'principal-verification': { method: 'credit-card', 'verified-at': bad, outcome: 'verified' },
      });
      expect(verified.status, bad).toBe(400);
      expect(messages(verified)).toContain('"principal-verification.verified-at"');
      for (const field of ['first-seen', 'last-seen']) {
        const dcc = await r.call('dcc_system', 'POST', '/v1/discovered-access', {
          mpxn: MPXN,
          'organisation-name': 'Acme',
          'organisation-reference': 'SEC-OU-00001',
          'first-seen': '2026-03-01',
          'data-types-observed': ['HH-CONSUMPTION'],
          'source-reference': 'DCC-1',
          [field]: bad,
        });
        expect(dcc.status, `${field} ${bad}`).toBe(400);
        expect(messages(dcc)).toContain(`"${field}"`);
      }
    }
    const cot = await r.call('dcc_system', 'POST', '/v1/cot-events', { mpxn: MPXN, 'effective-date': '2026-02-30', 'source-reference': 'COT-X' });
    expect(cot.status).toBe(400);
    expect(messages(cot)).toContain('"effective-date"');
  });

  it('principal-verification.verified-at is stored and returned in canonical form', async () => {
    const res = await r.call('octopusflux', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn: MPXN, 'move-in-date': '2021-01-01' },
      'expressed-by': 'data-subject',
      'principal-verification': { method: 'credit-card', 'verified-at': '2023-11-07 06:30:45.123+01:00', outcome: 'verified' },
    });
    expect(res.status).toBe(201);
    const got = await r.call('octopusflux', 'GET', `/v1/identity-records/${res.body.ir}`);
    expect(got.body['identity-record']['principal-verification']['verified-at']).toBe('2023-11-07T05:30:45Z');
  });

  it('a registered-at more than 5 minutes ahead of the register clock is 400; within 5 minutes is accepted', async () => {
    const ahead = (ms: number) => new Date(r.reg.clock.now().getTime() + ms).toISOString();
    const future = await create({ 'registered-at': ahead(10 * 60_000) });
    expect(future.status).toBe(400);
    expect(messages(future)).toMatch(/access-event\.registered-at .* is in the future/);
    const consent2031 = await create({ 'registered-at': '2031-01-01T00:00:00Z' });
    expect(consent2031.status).toBe(400);
    expect((await create({ 'registered-at': ahead(4 * 60_000) })).status).toBe(201);
  });

  it('the register clock decides "future": a sandbox clock moved forward accepts what is ahead of real time', async () => {
    const s = await testRegister();
    try {
      const made = await s.call('octopusflux', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: MPXN, 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' });
      const body = consentBody(made.body.ir);
      body['access-event']['registered-at'] = new Date(Date.now() + 24 * 3600_000).toISOString();
      expect((await s.call('octopusflux', 'POST', '/v1/access-records', body)).status).toBe(400);
      expect((await s.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 2 * 24 * 3600 })).status).toBe(200);
      expect((await s.call('octopusflux', 'POST', '/v1/access-records', body)).status).toBe(201);
    } finally {
      await s.close();
    }
  });

  it('DCC reports compare instants: a later last-seen written with another offset replaces an earlier one', async () => {
    const report = (extra: Record<string, unknown>) =>
      r.call('dcc_system', 'POST', '/v1/discovered-access', {
        mpxn: MPXN,
        'organisation-name': 'Offset Ltd',
        'organisation-reference': 'SEC-OU-00777',
        'first-seen': '2026-03-01',
        'data-types-observed': ['HH-CONSUMPTION'],
        'source-reference': 'DCC-7',
        ...extra,
      });
    const first = await report({ 'last-seen': '2026-03-24T12:00:00Z' });
    expect(first.status).toBe(201);
    const ak = first.body.ak;
    expect((await report({ 'last-seen': '2026-03-24T09:00:00-05:00' })).status).toBe(200); // 14:00Z, later
    const row = async () => (await r.probe.record(ak))!;
    expect((await row()).lastSeen).toBe('2026-03-24T14:00:00Z');
    // Across midnight UTC: 20:00-05:00 on the 24th is 01:00Z on the 25th.
    expect((await report({ 'last-seen': '2026-03-24T20:00:00-05:00' })).status).toBe(200);
    // An older report never moves it back, whatever its spelling.
    expect((await report({ 'last-seen': '2026-03-24t23:59:00z' })).status).toBe(200);
    expect((await row()).lastSeen).toBe('2026-03-25T01:00:00Z');
    // Returned as dates, as published.
    const d = (await r.call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record']['discovered-access'];
    expect(d).toMatchObject({ 'first-seen': '2026-03-01', 'last-seen': '2026-03-25' });
    const listed = (await r.call('octopusflux', 'GET', `/v1/meter-points/${MPXN}/access-records?state=DISCOVERED`)).body['access-records'];
    for (const s of listed) {
      expect(s['discovered-access']['first-seen']).toMatch(/^\d{4}-\d\d-\d\d$/);
      expect(s['discovered-access']['last-seen']).toMatch(/^\d{4}-\d\d-\d\d$/);
    }
  });

  it('DISCOVERED access written in lowercase (2025-01-01t10:00:00z) expires after 180 days unseen', async () => {
    const res = await r.call('dcc_system', 'POST', '/v1/discovered-access', {
      mpxn: MPXN,
      'organisation-name': 'Lowercase Ltd',
      'organisation-reference': 'SEC-OU-00888',
      'first-seen': '2025-01-01t10:00:00z',
      'data-types-observed': ['HH-CONSUMPTION'],
      'source-reference': 'DCC-8',
    });
    expect(res.status).toBe(201);
    await r.svc.sweeper.run();
    const rec = (await r.call(null, 'GET', `/v1/access-records/${res.body.ak}`)).body['access-record'];
    expect(rec['access-event'].state).toBe('EXPIRED');
    expect(rec['discovered-access']).toMatchObject({ 'first-seen': '2025-01-01', 'last-seen': '2025-01-01' });
  });
});

describe('postcodes and MPxNs typed by people', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const createIr = (mpxn: string, postcode?: string) =>
    r.call('bright_energy', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn, 'move-in-date': '2022-06-30', ...(postcode !== undefined ? { address: { addressLine1: '1 High Street', townCity: 'London', postcode } } : {}) },
      'expressed-by': 'data-subject',
    });

  it('postcodes are stored upper-case with one space before the inward code', async () => {
    for (const postcode of ['sw1a 1aa', ' SW1A  1AA ', 'SW1A1AA']) {
      const res = await createIr('1029384757', postcode);
      expect(res.status, postcode).toBe(201);
      const got = await r.call('bright_energy', 'GET', `/v1/identity-records/${res.body.ir}`);
      expect(got.body['identity-record']['pii-principal'].address.postcode).toBe('SW1A 1AA');
    }
    // Controllers' addresses on access records too.
    const ir = (await createIr('1029384757')).body.ir;
    const body = consentBody(ir);
    body['record-metadata']['controller-arrangement'].controllers[0].address = { addressLine1: '2 Low Road', townCity: 'Leeds', postcode: 'ls11ur' };
    const made = await r.call('bright_energy', 'POST', '/v1/access-records', body);
    expect(made.status).toBe(201);
    const rec = (await r.call(null, 'GET', `/v1/access-records/${made.body['access-token'].key}`)).body['access-record'];
    expect(rec['record-metadata']['controller-arrangement'].controllers[0].address.postcode).toBe('LS1 1UR');
    const bad = await createIr('1029384757', 'SW1A 1A');
    expect(bad.status).toBe(400);
    expect(messages(bad)).toContain('"pii-principal.address.postcode"');
  });

  it('MPxNs: spaces and hyphens stripped, the 21-digit S-box number reduced to its core, in bodies, queries and paths', async () => {
    const made = await createIr('18 0000 0001-003');
    expect(made.status).toBe(201);
    const ir = made.body.ir;
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`)).body['identity-record']['pii-principal'].mpxn).toBe(VALID_MPAN);
    const sBox = await createIr('S 01 801 123 1800000001003');
    expect(sBox.status).toBe(201);
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${sBox.body.ir}`)).body['identity-record']['pii-principal'].mpxn).toBe(VALID_MPAN);

    const exists = await r.call('bright_energy', 'GET', `/v1/identity-records/exists?mpxn=${encodeURIComponent('1800-0000-0100-3')}`);
    expect(exists.status).toBe(200);
    expect(exists.body).toMatchObject({ exists: true, mpxn: VALID_MPAN });
    const search = await r.call('bright_energy', 'GET', `/v1/identity-records?mpxn=${encodeURIComponent(' 1800000001003 ')}`);
    expect(search.body['identity-records'].map((x: any) => x.ir)).toContain(ir);

    expect((await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(ir))).status).toBe(201);
    for (const typed of ['1800 0000 0100 3', 'S018011231800000001003', '1800-0000-0100-3']) {
      const listed = await r.call('bright_energy', 'GET', `/v1/meter-points/${encodeURIComponent(typed)}/access-records`);
      expect(listed.status, typed).toBe(200);
      expect(listed.body.mpxn).toBe(VALID_MPAN);
      expect(listed.body['access-records'].length).toBeGreaterThan(0);
    }
    const reid = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: '2312-3456-7890-1', method: 'magic-link' });
    expect(reid.status).toBe(200);
  });

  it('sandbox: an MPAN with a wrong check digit is accepted (published examples carry none)', async () => {
    expect((await createIr(WRONG_MPAN)).status).toBe(201);
    expect((await createIr('1234567890123')).status).toBe(201);
  });

  it('the portal warns "check the number" before a challenge when the check digit is wrong', async () => {
    const c = new Customer(r);
    const wrong = await c.get('/portal?mpxn=2312345678901');
    expect(wrong.status).toBe(200);
    expect(wrong.body).toContain('check the number');
    expect(wrong.body).toContain('Email me a link'); // a warning, not a block
    const typed = await c.get(`/portal?mpxn=${encodeURIComponent('2312 3456 7890 1')}`);
    expect(typed.body).toContain('check the number');
    expect(typed.body).toContain('value="2312345678901"');
    const right = await c.get(`/portal?mpxn=${VALID_MPAN}`);
    expect(right.status).toBe(200);
    expect(right.body).not.toContain('check the number');
  });
});

describe('MPAN check digits in production mode', () => {
  let p: TestRegister;
  beforeAll(async () => {
    p = await testRegister({ mode: 'production', origin: 'https://id.register.example' });
  });
  afterAll(() => p.close());

  it('refuses a wrong check digit with 400 VAL001 naming the field, wherever an MPxN is accepted', async () => {
    const body = (mpxn: string) => ({ 'pii-principal': { mpxn, 'move-in-date': '2022-06-30' }, 'expressed-by': 'data-subject' });
    const bad = await p.call('bright_energy', 'POST', '/v1/identity-records', body(WRONG_MPAN));
    expect(bad.status).toBe(400);
    expect(codes(bad)).toEqual(['VAL001']);
    expect(messages(bad)).toMatch(/"pii-principal\.mpxn" .*check digit/);
    expect((await p.call('bright_energy', 'POST', '/v1/identity-records', body(VALID_MPAN))).status).toBe(201);
    expect((await p.call('bright_energy', 'POST', '/v1/identity-records', body('S01801123 1800000001003'))).status).toBe(201);
    expect((await p.call('bright_energy', 'POST', '/v1/identity-records', body('1029384756'))).status).toBe(201); // MPRN
    const q = await p.call('bright_energy', 'GET', `/v1/identity-records/exists?mpxn=${WRONG_MPAN}`);
    expect(q.status).toBe(400);
    expect(messages(q)).toContain('query parameter field "mpxn"');
    // A Data User holding no record there is refused before validation (403); a portal's
    // right is decided by its token, after validation, so it is told about the number.
    expect((await p.call('bright_energy', 'GET', `/v1/meter-points/${WRONG_MPAN}/access-records`)).status).toBe(403);
    const path = await p.call('portal_ops', 'GET', `/v1/meter-points/${WRONG_MPAN}/access-records`);
    expect(path.status).toBe(400);
    expect(messages(path)).toContain('path parameter field "mpxn"');
  });
});

describe('internationalised e-mail domains (real SMTP)', () => {
  let r: TestRegister;
  let sink: SmtpSink;
  registerWithSmtpSink((env) => ({ r, sink } = env));

  it('accepts kunde@münchen.example, matches it in any case and spelling, and sends to the ASCII domain with the local part as given', async () => {
    const made = await r.call('bright_energy', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn: '1029384758', 'move-in-date': '2022-06-30' },
      'expressed-by': 'data-subject',
      email: 'Kunde@München.example',
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const ir = made.body.ir;
    for (const spelling of ['kunde@münchen.example', 'KUNDE@xn--mnchen-3ya.example', 'Kunde@MÜNCHEN.EXAMPLE']) {
      const found = await r.call('bright_energy', 'GET', `/v1/identity-records?email=${encodeURIComponent(spelling)}`);
      expect(found.status, spelling).toBe(200);
      expect(
        found.body['identity-records'].map((x: any) => x.ir),
        spelling,
      ).toEqual([ir]);
    }
    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    expect(start.status).toBe(200);
    expect(start.body['magic-link']['dispatched-to']).toMatch(/^K\*+e@xn--mnchen-3ya\.example$/);
    expect(await r.svc.mail.processDue()).toBe(1);
    const [mail] = await sink.waitFor(1);
    // smtp-server shows the envelope's domain decoded back to Unicode; the message itself
    // carries the ASCII form, as does the recipient the outbox keeps.
    expect(mail.to).toEqual(['Kunde@münchen.example']);
    expect(mail.raw).toMatch(/^To: Kunde@xn--mnchen-3ya\.example\r?$/m);
    const [kept] = (await r.svc.mail.list({ ref: start.body['magic-link']['token-ref'], limit: 1 })).rows;
    expect(r.svc.mail.recipient(kept)).toBe('Kunde@xn--mnchen-3ya.example');
    expect(decodeQuotedPrintable(mail.raw)).toMatch(/\/id\/magic\//);

    // A webhook alert address is canonical in the same way.
    const hook = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'https://hooks.example/dar', 'alert-email': 'Ops@Bücher.example' });
    expect(hook.status).toBe(201);
    expect(hook.body.webhook['alert-email']).toBe('Ops@xn--bcher-kva.example');
  });
});

describe('passkey credential ids in any base64url spelling', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());
  const ORIGIN = 'http://localhost:5001';
  const pad = (id: string) => id + '='.repeat((4 - (id.length % 4)) % 4);

  async function ceremony(url: string, make: (auth: SoftAuthenticator, step: string, options: any) => unknown, auth: SoftAuthenticator) {
    const c = new Customer(r);
    const { session, csrf } = await c.openPasskeyPage(url);
    const opt = await c.options(session, csrf);
    return c.verify(session, csrf, opt.json.step, make(auth, opt.json.step, opt.json.options));
  }
  const padded = (auth: SoftAuthenticator, step: string, options: any) => {
    const res = step === 'register' ? auth.register(options) : auth.assert(options);
    return { ...res, id: pad(auth.id), rawId: pad(auth.id) };
  };
  const plain = (auth: SoftAuthenticator, step: string, options: any) => (step === 'register' ? auth.register(options) : auth.assert(options));

  let n = 0;
  for (const [name, atRegister, atAssert] of [
    ['padded at registration, unpadded at assertion', padded, plain],
    ['unpadded at registration, padded at assertion', plain, padded],
    ['padded at both', padded, padded],
  ] as const) {
    it(name, async () => {
      const auth = new SoftAuthenticator(ORIGIN);
      expect(pad(auth.id)).not.toBe(auth.id);
      const made = await r.call('bright_energy', 'POST', '/v1/identity-records', {
        'pii-principal': { mpxn: `10293847${60 + n++}`, 'move-in-date': '2023-01-01' },
        'expressed-by': 'data-subject',
        'initiate-passkey-registration': true,
        'passkey-return-url': `${ORIGIN}/return`,
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const registered = await ceremony(made.body['passkey-registration-redirect']['redirect-url'], atRegister, auth);
      expect(registered.status, registered.body).toBe(200);
      const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${made.body.ir}/re-identify`, { method: 'passkey-assert' });
      expect(start.status, JSON.stringify(start.body)).toBe(200);
      const asserted = await ceremony(start.body.passkey['redirect-url'], atAssert, auth);
      expect(asserted.status, asserted.body).toBe(200);
      const status = await r.call('bright_energy', 'GET', `/v1/identity-records/${made.body.ir}/re-identify/${start.body.passkey['token-ref']}`);
      expect(status.body.status).toBe('confirmed');
    });
  }
});

describe('published requests are accepted as written (contract tests)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('POST /identity-records exactly as the published example, and GET returns the published shape', async () => {
    // From the published POST /identity-records page (passkey fields left to their own test).
    const published = publishedIdentityBody('1234567890123');
    const res = await r.call('bright_energy', 'POST', '/v1/identity-records', published);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const rec = (await r.call('bright_energy', 'GET', `/v1/identity-records/${res.body.ir}`)).body['identity-record'];
    expect(rec['created-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(rec['pii-principal']).toEqual({ mpxn: '1234567890123', 'move-in-date': '2022-06-30', address: { addressLine1: '221B Baker Street', townCity: 'London', postcode: 'NW1 6XE' } });
    expect(rec['principal-verification']['verified-at']).toBe('2023-11-07T05:30:45Z');
  });

  it('the walkthrough access record (date-only expiry) and the published DCC report; expiry is a date-time, DISCOVERED dates are dates', async () => {
    const ir = (await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: '2312345678901', 'move-in-date': '2022-06-30' }, 'expressed-by': 'data-subject' })).body.ir;
    const made = await r.call('bright_energy', 'POST', '/v1/access-records', {
      'record-metadata': {
        'schema-version': '1.0',
        'identity-record-ref': ir,
        'controller-arrangement': { 'arrangement-type': 'sole', controllers: [{ name: 'Bright Energy Ltd', role: 'sole', 'contact-url': 'https://bright-energy.example/contact' }] },
      },
      notice: { 'shared-notice': { 'terms-url': 'https://bright-energy.example/terms', 'notice-version': '2.1' } },
      processing: { 'legal-basis': 'uk-consent', purpose: 'Tariff optimisation', 'data-types': ['HH-CONSUMPTION'] },
      'access-event': { state: 'ACTIVE', 'registered-at': '2026-03-24T09:00:00Z', expiry: '2027-03-24', consent: { 'consent-type': 'expressed-consent', method: 'online-form' } },
    });
    expect(made.status).toBe(201);
    const instant = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
    expect(made.body['access-token'].expiry).toMatch(instant);
    const listed = (await r.call('bright_energy', 'GET', '/v1/meter-points/2312345678901/access-records')).body['access-records'];
    for (const s of listed) {
      if (s.expiry !== null) expect(s.expiry).toMatch(instant);
      if (s.state === 'DISCOVERED') {
        expect(s['discovered-access']['first-seen']).toMatch(/^\d{4}-\d\d-\d\d$/);
        expect(s['discovered-access']['last-seen']).toMatch(/^\d{4}-\d\d-\d\d$/);
      }
    }
    expect(listed.some((s: any) => s.state === 'DISCOVERED')).toBe(true);
  });
});

describe('the served OpenAPI document describes the canonical forms', () => {
  it('date-times are format date-time, MPxNs and postcodes carry their patterns, each with its x-canonical kind', async () => {
    const r = await testRegister({}, { seed: false });
    try {
      const doc = (await r.call(null, 'GET', '/v1/openapi.json')).body;
      const body = doc.paths['/v1/access-records'].post.requestBody.content['application/json'].schema;
      const event = body.properties['access-event'].properties;
      expect(event['registered-at']).toMatchObject({ format: 'date-time', 'x-canonical': 'date-time' });
      expect(JSON.stringify(event.expiry)).toContain('"x-canonical":"date-time-or-date"');
      const ir = doc.paths['/v1/identity-records'].post.requestBody.content['application/json'].schema.properties['pii-principal'].properties;
      expect(ir.mpxn).toMatchObject({ 'x-canonical': 'mpxn', pattern: '^(?:[0-9A-HJ-NPR-Z]{2}[0-9]{8,10}|[0-9]{6,13})$' });
      expect(JSON.stringify(ir.address)).toContain('"x-canonical":"postcode"');
    } finally {
      await r.close();
    }
  });
});

describe('migration: values stored before canonicalisation', () => {
  it('rewrites stored instants, dates and postcodes to the canonical form; leaves what names no instant alone', async () => {
    const dir = tempDir('dar-values-');
    const oldMigrations = join(dir, 'drizzle-old');
    const realMigrations = join(process.cwd(), 'drizzle');
    mkdirSync(join(oldMigrations, 'meta'), { recursive: true });
    const journal = JSON.parse(readFileSync(join(realMigrations, 'meta/_journal.json'), 'utf8'));
    const mine = journal.entries.findIndex((e: { tag: string }) => e.tag.endsWith('_canonical_values'));
    expect(mine).toBeGreaterThan(0);
    const before = journal.entries.slice(0, mine);
    for (const e of before) copyFileSync(join(realMigrations, `${e.tag}.sql`), join(oldMigrations, `${e.tag}.sql`));
    for (const f of readdirSync(join(realMigrations, 'meta'))) if (f !== '_journal.json') copyFileSync(join(realMigrations, 'meta', f), join(oldMigrations, 'meta', f));
    writeFileSync(join(oldMigrations, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: before }));

    const file = join(dir, 'old.sqlite');
    openDatabase(file, oldMigrations).sqlite.close();
    const old = DbProbe.open(file);
    const body = (registeredAt: string, expiry: string | null) => JSON.stringify({ 'record-metadata': { 'schema-version': '1.0' }, notice: null, processing: {}, 'access-event': { 'registered-at': registeredAt, expiry, consent: null } });
    const insert = (ak: string, kind: string, state: string, expiry: string | null, expiresAt: string | null, registeredAt: string | null, firstSeen: string | null, lastSeen: string | null, storedBody: string | null) =>
      old.insertRow('access_records', {
        ak,
        kind,
        duid: 'duid_x',
        mpxn: '1029384756',
        state,
        data_types: '[]',
        expiry,
        expires_at: expiresAt,
        registered_at: registeredAt,
        first_seen: firstSeen,
        last_seen: lastSeen,
        body: storedBody,
        controller_count: 1,
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-01T00:00:00.000Z',
      });
    await insert('ak_1', 'record', 'ACTIVE', '2027-03-24t10:00:00+01:00', '2027-03-24T09:00:00.000Z', '2026-03-24 10:00:00.5+01:00', null, null, body('2026-03-24 10:00:00.5+01:00', '2027-03-24t10:00:00+01:00'));
    await insert('ak_2', 'record', 'ACTIVE', '2027-03-24', '2027-03-24T23:59:59.999Z', '2016-12-31T23:59:60Z', null, null, body('2016-12-31T23:59:60Z', '2027-03-24'));
    await insert('ak_3', 'discovered', 'DISCOVERED', null, null, null, '2025-01-01t10:00:00z', '2026-02-30T10:00:00Z', null);
    await insert('ak_4', 'discovered', 'DISCOVERED', null, null, null, '2025-01-01', '2025-02-01T09:00:00-05:00', null);
    await old.insertRow('identity_records', {
      ir: 'ir_1',
      duid: 'duid_x',
      mpxn: '1029384756',
      move_in_date: '2022-06-30',
      address: JSON.stringify({ addressLine1: 'x', townCity: 'y', postcode: 'SW1A1AA' }),
      expressed_by: 'data-subject',
      principal_verification: JSON.stringify({ method: 'card', 'verified-at': '2023-11-07T06:30:45+01:00', outcome: 'verified' }),
      webauthn_user_id: 'u',
      created_at: '2026-01-01T00:00:00.000Z',
    });
    old.close();

    openDatabase(file, realMigrations).sqlite.close();
    const now = DbProbe.open(file);
    const rows = Object.fromEntries((await now.rows('access_records')).map((x: any) => [x.ak, x]));
    expect(rows.ak_1).toMatchObject({ registered_at: '2026-03-24T09:00:00Z', expiry: '2027-03-24T09:00:00Z', expires_at: '2027-03-24T09:00:00.000Z' });
    expect(JSON.parse(rows.ak_1.body)['access-event']).toMatchObject({ 'registered-at': '2026-03-24T09:00:00Z', expiry: '2027-03-24T09:00:00Z' });
    // A stored date-only expiry keeps the instant it was enforced at (end of that day).
    expect(rows.ak_2).toMatchObject({ registered_at: '2016-12-31T23:59:60Z', expiry: '2027-03-24T23:59:59Z', expires_at: '2027-03-24T23:59:59.000Z' });
    expect(JSON.parse(rows.ak_2.body)['access-event']).toMatchObject({ 'registered-at': '2016-12-31T23:59:60Z', expiry: '2027-03-24T23:59:59Z' });
    expect(rows.ak_3).toMatchObject({ first_seen: '2025-01-01T10:00:00Z', last_seen: '2026-02-30T10:00:00Z' });
    expect(rows.ak_4).toMatchObject({ first_seen: '2025-01-01T00:00:00Z', last_seen: '2025-02-01T14:00:00Z' });
    const idr: any = (await now.rows('identity_records'))[0];
    expect(JSON.parse(idr.address).postcode).toBe('SW1A 1AA');
    expect(JSON.parse(idr.principal_verification)['verified-at']).toBe('2023-11-07T05:30:45Z');
    now.close();
  });
});
