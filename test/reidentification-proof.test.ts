/**
 * [ours] Re-identification that a stranger cannot take over (contract §4, §11):
 * - a new passkey only after proving a factor already on the record;
 * - the eligible record (factor, not before the latest change of tenancy) speaks for an MPxN;
 * - notices to the customer's address when contact details change or a passkey is added;
 * - every challenge says whose contact details it used;
 * - /portal?ir= reveals no meter point; anonymous starts are limited per address and globally,
 *   and never block a customer's passkey.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from './support/customer.js';
import { registerWithSmtpSink, testRegister, type TestRegister } from './support/register.js';
import { decodeQuotedPrintable, type SmtpSink } from './support/smtp-sink.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

const ORIGIN = 'http://localhost:5001';
const RETURN = 'http://localhost:5001/return';
const DEMO_MPXN = '2312345678901';

/** A browser on the portal from one client address (inject's remoteAddress = the socket address). */
class PortalBrowser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly r: TestRegister,
    readonly address = '127.0.0.1',
  ) {}

  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>) {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = this.r.reg.origin;
    }
    const res = await this.r.app.inject({ method, url, headers, remoteAddress: this.address, ...(form ? { payload: new URLSearchParams(form).toString() } : {}) });
    const set = res.headers['set-cookie'];
    for (const c of (Array.isArray(set) ? set : set ? [set] : []) as string[]) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1).trim();
      if (value) this.cookies.set(pair.slice(0, eq).trim(), value);
      else this.cookies.delete(pair.slice(0, eq).trim());
    }
    return res;
  }

  /** Opens /portal (for the CSRF cookie) and starts a check the way the entry form does. */
  async start(fields: Record<string, string>) {
    const entry = await this.request('GET', '/portal');
    const csrf = /name="csrf" value="([^"]+)"/.exec(entry.body)![1];
    return this.request('POST', '/portal/start', { csrf, ...fields });
  }
}

async function createRecord(r: TestRegister, as: string, mpxn: string, o: { email?: string | null; moveIn?: string; passkey?: boolean } = {}) {
  const res = await r.call(as, 'POST', '/v1/identity-records', {
    'pii-principal': { mpxn, 'move-in-date': o.moveIn ?? '2023-01-01' },
    'expressed-by': 'data-subject',
    email: o.email ?? null,
    ...(o.passkey ? { 'initiate-passkey-registration': true, 'passkey-return-url': RETURN } : {}),
  });
  expect(res.status).toBe(201);
  return { ir: res.body.ir as string, passkey: res.body['passkey-registration-redirect'] as { 'redirect-url': string; 'token-ref': string } | null };
}

/** Walks a passkey page in a fresh browser with `auth`; returns the verify response. */
async function passkeyCeremony(r: TestRegister, url: string, auth: SoftAuthenticator) {
  const c = new Customer(r);
  const { session, csrf } = await c.openPasskeyPage(url);
  return c.passkeyStep(session, csrf, auth);
}

const outbox = async (r: TestRegister, query: string) =>
  (await r.call('admin_ops', 'GET', `/v1/admin/outbox?${query}`)).body.messages as { to: string; subject: string; text: string; html: string; purpose: string; links: string[]; 'created-at': string }[];

describe('[ours] no passkey enrolment without proof of a factor already on the record', () => {
  let r: TestRegister;
  const MPXN = '1600000001';
  let ir: string;
  beforeAll(async () => {
    r = await testRegister();
    // A record with neither an e-mail nor a passkey (the owner never completed onboarding).
    ir = (await createRecord(r, 'bright_energy', MPXN)).ir;
  });
  afterAll(() => r.close());

  const credentials = async () => (await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`)).body['identity-record'].credentials as unknown[];

  it('exists: the record is there, but no method is offered (passkey-register never alone)', async () => {
    for (const as of ['octopusflux', 'portal_ops', 'bright_energy']) {
      const res = await r.call(as, 'GET', `/v1/identity-records/exists?mpxn=${MPXN}`);
      expect(res.body).toMatchObject({ mpxn: MPXN, exists: true, 'available-methods': [] });
    }
  });

  it('cross-Data-User, portal API and admin on-behalf-of: 422 VAL003 for every method; no passkey can be planted', async () => {
    for (const [as, url, body] of [
      ['octopusflux', '/v1/identity-records/reidentify', { mpxn: MPXN, method: 'passkey-register', 'passkey-return-url': RETURN }],
      ['portal_ops', '/v1/identity-records/reidentify', { mpxn: MPXN, method: 'passkey-register' }],
      ['octopusflux', '/v1/identity-records/reidentify', { mpxn: MPXN, method: 'magic-link' }],
      ['portal_ops', '/v1/identity-records/reidentify', { mpxn: MPXN, method: 'passkey-assert' }],
      ['admin_ops', '/v1/admin/reidentifications', { mpxn: MPXN, method: 'passkey-register', 'on-behalf-of': 'portal_ops' }],
    ] as const) {
      const res = await r.call(as, 'POST', url, body);
      expect(res.status, `${as} ${JSON.stringify(body)}`).toBe(422);
      expect(res.body.errors[0]['error-code']).toBe('VAL003');
      expect(JSON.stringify(res.body)).not.toContain(ir);
    }
    expect(await credentials()).toHaveLength(0);
  });

  it('same Data User: passkey-register on its own record with no factor → 422 VAL003', async () => {
    const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-register', 'passkey-return-url': RETURN });
    expect(res.status).toBe(422);
    expect(res.body.errors[0]['error-code']).toBe('VAL003');
    expect(res.body.errors[0].message).toMatch(/neither an e-mail address nor a passkey/);
  });

  it('/portal offers no way in and refuses a forged passkey-register start; no session, no passkey', async () => {
    const b = new PortalBrowser(r);
    const entry = await b.request('GET', `/portal?mpxn=${MPXN}`);
    expect(entry.statusCode).toBe(200);
    expect(entry.body).not.toContain('name="method"');
    expect(entry.body).toContain('no e-mail address or passkey for this meter point');
    const forged = await b.start({ mpxn: MPXN, method: 'passkey-register' });
    expect(forged.statusCode).toBe(400);
    expect(forged.headers.location).toBeUndefined();
    expect(b.cookies.has('dar_portal_pending')).toBe(false);
    expect(await credentials()).toHaveLength(0);
  });

  it('the owner’s onboarding at creation is the one exception, and it still works', async () => {
    const created = await createRecord(r, 'bright_energy', '1600000002', { passkey: true });
    const done = await passkeyCeremony(r, created.passkey!['redirect-url'], new SoftAuthenticator(ORIGIN));
    expect(done.status).toBe(200);
    expect((await r.call('octopusflux', 'GET', '/v1/identity-records/exists?mpxn=1600000002')).body['available-methods']).toEqual(['passkey-assert', 'passkey-register']);
  });

  it('adding a passkey to a record with an e-mail tells that address: the organisation and the date', async () => {
    const mpxn = '1600000003';
    const created = await createRecord(r, 'bright_energy', mpxn, { email: 'lee@example.net', passkey: true });
    const owner = new SoftAuthenticator(ORIGIN);
    expect((await passkeyCeremony(r, created.passkey!['redirect-url'], owner)).status).toBe(200);
    let notices = await outbox(r, 'purpose=identity-record.passkey-added');
    expect(notices).toHaveLength(1);
    expect(notices[0].to).toBe('lee@example.net');
    expect(notices[0].subject).toContain('Bright Energy Ltd');
    const day = new Date(r.reg.clock.iso()).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    expect(notices[0].text).toContain(`On ${day}`);
    expect(notices[0].text).toContain('ending 0003');
    expect(notices[0].text).toMatch(/If this was not you/);

    // A second passkey through another Data User (after the step-up) is announced too, naming that one.
    const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'passkey-register' });
    const c = new Customer(r);
    const s = await c.openPasskeyPage(start.body.passkey['redirect-url']);
    expect(s.page.body).toContain('Contact details used:</strong> the passkey set up on the details Bright Energy Ltd holds for you');
    expect((await c.passkeyStep(s.session, s.csrf, owner)).json).toEqual({ done: false, next: 'register' });
    expect((await c.passkeyStep(s.session, s.csrf, new SoftAuthenticator(ORIGIN))).status).toBe(200);
    notices = await outbox(r, 'purpose=identity-record.passkey-added');
    expect(notices).toHaveLength(2);
    expect(notices[0].subject).toContain('OctopusFlux Ltd');
  });
});

describe('[ours] which identity record speaks for a meter point', () => {
  let r: TestRegister;
  let sink: SmtpSink;
  registerWithSmtpSink((env) => ({ r, sink } = env));

  it('reproduction: a Data User registers its own address for the demo MPxN; the customer is told at once, and every challenge names whose address it used', async () => {
    const before = sink.received.length;
    await createRecord(r, 'octopusflux', DEMO_MPXN, { email: 'attacker@evil.example' });
    // The previous address gets the notice, over real SMTP.
    expect(await r.svc.mail.processDue()).toBeGreaterThanOrEqual(1);
    await sink.waitFor(before + 1);
    const notice = sink.received.slice(before).find((m) => m.to.includes('customer@example.com'));
    expect(notice).toBeDefined();
    const body = decodeQuotedPrintable(notice!.raw);
    expect(notice!.raw.replace(/\r?\n[ \t]+/g, ' ')).toMatch(/^Subject: OctopusFlux Ltd registered new contact details for your smart meter/m);
    expect(body).toContain('ending 8901');
    expect(body).not.toContain(DEMO_MPXN);
    const day = new Date(r.reg.clock.iso()).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    expect(body).toContain(`On ${day}, OctopusFlux Ltd registered a different e-mail address`);
    expect(body).toMatch(/report it to the Data Access Register operator/);
    expect(body).not.toContain('attacker@');

    // The portal's magic link now goes to the new address, and says so.
    const b = new PortalBrowser(r);
    const started = await b.start({ mpxn: DEMO_MPXN, method: 'magic-link' });
    expect(started.statusCode).toBe(200);
    expect(started.body).toContain('the e-mail address <strong>OctopusFlux Ltd</strong> holds for you');
    expect(started.body).toContain('you are not a customer of OctopusFlux Ltd?');
    const mail = (await outbox(r, 'purpose=reidentification.magic-link'))[0];
    expect(mail.to).toBe('attacker@evil.example');
    expect(mail.text).toContain('We sent it to the e-mail address OctopusFlux Ltd holds for you.');
    expect(mail.html).toContain('the e-mail address OctopusFlux Ltd holds for you');
    const landing = await new Customer(r).get(mail.links[0]);
    expect(landing.body).toContain('the e-mail address OctopusFlux Ltd holds for you');
  });

  it('the same e-mail again from another Data User is no change: no notice', async () => {
    const mpxn = '1610000001';
    await createRecord(r, 'bright_energy', mpxn, { email: 'kim@example.org' });
    await createRecord(r, 'octopusflux', mpxn, { email: 'KIM@example.org' });
    expect((await outbox(r, 'purpose=identity-record.contact-changed')).filter((m) => m.to === 'kim@example.org')).toHaveLength(0);
  });

  it('a newer record without a factor does not hide the older record with an e-mail', async () => {
    const mpxn = '1610000002';
    await createRecord(r, 'bright_energy', mpxn, { email: 'ana@example.org' });
    await createRecord(r, 'octopusflux', mpxn);
    expect((await r.call('greenswitch', 'GET', `/v1/identity-records/exists?mpxn=${mpxn}`)).body['available-methods']).toEqual(['magic-link', 'passkey-register']);
    const start = await r.call('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' });
    expect(start.status).toBe(200);
    expect((await outbox(r, `ref=${start.body['magic-link']['token-ref']}`))[0].to).toBe('ana@example.org');
  });

  it('a first passkey that makes a record speak for the meter point notifies the previous address', async () => {
    const mpxn = '1610000003';
    await createRecord(r, 'bright_energy', mpxn, { email: 'max@example.org' });
    const planted = await createRecord(r, 'octopusflux', mpxn, { passkey: true });
    expect((await outbox(r, 'purpose=identity-record.contact-changed')).filter((m) => m.to === 'max@example.org')).toHaveLength(0);
    expect((await passkeyCeremony(r, planted.passkey!['redirect-url'], new SoftAuthenticator(ORIGIN))).status).toBe(200);
    const notices = (await outbox(r, 'purpose=identity-record.contact-changed')).filter((m) => m.to === 'max@example.org');
    expect(notices).toHaveLength(1);
    expect(notices[0].text).toContain('OctopusFlux Ltd');
    expect(notices[0].text).toContain('ending 0003');
  });

  it('change of tenancy: the previous occupant’s record is never used; a backdated record is not either', async () => {
    const mpxn = '1610000004';
    const old = await createRecord(r, 'bright_energy', mpxn, { email: 'previous@example.org', moveIn: '2020-02-01' });
    const cot = await r.call('dcc_system', 'POST', '/v1/cot-events', { mpxn, 'effective-date': '2024-05-01', 'source-reference': 'COT-1' });
    expect(cot.status).toBe(201);
    expect((await r.call('octopusflux', 'GET', `/v1/identity-records/exists?mpxn=${mpxn}`)).body).toMatchObject({ exists: false, 'available-methods': [] });
    expect((await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' })).status).toBe(404);
    expect((await new PortalBrowser(r).request('GET', `/portal?mpxn=${mpxn}`)).body).toContain('No energy company has registered this meter point');
    // Its owner can still reach its own (former) customer directly.
    expect((await r.call('bright_energy', 'POST', `/v1/identity-records/${old.ir}/re-identify`, { method: 'magic-link' })).status).toBe(200);

    await createRecord(r, 'greenswitch', mpxn, { email: 'backdated@example.org', moveIn: '2019-01-01' });
    expect((await r.call('octopusflux', 'GET', `/v1/identity-records/exists?mpxn=${mpxn}`)).body.exists).toBe(false);

    await createRecord(r, 'octopusflux', mpxn, { email: 'newcomer@example.org', moveIn: '2024-05-01' });
    expect((await r.call('greenswitch', 'GET', `/v1/identity-records/exists?mpxn=${mpxn}`)).body['available-methods']).toEqual(['magic-link', 'passkey-register']);
    const start = await r.call('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' });
    expect((await outbox(r, `ref=${start.body['magic-link']['token-ref']}`))[0].to).toBe('newcomer@example.org');
    // The previous occupant is not told about the new occupant's details.
    expect((await outbox(r, 'purpose=identity-record.contact-changed')).filter((m) => m.to === 'previous@example.org')).toHaveLength(0);
  });
});

describe('[ours] /portal?ir= and anonymous start limits', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('/portal?ir= shows an anonymous visitor neither the meter point nor its last digits; the check still starts from it', async () => {
    const b = new PortalBrowser(r);
    const page = await b.request('GET', `/portal?ir=${r.demo!.ir}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain(DEMO_MPXN);
    expect(page.body).not.toContain('8901');
    expect(page.body).toContain('Email me a link');
    expect(page.body).toContain(`name="ir" value="${r.demo!.ir}"`);
    const started = await b.start({ ir: r.demo!.ir, method: 'magic-link' });
    expect(started.statusCode).toBe(200);
    expect(started.body).toContain('Check your email');
    expect(started.body).not.toContain(DEMO_MPXN);
    // An unknown ir looks like an unregistered meter point.
    const unknown = await new PortalBrowser(r).request('GET', '/portal?ir=ir_000000000000000000000000');
    expect(unknown.body).toContain('No energy company has registered this meter point');
  });

  it('e-mail starts are limited per client address and for everyone together', async () => {
    const r = await testRegister(); // its own register: the global count starts at zero
    const limits = r.svc.reidentification.anonymousLimits;
    const saved = { ...limits };
    limits.emailPerAddress = 2;
    limits.emailGlobal = 4;
    try {
      const mpxns = ['1620000001', '1620000002', '1620000003', '1620000004', '1620000005'];
      for (const m of mpxns) await createRecord(r, 'bright_energy', m, { email: `c${m}@example.org` });
      const a = new PortalBrowser(r, '203.0.113.7');
      expect((await a.start({ mpxn: mpxns[0], method: 'magic-link' })).statusCode).toBe(200);
      expect((await a.start({ mpxn: mpxns[1], method: 'magic-link' })).statusCode).toBe(200);
      const third = await a.start({ mpxn: mpxns[2], method: 'magic-link' });
      expect(third.statusCode).toBe(429);
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      const b = new PortalBrowser(r, '198.51.100.9');
      expect((await b.start({ mpxn: mpxns[2], method: 'magic-link' })).statusCode).toBe(200);
      expect((await b.start({ mpxn: mpxns[3], method: 'magic-link' })).statusCode).toBe(200);
      // Four e-mail starts in the window: the global limit holds for a new address too.
      expect((await new PortalBrowser(r, '192.0.2.44').start({ mpxn: mpxns[4], method: 'magic-link' })).statusCode).toBe(429);
      expect((await outbox(r, 'purpose=reidentification.magic-link')).filter((m) => /^c162/.test(m.to))).toHaveLength(4);
    } finally {
      Object.assign(limits, saved);
      await r.close();
    }
  });

  it('a stranger using up the meter point’s e-mail limit cannot block the customer’s passkey', async () => {
    const mpxn = '1630000001';
    const created = await createRecord(r, 'bright_energy', mpxn, { email: 'dana@example.org', passkey: true });
    const key = new SoftAuthenticator(ORIGIN);
    expect((await passkeyCeremony(r, created.passkey!['redirect-url'], key)).status).toBe(200);
    // Five e-mail starts from five addresses use up the (portal, MPxN) e-mail limit.
    for (let i = 0; i < 5; i++) expect((await new PortalBrowser(r, `203.0.113.${100 + i}`).start({ mpxn, method: 'magic-link' })).statusCode).toBe(200);
    expect((await new PortalBrowser(r, '203.0.113.200').start({ mpxn, method: 'magic-link' })).statusCode).toBe(429);
    // Several more passkey-assert starts by the stranger do not use up the customer's either.
    for (let i = 0; i < 6; i++) expect((await new PortalBrowser(r, `203.0.113.${150 + i}`).start({ mpxn, method: 'passkey-assert' })).statusCode).toBe(303);

    const customer = new PortalBrowser(r, '198.51.100.20');
    const started = await customer.start({ mpxn, method: 'passkey-assert' });
    expect(started.statusCode).toBe(303);
    const url = String(started.headers.location);
    expect(url).toContain('/id/passkey/assert?session=');
    const done = await passkeyCeremony(r, url, key);
    expect(done.status).toBe(200);
    const cont = await customer.request('GET', new URL(done.json.redirect).pathname + new URL(done.json.redirect).search);
    expect(cont.statusCode).toBe(303);
    const page = await customer.request('GET', '/portal');
    expect(page.body).toContain('Who has access to your meter data');
  });

  it('passkey-assert by a Data User is counted apart from its e-mail starts', async () => {
    const mpxn = '1630000002';
    const created = await createRecord(r, 'bright_energy', mpxn, { email: 'eve@example.org', passkey: true });
    expect((await passkeyCeremony(r, created.passkey!['redirect-url'], new SoftAuthenticator(ORIGIN))).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' })).status).toBe(200);
    expect((await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' })).status).toBe(429);
    expect((await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'passkey-assert' })).status).toBe(200);
  });
});
