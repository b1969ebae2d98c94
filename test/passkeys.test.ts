import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer, linkFromOutbox } from './support/customer.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

const ORIGIN = 'http://localhost:5001';
const RETURN = 'http://localhost:5001/return';
const MIN = 60_000;

/** bright_energy creates a record and starts passkey registration for it (POST /identity-records). */
async function enrol(r: TestRegister, mpxn: string, email: string | null = null) {
  const res = await r.call('bright_energy', 'POST', '/v1/identity-records', {
    'pii-principal': { mpxn, 'move-in-date': '2023-01-01' },
    'expressed-by': 'data-subject',
    email,
    'initiate-passkey-registration': true,
    'passkey-return-url': RETURN,
  });
  expect(res.status).toBe(201);
  return { ir: res.body.ir as string, redirect: res.body['passkey-registration-redirect'] };
}

async function registerWith(r: TestRegister, url: string, auth: SoftAuthenticator) {
  const c = new Customer(r);
  const { session, csrf } = await c.openPasskeyPage(url);
  return { c, session, csrf, res: await c.passkeyStep(session, csrf, auth) };
}

describe('passkeys: registration and assertion (server-side WebAuthn verification)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('POST /identity-records with initiate-passkey-registration: page, options, verification, credential stored, token confirmed', async () => {
    const { ir, redirect } = await enrol(r, '1800000001');
    expect(redirect['redirect-url']).toMatch(/^http:\/\/localhost:5001\/id\/passkey\/register\?session=pks_[0-9a-f]{24}$/);
    expect(redirect['return-url']).toBe(RETURN);
    const ref = redirect['token-ref'];

    const c = new Customer(r);
    const { page, session, csrf } = await c.openPasskeyPage(redirect['redirect-url']);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Bright Energy Ltd');
    expect(page.body).toContain('Create a passkey');
    expect(page.body).toContain('<script src="/id/assets/webauthn.js" defer></script>');
    expect(page.body).toContain('<script src="/id/assets/passkey.js" defer></script>');
    expect(page.body).not.toMatch(/<script>|onclick=|style="/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'.*script-src 'self'.*frame-ancestors 'none'/);
    // Opening the page changes nothing.
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`)).body.status).toBe('pending');

    const opt = await c.options(session, csrf);
    expect(opt.status).toBe(200);
    expect(opt.json.step).toBe('register');
    expect(opt.json.options.rp).toEqual({ name: 'Data Access Register', id: 'localhost' });
    expect(opt.json.options.authenticatorSelection.userVerification).toBe('required');
    expect(JSON.stringify(opt.json.options)).not.toContain('@');

    const auth = new SoftAuthenticator(ORIGIN);
    const done = await c.verify(session, csrf, 'register', auth.register(opt.json.options));
    expect(done.status).toBe(200);
    expect(done.json).toEqual({ done: true, redirect: `${RETURN}?dar-passkey-token=${ref}` });

    const status = await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`);
    expect(status.body.status).toBe('confirmed');
    const record = await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`);
    const creds = record.body['identity-record'].credentials;
    expect(creds).toHaveLength(1);
    expect(creds[0]['credential-id']).toMatch(/^cred_[0-9a-f]{24}$/);
    expect(creds[0].transports).toEqual(['internal', 'hybrid']);
    expect(JSON.stringify(record.body)).not.toContain(auth.id);

    // Single use: the session is done, its page says so, and the token can link a record once.
    const reopened = await c.get(redirect['redirect-url']);
    expect(reopened.status).toBe(200);
    expect(reopened.body).toContain('You’ve already done this');
    expect(reopened.body).toMatch(/This request was completed at \d{2}:\d{2} UTC on /);
    expect((await c.options(session, csrf)).status).toBe(410);
    const created = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
    expect(created.status).toBe(201);
  });

  it('assertion: confirms with the stored key; counter moves forward; a counter that goes backwards is rejected', async () => {
    const { ir, redirect } = await enrol(r, '1800000002');
    const auth = new SoftAuthenticator(ORIGIN, 'localhost', { counter: 1 });
    expect((await registerWith(r, redirect['redirect-url'], auth)).res.status).toBe(200);

    const assertOnce = async (counter: number) => {
      const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-assert' });
      expect(start.status).toBe(200);
      expect(start.body.passkey['redirect-url']).toContain('/id/passkey/assert?session=pks_');
      expect(start.body.passkey['return-url']).toBeNull();
      const c = new Customer(r);
      const { page, session, csrf } = await c.openPasskeyPage(start.body.passkey['redirect-url']);
      expect(page.body).toContain('Use my passkey');
      const res = await c.passkeyStep(session, csrf, auth, {}, counter);
      const status = (await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${start.body.passkey['token-ref']}`)).body.status;
      return { res, status, session };
    };

    const first = await assertOnce(5);
    expect(first.res.status).toBe(200);
    expect(first.res.json.redirect).toBe(`${ORIGIN}/id/passkey/done?session=${first.session}`);
    expect(first.status).toBe('confirmed');
    const done = await new Customer(r).get(first.res.json.redirect);
    expect(done.status).toBe(200);
    expect(done.body).toContain('Bright Energy Ltd');

    const backwards = await assertOnce(3);
    expect(backwards.res.status).toBe(400);
    expect(backwards.res.json.message).toMatch(/copy of one used before/);
    expect(backwards.status).toBe('pending');
    const same = await assertOnce(5);
    expect(same.res.status).toBe(400);
    expect(same.status).toBe('pending');
    expect((await assertOnce(6)).status).toBe('confirmed');
  });

  it('accepts a counter that stays 0 (synced passkeys)', async () => {
    const { ir, redirect } = await enrol(r, '1800000003');
    const auth = new SoftAuthenticator(ORIGIN, 'localhost', { counter: 0 });
    expect((await registerWith(r, redirect['redirect-url'], auth)).res.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-assert' });
      const c = new Customer(r);
      const { session, csrf } = await c.openPasskeyPage(start.body.passkey['redirect-url']);
      expect((await c.passkeyStep(session, csrf, auth, {}, 0)).status).toBe(200);
    }
  });

  it('rejects a wrong origin, RP ID, challenge, missing user verification, an unknown credential and a foreign key', async () => {
    const { ir, redirect } = await enrol(r, '1800000004');
    const auth = new SoftAuthenticator(ORIGIN);
    const c = new Customer(r);
    const { session, csrf } = await c.openPasskeyPage(redirect['redirect-url']);
    for (const tamper of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { challenge: 'AAAA' }, { userVerified: false }, { userPresent: false }, { type: 'webauthn.get' }]) {
      const res = await c.passkeyStep(session, csrf, auth, tamper);
      expect(res.status, JSON.stringify(tamper)).toBe(400);
      // A device that cannot verify the person is told so, in plain words; every other failure is plain too.
      expect(res.json.error, JSON.stringify(tamper)).toBe(tamper.userVerified === false ? 'user-verification' : 'failed');
      expect(res.json.message).not.toMatch(/evil\.example|AAAA|webauthn\.|[Uu]nexpected|expected|flag|rpIdHash|challenge/);
      expect(res.json.message).not.toMatch(/Try again\.$/);
    }
    // A response for a challenge the server already discarded is refused too.
    const opt = await c.options(session, csrf);
    const stale = auth.register(opt.json.options);
    await c.options(session, csrf);
    expect((await c.verify(session, csrf, 'register', stale)).status).toBe(400);
    expect((await c.passkeyStep(session, csrf, auth)).status).toBe(200);

    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-assert' });
    const c2 = new Customer(r);
    const s2 = await c2.openPasskeyPage(start.body.passkey['redirect-url']);
    const stranger = new SoftAuthenticator(ORIGIN);
    const unknown = await c2.passkeyStep(s2.session, s2.csrf, stranger);
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/not registered/);
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${start.body.passkey['token-ref']}`)).body.status).toBe('pending');
  });

  it('several credentials per identity record; removing one keeps the other working', async () => {
    const { ir, redirect } = await enrol(r, '1800000005');
    // available-methods follows the eligible record's live credentials (no e-mail here):
    // [ours] with no factor yet, nothing (passkey-register is never offered on its own).
    const methods = async () => (await r.call('bright_energy', 'GET', '/v1/identity-records/exists?mpxn=1800000005')).body['available-methods'];
    expect(await methods()).toEqual([]);
    const phone = new SoftAuthenticator(ORIGIN);
    const laptop = new SoftAuthenticator(ORIGIN);
    expect((await registerWith(r, redirect['redirect-url'], phone)).res.status).toBe(200);
    // [ours] A second passkey, even for the owning Data User, after proving the first one.
    const again = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-register', 'passkey-return-url': RETURN });
    const second = await registerWith(r, again.body.passkey['redirect-url'], phone);
    expect(second.res.json).toEqual({ done: false, next: 'register' });
    expect((await second.c.passkeyStep(second.session, second.csrf, laptop)).status).toBe(200);
    const creds = (await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`)).body['identity-record'].credentials;
    expect(creds).toHaveLength(2);
    expect(await r.call('bright_energy', 'DELETE', `/v1/identity-records/${ir}/credentials/${creds[0]['credential-id']}`)).toMatchObject({ status: 204 });
    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-assert' });
    const c = new Customer(r);
    const s = await c.openPasskeyPage(start.body.passkey['redirect-url']);
    expect((await c.passkeyStep(s.session, s.csrf, phone)).status).toBe(400);
    expect((await c.passkeyStep(s.session, s.csrf, laptop)).status).toBe(200);
    expect(await methods()).toEqual(['passkey-assert', 'passkey-register']);
    expect(await r.call('bright_energy', 'DELETE', `/v1/identity-records/${ir}/credentials/${creds[1]['credential-id']}`)).toMatchObject({ status: 204 });
    expect(await methods()).toEqual([]);
  });

  it('the JSON endpoints need the page’s CSRF value and the register origin; unknown and expired sessions show clear pages', async () => {
    const { ir, redirect } = await enrol(r, '1800000006');
    const c = new Customer(r);
    const { session, csrf } = await c.openPasskeyPage(redirect['redirect-url']);
    expect((await c.options(session, '')).status).toBe(403);
    expect((await c.request('POST', '/id/passkey/options', { json: { session }, headers: { 'x-dar-csrf': csrf }, origin: 'https://evil.example' })).status).toBe(403);
    const otherBrowser = new Customer(r);
    expect((await otherBrowser.options(session, csrf)).status).toBe(403);

    expect((await c.get('/id/passkey/register?session=pks_000000000000000000000000')).status).toBe(404);
    expect((await c.get('/id/passkey/register?session=nonsense')).status).toBe(404);
    // An assert session is not served at the register path and vice versa.
    expect((await c.get(redirect['redirect-url'].replace('/register?', '/assert?'))).status).toBe(404);

    r.reg.clock.setOffset(r.reg.clock.offset + 6 * MIN);
    try {
      const expired = await c.get(redirect['redirect-url']);
      expect(expired.status).toBe(410);
      expect(expired.body).toContain('expired');
      expect((await c.options(session, csrf)).status).toBe(410);
      expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${redirect['token-ref']}`)).body.status).toBe('expired');
    } finally {
      r.reg.clock.setOffset(r.reg.clock.offset - 6 * MIN);
    }
  });

  it('serves the @simplewebauthn/browser bundle and the page script from the register origin', async () => {
    const lib = await r.app.inject({ method: 'GET', url: '/id/assets/webauthn.js' });
    expect(lib.statusCode).toBe(200);
    expect(lib.headers['content-type']).toContain('javascript');
    expect(lib.body).toContain('SimpleWebAuthnBrowser');
    const own = await r.app.inject({ method: 'GET', url: '/id/assets/passkey.js' });
    expect(own.body).toContain('/id/passkey/verify');
    const css = await r.app.inject({ method: 'GET', url: '/id/assets/id.css' });
    expect(css.headers['content-type']).toContain('text/css');
  });
});

describe('[ours] passkey-register across Data Users needs proof of an existing factor first', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const credentialsOf = async (ir: string) => (await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`)).body['identity-record'].credentials as unknown[];

  it('record with a passkey: the new one is stored only after an assertion with the existing one, in the same browser', async () => {
    const { ir, redirect } = await enrol(r, '1700000001');
    const owner = new SoftAuthenticator(ORIGIN);
    expect((await registerWith(r, redirect['redirect-url'], owner)).res.status).toBe(200);

    const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: '1700000001', method: 'passkey-register', 'passkey-return-url': RETURN });
    expect(start.status).toBe(200);
    const url = start.body.passkey['redirect-url'];
    const ref = start.body.passkey['token-ref'];

    // An attacker holding the session URL cannot skip the step-up: options offer only an assertion.
    const attacker = new Customer(r);
    const a = await attacker.openPasskeyPage(url);
    expect(a.page.body).toContain('First, confirm it’s you');
    expect(a.page.body).toContain('OctopusFlux Ltd');
    const rogue = new SoftAuthenticator(ORIGIN);
    const aOpt = await attacker.options(a.session, a.csrf);
    expect(aOpt.json.step).toBe('assert');
    expect((await attacker.verify(a.session, a.csrf, 'register', rogue.register({ challenge: aOpt.json.options.challenge }))).status).toBe(409);
    expect((await attacker.passkeyStep(a.session, a.csrf, rogue)).status).toBe(400);
    expect(await credentialsOf(ir)).toHaveLength(1);

    // The customer proves the existing passkey, then enrols a new one.
    const customer = new Customer(r);
    const s = await customer.openPasskeyPage(url);
    const step1 = await customer.passkeyStep(s.session, s.csrf, owner);
    expect(step1.status).toBe(200);
    expect(step1.json).toEqual({ done: false, next: 'register' });
    expect((await r.call('octopusflux', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('pending');
    // Still no way in for the attacker's browser after the customer's step-up.
    expect((await attacker.options(a.session, a.csrf)).json.step).toBe('assert');

    const newDevice = new SoftAuthenticator(ORIGIN);
    const step2 = await customer.passkeyStep(s.session, s.csrf, newDevice);
    expect(step2.step).toBe('register');
    expect(step2.status).toBe(200);
    expect(step2.json.redirect).toBe(`${RETURN}?dar-passkey-token=${ref}`);
    expect(await credentialsOf(ir)).toHaveLength(2);
    expect((await r.call('octopusflux', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');
    const created = await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
    expect(created.status).toBe(201);
  });

  it('record with only an e-mail: the step-up link goes to the record’s e-mail; its POST unlocks registration in that browser only', async () => {
    const mpxn = '1700000002';
    const res = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2023-01-01' }, 'expressed-by': 'data-subject', email: 'jo@example.net' });
    const ir = res.body.ir;
    const start = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'passkey-register' });
    expect(start.status).toBe(200);
    const ref = start.body.passkey['token-ref'];
    const url = start.body.passkey['redirect-url'];
    const outbox = await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`);
    expect(outbox.body.messages).toHaveLength(1);
    expect(outbox.body.messages[0].to).toBe('jo@example.net');
    expect(outbox.body.messages[0].purpose).toBe('reidentification.step-up');
    expect(outbox.body.messages[0].subject).toContain('Central Access Register Portal');

    const attacker = new Customer(r);
    const a = await attacker.openPasskeyPage(url);
    expect(a.page.body).toContain('Check your e-mail');
    expect(a.page.body).toContain('j*@example.net');
    const blocked = await attacker.options(a.session, a.csrf);
    expect(blocked.status).toBe(403);
    expect(blocked.json.error).toBe('step-up-required');

    const customer = new Customer(r);
    const link = await linkFromOutbox(r, ref);
    const landing = await customer.get(link);
    expect(landing.body).toContain('Is it you adding a new passkey?');
    const confirmed = await customer.request('POST', link, { form: { csrf: Customer.csrfField(landing.body)! } });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.location).toBe(`/id/passkey/register?session=${a.session}`);
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('pending');
    // Reopened, the used link says it was confirmed, and where to continue.
    const reopened = await customer.get(link);
    expect(reopened.status).toBe(200);
    expect(reopened.body).toContain('You’ve already confirmed it’s you');

    const s = await customer.openPasskeyPage(url);
    expect(s.page.body).toContain('Now create your new passkey');
    expect((await attacker.options(a.session, a.csrf)).status).toBe(403);
    const done = await customer.passkeyStep(s.session, s.csrf, new SoftAuthenticator(ORIGIN));
    expect(done.status).toBe(200);
    expect(done.json.redirect).toBe(`${ORIGIN}/id/passkey/done?session=${s.session}`);
    expect(await credentialsOf(ir)).toHaveLength(1);
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');
  });

  it('record with a passkey and an e-mail: "E-mail me a link instead" sends one step-up link (once)', async () => {
    const { ir, redirect } = await enrol(r, '1700000003', 'sam@example.org');
    expect((await registerWith(r, redirect['redirect-url'], new SoftAuthenticator(ORIGIN))).res.status).toBe(200);
    const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: '1700000003', method: 'passkey-register' });
    const ref = start.body.passkey['token-ref'];
    expect((await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages).toHaveLength(0);
    const c = new Customer(r);
    const s = await c.openPasskeyPage(start.body.passkey['redirect-url']);
    expect(s.page.body).toContain('E-mail me a link instead');
    const csrf = Customer.csrfField(s.page.body)!;
    const sent = await c.request('POST', '/id/passkey/email-link', { form: { session: s.session, csrf } });
    expect(sent.status).toBe(303);
    expect((await c.request('POST', '/id/passkey/email-link', { form: { session: s.session, csrf } })).status).toBe(303);
    expect((await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages).toHaveLength(1);
    expect((await c.request('POST', '/id/passkey/email-link', { form: { session: s.session, csrf: 'nope' } })).status).toBe(403);
    const link = await linkFromOutbox(r, ref);
    expect((await c.confirmMagicLink(link)).status).toBe(303);
    const page = await c.get(start.body.passkey['redirect-url']);
    expect(page.body).toContain('Now create your new passkey');
    expect((await c.passkeyStep(s.session, s.csrf, new SoftAuthenticator(ORIGIN))).status).toBe(200);
    expect(await credentialsOf(ir)).toHaveLength(2);
  });

  it('[ours] the same Data User steps up too: its customer proves the existing passkey before a new one is stored', async () => {
    const { ir, redirect } = await enrol(r, '1700000004');
    const owner = new SoftAuthenticator(ORIGIN);
    expect((await registerWith(r, redirect['redirect-url'], owner)).res.status).toBe(200);
    const same = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-register' });
    const stranger = await registerWith(r, same.body.passkey['redirect-url'], new SoftAuthenticator(ORIGIN));
    expect(stranger.res.step).toBe('assert');
    expect(stranger.res.status).toBe(400);
    expect(await credentialsOf(ir)).toHaveLength(1);
    const customer = await registerWith(r, same.body.passkey['redirect-url'], owner);
    expect(customer.res.json).toEqual({ done: false, next: 'register' });
    expect((await customer.c.passkeyStep(customer.session, customer.csrf, new SoftAuthenticator(ORIGIN))).status).toBe(200);
    expect(await credentialsOf(ir)).toHaveLength(2);
  });
  it('a device that cannot verify the person (no user verification): plain words and the e-mail route, never the library text', async () => {
    // Registration on a device without a PIN or biometric.
    const { ir, redirect } = await enrol(r, '1800000011', 'uv@example.org');
    const c = new Customer(r);
    const { page, session, csrf } = await c.openPasskeyPage(redirect['redirect-url']);
    // The page carries the e-mail route, hidden until the device fails to verify the person.
    expect(page.body).toMatch(/<div id="no-uv" class="notice" hidden>[\s\S]*cannot check that it’s you[\s\S]*by e-mail/);
    const reg = await c.passkeyStep(session, csrf, new SoftAuthenticator(ORIGIN), { userVerified: false });
    expect(reg.status).toBe(400);
    expect(reg.json.error).toBe('user-verification');
    expect(reg.json.message).toContain('This device could not check that it’s you');
    expect(reg.json.message).toContain('by e-mail');
    expect(reg.json.message).not.toMatch(/User verification|required|could not be verified/);
    // The library's detail is kept for operators only, scrubbed.
    const audit = (await r.probe.auditEvents('reidentification.passkey-failed', { ir })).at(-1)!;
    expect(audit.detail.error).toMatch(/[Uu]ser verification/);
    expect(JSON.stringify(audit.detail)).not.toContain('uv@example.org');

    // Assertion with a registered passkey from a device that does not verify the person.
    const auth = new SoftAuthenticator(ORIGIN);
    expect((await c.passkeyStep(session, csrf, auth)).status).toBe(200);
    const start = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn: '1800000011', method: 'passkey-assert', 'passkey-return-url': `${ORIGIN}/portal/continue` });
    expect(start.status).toBe(200);
    const c2 = new Customer(r);
    const s2 = await c2.openPasskeyPage(start.body.passkey['redirect-url']);
    // A portal's request offers the portal's e-mail route.
    expect(s2.page.body).toMatch(/<div id="no-uv"[^>]*hidden>[\s\S]*href="\/portal"[\s\S]*Email me a link/);
    const asserted = await c2.passkeyStep(s2.session, s2.csrf, auth, { userVerified: false });
    expect(asserted.status).toBe(400);
    expect(asserted.json.error).toBe('user-verification');
    expect(asserted.json.message).not.toMatch(/User verification|required/);
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${start.body.passkey['token-ref']}`)).body.status).toBe('pending');
  });

  it('the page script never shows the library text: every failure is mapped to plain words, NotAllowedError offers the e-mail route', async () => {
    const script = (await new Customer(r).get('/id/assets/passkey.js')).body;
    expect(script).not.toContain('return (err && err.message)');
    expect(script).toContain("err.name === 'NotAllowedError'");
    expect(script).toContain('noUv.hidden = false');
  });

  it('cross-device: the e-mail step confirmed on another device is noticed here, which offers a new link; only a proving browser may enrol', async () => {
    const mpxn = '1700000021';
    const created = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2023-01-01' }, 'expressed-by': 'data-subject', email: 'two@example.net' });
    const ir = created.body.ir as string;
    const start = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'passkey-register' });
    const ref = start.body.passkey['token-ref'];
    const url = start.body.passkey['redirect-url'] as string;
    const desktop = new Customer(r);
    const d = await desktop.openPasskeyPage(url);
    expect(d.page.body).toContain('Check your e-mail');
    expect(d.page.body).toContain(`data-progress-url="/id/passkey/progress?session=${d.session}"`);
    expect(d.page.body).toContain('/id/assets/step-up-wait.js');
    const progress = async (c: Customer) => (await c.get(`/id/passkey/progress?session=${d.session}`)).json;
    expect(await progress(desktop)).toMatchObject({ state: 'ready', step: 'await-email', 'confirmed-elsewhere-at': null });

    // The customer opens the e-mail on their phone and confirms there.
    const phone = new Customer(r);
    const link = await linkFromOutbox(r, ref);
    expect((await phone.confirmMagicLink(link)).status).toBe(303);
    const linkOpenedAt = (await r.svc.tokens.find(ref))!.linkOpenedAt!;
    // The phone's browser (it holds the step-up proof) is told to go on; the desktop notices.
    expect(await progress(phone)).toMatchObject({ step: 'register' });
    const seen = await progress(desktop);
    expect(seen['confirmed-elsewhere-at']).toBe(linkOpenedAt);
    expect(seen.message).toContain('You confirmed on another device');
    expect(seen.message).toContain('continue there, or get a new link here');
    expect(seen['may-resend']).toBe(true);
    const page = await desktop.get(url);
    expect(page.body).toContain('You confirmed on another device');
    expect(page.body).not.toContain('Step 1 of 2');
    expect(page.body).toContain('E-mail me a new link for this device');
    // Not weakened: the desktop still cannot enrol without proving a factor itself.
    const refused = await desktop.options(d.session, d.csrf);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toBe('step-up-required');

    // A new link for the desktop; confirming it there lets the desktop enrol.
    const csrf = Customer.csrfField(page.body)!;
    expect((await desktop.request('POST', '/id/passkey/email-link', { form: { session: d.session, csrf } })).status).toBe(303);
    const mails = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages as { purpose: string; to: string }[];
    expect(mails.filter((m) => m.purpose === 'reidentification.step-up')).toHaveLength(2);
    expect(mails[0].to).toBe('two@example.net');
    expect(await progress(desktop)).toMatchObject({ step: 'await-email', 'confirmed-elsewhere-at': null });
    const newLink = await linkFromOutbox(r, ref);
    expect(newLink).not.toBe(link);
    expect((await desktop.confirmMagicLink(newLink)).status).toBe(303);
    expect(await progress(desktop)).toMatchObject({ step: 'register' });
    const done = await desktop.passkeyStep(d.session, d.csrf, new SoftAuthenticator(ORIGIN));
    expect(done.status).toBe(200);
    expect(await credentialsOf(ir)).toHaveLength(1);
    // The phone can no longer use the finished request.
    expect((await phone.options(d.session, d.csrf)).status).toBeGreaterThanOrEqual(403);
  });

  it('cross-device: new links for this device are limited', async () => {
    const mpxn = '1700000022';
    await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2023-01-01' }, 'expressed-by': 'data-subject', email: 'three@example.net' });
    const start = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'passkey-register' });
    const ref = start.body.passkey['token-ref'];
    const desktop = new Customer(r);
    const d = await desktop.openPasskeyPage(start.body.passkey['redirect-url']);
    for (let i = 0; i < 2; i++) {
      expect((await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref))).status).toBe(303);
      const page = await desktop.get(start.body.passkey['redirect-url']);
      expect(page.body).toContain('You confirmed on another device');
      expect((await desktop.request('POST', '/id/passkey/email-link', { form: { session: d.session, csrf: Customer.csrfField(page.body)! } })).status).toBe(303);
    }
    expect((await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref))).status).toBe(303);
    const page = await desktop.get(start.body.passkey['redirect-url']);
    expect(page.body).toContain('We cannot send more links for this request');
    expect(page.body).not.toContain('E-mail me a new link for this device');
    const refused = await desktop.request('POST', '/id/passkey/email-link', { form: { session: d.session, csrf: d.csrf } });
    expect(refused.status).toBe(429);
    expect((await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages).toHaveLength(3);
  });
});
