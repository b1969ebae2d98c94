/**
 * Input the register must not read generously (docs/security.md, canonical values):
 * - JSON bodies are not type-coerced: "" is not null, "30" is not 30, "true" is not true;
 * - an invalid value in a nullable field gets one error, not a companion "must be null";
 * - DCC sightings cannot be dated in the future nor end before they began;
 * - the contact-change notice says what changed (an e-mail address, or a passkey).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from './support/customer.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

const messages = (res: { body: any }) => (res.body.errors as { message: string }[]).map((e) => e.message);
const identity = (mpxn: string, patch: Record<string, unknown> = {}) => ({ 'pii-principal': { mpxn, 'move-in-date': '2023-01-01' }, 'expressed-by': 'data-subject', ...patch });

let r: TestRegister;
beforeAll(async () => {
  r = await testRegister();
});
afterAll(() => r.close());

describe('JSON bodies are not type-coerced', () => {
  it('an empty expiry is a 400 naming the field, not a permanent consent (POST and PUT)', async () => {
    const body = consentBody(r.demo!.ir);
    body['access-event'].expiry = '';
    const created = await r.call('bright_energy', 'POST', '/v1/access-records', body);
    expect(created.status).toBe(400);
    expect(messages(created).join(' ')).toContain('access-event.expiry');
    const ak = (await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(r.demo!.ir))).body['access-token'].key;
    const replaced = await r.call('bright_energy', 'PUT', `/v1/access-records/${ak}`, body);
    expect(replaced.status).toBe(400);
    expect(messages(replaced).join(' ')).toContain('access-event.expiry');
  });

  it('an empty e-mail or address is a 400, not "none"', async () => {
    const email = await r.call('bright_energy', 'POST', '/v1/identity-records', identity('1750000001', { email: '' }));
    expect(email.status).toBe(400);
    expect(messages(email).join(' ')).toContain('"email"');
    const address = await r.call('bright_energy', 'POST', '/v1/identity-records', { ...identity('1750000001'), 'pii-principal': { mpxn: '1750000001', 'move-in-date': '2023-01-01', address: '' } });
    expect(address.status).toBe(400);
    expect(messages(address).join(' ')).toContain('pii-principal.address');
  });

  it('strings are not numbers or booleans in a body', async () => {
    const hook = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'http://127.0.0.1:9/strict', 'alert-email': 'ops@bright.example', 'notify-days-before': '30' });
    expect(hook.status).toBe(400);
    expect(messages(hook).join(' ')).toContain('notify-days-before');
    const onboard = await r.call('bright_energy', 'POST', '/v1/identity-records', identity('1750000002', { 'initiate-passkey-registration': 'true', 'passkey-return-url': 'http://localhost:5001/return' }));
    expect(onboard.status).toBe(400);
    expect(messages(onboard).join(' ')).toContain('initiate-passkey-registration');
  });

  it('query strings are still read as numbers', async () => {
    expect((await r.call('bright_energy', 'GET', '/v1/records?limit=5')).status).toBe(200);
  });
});

describe('one error per invalid nullable field', () => {
  it('no companion "must be null" next to the specific error', async () => {
    const body = consentBody(r.demo!.ir);
    body['access-event'].expiry = '2026-02-30';
    const cases = [
      await r.call('bright_energy', 'POST', '/v1/access-records', body),
      await r.call('bright_energy', 'POST', '/v1/identity-records', identity('1750000003', { email: 'not-an-address' })),
      await r.call('bright_energy', 'POST', '/v1/identity-records', {
        ...identity('1750000003'),
        'pii-principal': { mpxn: '1750000003', 'move-in-date': '2023-01-01', address: { addressLine1: '1 High St', townCity: 'Leeds', postcode: '!!' } },
      }),
      await r.call('bright_energy', 'POST', '/v1/identity-records', identity('1750000003', { 'principal-verification': 'x' })),
      await r.call('dcc_system', 'POST', '/v1/discovered-access', {
        mpxn: '1750000003',
        'organisation-name': 'X Ltd',
        'organisation-reference': 'X-1',
        'first-seen': '2026-05-01',
        'last-seen': '2026-02-30',
        'data-types-observed': ['HH-CONSUMPTION'],
        'source-reference': 'S-1',
      }),
    ];
    for (const res of cases) {
      expect(res.status).toBe(400);
      expect(messages(res).length, messages(res).join(' | ')).toBe(1);
      expect(messages(res)[0]).not.toMatch(/must be null$/);
    }
  });

  it('a wrong type says the field may also be null', async () => {
    const res = await r.call('bright_energy', 'POST', '/v1/identity-records', identity('1750000004', { email: 42 }));
    expect(messages(res)).toEqual(['body field "email" must be string or null']);
  });
});

describe('DCC sightings are in the past and in order', () => {
  const sighting = (patch: Record<string, unknown>) => ({
    mpxn: '1750000010',
    'organisation-name': 'Shadow Ltd',
    'organisation-reference': 'SH-1',
    'first-seen': '2026-05-01',
    'data-types-observed': ['HH-CONSUMPTION'],
    'source-reference': 'S-1',
    ...patch,
  });
  const inDays = (days: number) => new Date(r.reg.clock.now().getTime() + days * 86_400_000).toISOString().slice(0, 10);

  it('first-seen after last-seen → 400', async () => {
    const res = await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting({ 'first-seen': '2026-06-01', 'last-seen': '2026-05-01' }));
    expect(res.status).toBe(400);
    expect(messages(res).join(' ')).toContain('first-seen must not be after last-seen');
    const instants = await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting({ 'first-seen': '2026-05-02T10:00:00Z', 'last-seen': '2026-05-02T09:00:00Z' }));
    expect(instants.status).toBe(400);
    // A date names a whole day: a last-seen on that day in the reporter's time zone is in order.
    expect((await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting({ 'organisation-reference': 'SH-3', 'first-seen': '2026-05-02', 'last-seen': '2026-05-02T01:00:00+02:00' }))).status).toBe(201);
  });

  it('a future first-seen or last-seen → 400, and never extends a stored sighting', async () => {
    const created = await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting({ 'last-seen': '2026-06-01' }));
    expect(created.status).toBe(201);
    const future = await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting({ 'last-seen': '2031-11-02' }));
    expect(future.status).toBe(400);
    expect(messages(future).join(' ')).toContain('last-seen');
    expect((await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting({ 'first-seen': inDays(2), 'organisation-reference': 'SH-2' }))).status).toBe(400);
    const stored = await r.call('bright_energy', 'GET', `/v1/access-records/${created.body.ak}`);
    expect(stored.body['access-record']['discovered-access']['last-seen']).toBe('2026-06-01');
    // Today (within the clock-skew allowance) is fine.
    expect((await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting({ 'last-seen': r.reg.clock.iso() }))).status).toBeLessThan(300);
  });
});

describe('the contact-change notice says what changed', () => {
  const notices = async (to: string) => ((await r.call('admin_ops', 'GET', '/v1/admin/outbox?purpose=identity-record.contact-changed')).body.messages as { to: string; text: string }[]).filter((m) => m.to === to);

  it('a passkey on new details without an e-mail is not called "a different e-mail address"', async () => {
    const mpxn = '1750000020';
    expect((await r.call('bright_energy', 'POST', '/v1/identity-records', identity(mpxn, { email: 'kept@example.org' }))).status).toBe(201);
    const planted = await r.call('octopusflux', 'POST', '/v1/identity-records', identity(mpxn, { 'initiate-passkey-registration': true, 'passkey-return-url': 'http://localhost:5001/return' }));
    expect(planted.status).toBe(201);
    const c = new Customer(r);
    const { session, csrf } = await c.openPasskeyPage(planted.body['passkey-registration-redirect']['redirect-url']);
    expect((await c.passkeyStep(session, csrf, new SoftAuthenticator('http://localhost:5001'))).status).toBe(200);
    const [notice] = await notices('kept@example.org');
    expect(notice.text).toContain('a passkey was set up on new contact details');
    expect(notice.text).not.toContain('different e-mail address');
  });

  it('a different e-mail address is still called that', async () => {
    const mpxn = '1750000021';
    expect((await r.call('bright_energy', 'POST', '/v1/identity-records', identity(mpxn, { email: 'first@example.org' }))).status).toBe(201);
    expect((await r.call('octopusflux', 'POST', '/v1/identity-records', identity(mpxn, { email: 'second@example.org' }))).status).toBe(201);
    const [notice] = await notices('first@example.org');
    expect(notice.text).toContain('registered a different e-mail address');
  });
});
