import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer, linkFromOutbox } from './support/customer.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

const DEMO_MPXN = '2312345678901';

type AuditEvent = { actor: string; 'event-type': string; ir: string | null; subject: string | null; detail: Record<string, any> };
const events = async (r: TestRegister, type: string): Promise<AuditEvent[]> => (await r.call('admin_ops', 'GET', `/v1/admin/audit?event-type=${encodeURIComponent(type)}&limit=500`)).body.events;

describe('support role: what it may and may not do (403 AUTH003 before validation)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('signs in, and its account says support', async () => {
    const self = await r.call('support_desk', 'GET', '/v1/self');
    expect(self.status).toBe(200);
    expect(self.body.account).toMatchObject({ 'account-id': 'support_desk', role: 'support' });
  });

  it('may read: identity records, tokens, access records, discovered access, the audit log, the account directory', async () => {
    for (const url of [
      `/v1/admin/identity-records?mpxn=${DEMO_MPXN}`,
      `/v1/admin/identity-records/exists?mpxn=${DEMO_MPXN}`,
      `/v1/admin/identity-records/${r.demo!.ir}`,
      '/v1/admin/reidentifications?status=pending',
      '/v1/admin/records',
      '/v1/admin/discovered-access',
      '/v1/admin/audit',
      '/v1/admin/audit/verify',
      '/v1/admin/stats',
      '/v1/admin/accounts?role=data_user',
      '/v1/admin/accounts/bright_energy',
    ]) {
      const res = await r.call('support_desk', 'GET', url);
      expect(res.status, `${url}: ${JSON.stringify(res.body).slice(0, 200)}`).toBe(200);
    }
  });

  it('may not change anything: 403 AUTH003, even for invalid input (which would be 400 for an admin)', async () => {
    const refused: [string, string, unknown][] = [
      ['POST', '/v1/admin/accounts', { 'account-id': '' }],
      ['PATCH', '/v1/admin/accounts/bright_energy', { 'display-name': '' }],
      ['POST', '/v1/admin/accounts/bright_energy/suspend', { reason: 7 }],
      ['POST', '/v1/admin/accounts/bright_energy/terminate', undefined],
      ['POST', '/v1/admin/accounts/bright_energy/rotate-secret', undefined],
      ['POST', '/v1/admin/accounts/bright_energy/sign-out-everywhere', undefined],
      ['POST', '/v1/admin/records/ak_not-an-ak/revoke', { reason: 'nope' }],
      ['DELETE', `/v1/admin/identity-records/${r.demo!.ir}`, undefined],
      ['POST', '/v1/admin/clock', { set: 'not a time' }],
      ['GET', '/v1/admin/clock', undefined],
      ['GET', '/v1/admin/settings', undefined],
      ['GET', '/v1/admin/webhooks', undefined],
      ['GET', '/v1/admin/deliveries?status=nonsense', undefined],
      ['POST', '/v1/admin/sandbox/cot-events', { nonsense: true }],
      ['POST', '/v1/admin/sandbox/discovered-access', {}],
      ['POST', '/v1/admin/deliveries/evt_not-an-event/redeliver', undefined],
      ['GET', '/v1/admin/outbox', undefined],
    ];
    for (const [method, url, body] of refused) {
      const res = await r.call('support_desk', method, url, body);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.errors[0]['error-code'], `${method} ${url}`).toBe('AUTH003');
    }
    // The same invalid input from an administrator is a validation error: the role was decided first.
    expect((await r.call('admin_ops', 'PATCH', '/v1/admin/accounts/bright_energy', { 'display-name': '' })).status).toBe(400);
    // Nothing changed.
    expect((await r.svc.accounts.get('bright_energy')).status).toBe('active');
  });

  it('may not use the Data User API', async () => {
    const res = await r.call('support_desk', 'GET', '/v1/records');
    expect(res.status).toBe(403);
    expect(res.body.errors[0]['error-code']).toBe('AUTH003');
  });
});

describe('audited reads: identity-record.read, masked until revealed', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('a search masks the address and is audited with who, the MPxN, what it found and where from', async () => {
    const res = await r.call('support_desk', 'GET', `/v1/admin/identity-records?mpxn=${DEMO_MPXN}`);
    expect(res.status).toBe(200);
    const row = res.body['identity-records'][0];
    expect(row.masked).toBe(true);
    const address = row['pii-principal'].address;
    expect(address.postcode).toMatch(/^[A-Z0-9]{2,4} •••$/);
    expect(address.addressLine1).toMatch(/^.•{3,}$/);
    const [e] = await events(r, 'identity-record.read');
    expect(e).toMatchObject({ actor: 'support_desk', subject: DEMO_MPXN, detail: { from: '127.0.0.1', search: { mpxn: DEMO_MPXN }, found: [r.demo!.ir] } });
  });

  it('an e-mail search is audited without the e-mail address', async () => {
    await r.call('support_desk', 'GET', '/v1/admin/identity-records?email=customer@example.com');
    const [e] = await events(r, 'identity-record.read');
    expect(e.detail.search).toEqual({ email: 'keyed-hash match' });
    expect(JSON.stringify(e)).not.toMatch(/customer@example/i);
  });

  it('the detail is masked; reveal=true shows address and e-mail, and the audit says revealed', async () => {
    const ir = r.demo!.ir;
    const masked = await r.call('support_desk', 'GET', `/v1/admin/identity-records/${ir}`);
    expect(masked.body.masked).toBe(true);
    expect(masked.body.email).toMatch(/^c\*+r@example\.com$/);
    const revealed = await r.call('admin_ops', 'GET', `/v1/admin/identity-records/${ir}?reveal=true`);
    expect(revealed.status).toBe(200);
    expect(revealed.body.masked).toBe(false);
    expect(revealed.body.email).toBe('customer@example.com');
    const full = revealed.body['identity-record']['pii-principal'].address;
    const hidden = masked.body['identity-record']['pii-principal'].address;
    expect(full.addressLine1).not.toBe(hidden.addressLine1);
    expect(full.addressLine1[0]).toBe(hidden.addressLine1[0]);
    expect(hidden.postcode.startsWith(full.postcode.split(' ')[0])).toBe(true);
    const [reveal, read] = await events(r, 'identity-record.read');
    expect(reveal).toMatchObject({ actor: 'admin_ops', ir, detail: { from: '127.0.0.1', revealed: true } });
    expect(read).toMatchObject({ actor: 'support_desk', ir, detail: { from: '127.0.0.1', revealed: false } });
    // Audit readers see the record id, never the address itself.
    expect(JSON.stringify(reveal)).not.toContain(full.addressLine1);
  });

  it('the client address is the one the request came from', async () => {
    await r.app.inject({ method: 'GET', url: `/v1/admin/identity-records/${r.demo!.ir}`, remoteAddress: '203.0.113.9', headers: { authorization: `Bearer ${await r.token('support_desk')}` } });
    const [e] = await events(r, 'identity-record.read');
    expect(e.detail.from).toBe('203.0.113.9');
  });
});

describe('audited sign-ins and account changes', () => {
  let r: TestRegister;
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const signIn = (id: string, secret: string, remoteAddress = '198.51.100.7') => r.app.inject({ method: 'GET', url: '/v1/auth/token', remoteAddress, headers: { authorization: basic(id, secret) } });
  beforeAll(async () => {
    r = await testRegister();
    // The audit reader signs in first, so its own sign-in is not the newest event.
    await r.token('admin_ops');
  });
  afterAll(() => r.close());

  it('account.login with the client address; account.login-failed for a wrong secret, never the secret', async () => {
    expect((await signIn('support_desk', 'support-secret-demo')).statusCode).toBe(200);
    const [ok] = await events(r, 'account.login');
    expect(ok).toMatchObject({ actor: 'support_desk', subject: 'support_desk', detail: { from: '198.51.100.7' } });
    expect((await signIn('support_desk', 'wrong-guess-123', '198.51.100.8')).statusCode).toBe(401);
    expect((await signIn('nobody_here', 'another-guess-456', '198.51.100.8')).statusCode).toBe(401);
    const [unknown, wrong] = await events(r, 'account.login-failed');
    expect(wrong).toMatchObject({ subject: 'support_desk', detail: { from: '198.51.100.8', reason: 'wrong-credentials', 'known-account': true } });
    expect(unknown).toMatchObject({ subject: 'nobody_here', detail: { reason: 'wrong-credentials', 'known-account': false } });
    const all = JSON.stringify((await r.call('admin_ops', 'GET', '/v1/admin/audit?limit=500')).body.events);
    for (const secret of ['support-secret-demo', 'wrong-guess-123', 'another-guess-456']) expect(all).not.toContain(secret);
  });

  it('PATCH lists each changed field with from and to; suspension keeps its reason; a suspended sign-in is a failure', async () => {
    const patch = await r.call('admin_ops', 'PATCH', '/v1/admin/accounts/greenswitch', { 'display-name': 'GreenSwitch Analytics Ltd', 'contact-url': 'https://greenswitch.example/help' });
    expect(patch.status).toBe(200);
    const [updated] = await events(r, 'account.updated');
    expect(updated.subject).toBe('greenswitch');
    expect(updated.detail.changes).toEqual({
      'display-name': { from: 'GreenSwitch Analytics', to: 'GreenSwitch Analytics Ltd' },
      'contact-url': { from: expect.anything(), to: 'https://greenswitch.example/help' },
    });
    expect(updated.detail.fields).toEqual(['display-name', 'contact-url']);

    const suspend = await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/suspend', { reason: 'Contract under review' });
    expect(suspend.status).toBe(200);
    const [suspended] = await events(r, 'account.suspended');
    expect(suspended).toMatchObject({ actor: 'admin_ops', subject: 'greenswitch', detail: { reason: 'Contract under review' } });
    expect((await signIn('greenswitch', 'greenswitch-secret-demo')).statusCode).toBe(401);
    const [failed] = await events(r, 'account.login-failed');
    expect(failed).toMatchObject({ subject: 'greenswitch', detail: { reason: 'suspended' } });

    // Without a body (as before) a suspension still works; its reason is null.
    await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/reactivate');
    const bare = await r.app.inject({ method: 'POST', url: '/v1/admin/accounts/greenswitch/suspend', headers: { authorization: `Bearer ${await r.token('admin_ops')}` } });
    expect(bare.statusCode).toBe(200);
    expect((await events(r, 'account.suspended'))[0].detail).toEqual({ reason: null });
    const bad = await r.call('admin_ops', 'POST', '/v1/admin/accounts/bright_energy/suspend', { reason: 'x'.repeat(501) });
    expect(bad.status).toBe(400);
  });
});

describe('POST /v1/admin/reidentifications/{tokenRef}/cancel', () => {
  let r: TestRegister;
  /** Support staff start a re-identification on octopusflux's behalf (the desk). */
  let meters = 0;
  const start = async (method = 'magic-link', onBehalfOf = 'octopusflux') => {
    // A customer of its own per challenge (starting is rate-limited per MPxN), with an e-mail
    // address, registered by another Data User.
    const mpxn = `17000000${String(++meters).padStart(2, '0')}`;
    const ir = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2023-01-01' }, 'expressed-by': 'data-subject', email: `c${meters}@example.org` });
    expect(ir.status).toBe(201);
    const res = await r.call('support_desk', 'POST', '/v1/admin/reidentifications', { mpxn, method, 'on-behalf-of': onBehalfOf });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ref = (res.body['magic-link']?.['token-ref'] ?? res.body.passkey?.['token-ref']) as string;
    return { ref, customerUrl: res.body['customer-url'] as string };
  };
  const publicStatus = async (ref: string) => (await r.call('octopusflux', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('a pending token becomes cancelled; its link then changes nothing and says so; the initiator sees expired', async () => {
    const { ref } = await start();
    const link = await linkFromOutbox(r, ref);
    const customer = new Customer(r);
    // The customer has the page open (with its CSRF value) when support cancels.
    const page = await customer.get(link);
    expect(page.status).toBe(200);
    const csrf = Customer.csrfField(page.body);

    const res = await r.call('support_desk', 'POST', `/v1/admin/reidentifications/${ref}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body.token).toMatchObject({ 'token-ref': ref, status: 'cancelled' });

    const pressed = await customer.request('POST', link, { form: { csrf: csrf ?? '' } });
    expect(pressed.status).toBe(410);
    expect(pressed.body).toContain('was cancelled');
    const reopened = await customer.get(link);
    expect(reopened.status).toBe(410);
    expect(reopened.body).toContain('was cancelled');
    expect(reopened.body).not.toContain('Yes, it&#39;s me');
    expect(await publicStatus(ref)).toBe('expired');
    expect((await r.call('admin_ops', 'GET', `/v1/admin/reidentifications/${ref}`)).body.token.status).toBe('cancelled');
    expect((await r.svc.tokens.find(ref))!.confirmedAt).toBeNull();

    const [e] = await events(r, 'reidentification.cancelled');
    expect(e).toMatchObject({ actor: 'support_desk', subject: ref, detail: { was: 'pending', method: 'magic-link' } });
  });

  it('the admin list filters status=cancelled, and cancelled tokens are in no other status', async () => {
    const { ref } = await start();
    await r.call('admin_ops', 'POST', `/v1/admin/reidentifications/${ref}/cancel`);
    const cancelled = (await r.call('support_desk', 'GET', '/v1/admin/reidentifications?status=cancelled')).body.tokens.map((t: { 'token-ref': string }) => t['token-ref']);
    expect(cancelled).toContain(ref);
    for (const status of ['pending', 'confirmed', 'consumed', 'expired']) {
      const refs = (await r.call('support_desk', 'GET', `/v1/admin/reidentifications?status=${status}`)).body.tokens.map((t: { 'token-ref': string }) => t['token-ref']);
      expect(refs, status).not.toContain(ref);
    }
  });

  it('a confirmed, unused token cancelled: POST /access-records answers as for an expired token (422 VAL002)', async () => {
    const { ref } = await start();
    const confirmed = await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref));
    expect(confirmed.status).toBeLessThan(400);
    expect(await publicStatus(ref)).toBe('confirmed');
    expect((await r.call('support_desk', 'POST', `/v1/admin/reidentifications/${ref}/cancel`)).status).toBe(200);
    expect((await events(r, 'reidentification.cancelled'))[0].detail.was).toBe('confirmed');
    const use = await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
    expect(use.status).toBe(422);
    expect(use.body.errors[0]['error-code']).toBe('VAL002');
    expect(use.body.errors[0].message).toMatch(/cancelled/);
  });

  it("a portal's cancelled token no longer lists the meter point (403, as for an unusable token)", async () => {
    const { ref } = await start('magic-link', 'portal_ops');
    await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref));
    await r.call('support_desk', 'POST', `/v1/admin/reidentifications/${ref}/cancel`);
    const mpxn = (await r.svc.tokens.find(ref))!.mpxn;
    const list = await r.call('portal_ops', 'GET', `/v1/meter-points/${mpxn}/access-records?reidentification-token=${ref}`);
    expect(list.status).toBe(403);
    expect(list.body.errors[0]['error-code']).toBe('AUTH003');
  });

  it('a cancelled passkey request page says so and offers no ceremony', async () => {
    const { ref, customerUrl } = await start('passkey-register', 'portal_ops');
    expect(customerUrl).toMatch(/\/id\/passkey\/register\?session=pks_/);
    const c = new Customer(r);
    const before = await c.openPasskeyPage(customerUrl);
    expect(before.page.status).toBe(200);
    await r.call('support_desk', 'POST', `/v1/admin/reidentifications/${ref}/cancel`);
    const after = await c.get(customerUrl);
    expect(after.status).toBe(410);
    expect(after.body).toContain('was cancelled');
    const opts = await c.options(before.session, before.csrf);
    expect(opts.status).toBe(410);
    expect(opts.json.error).toBe('cancelled');
  });

  it('a consumed, expired, cancelled or unknown token cannot be cancelled (409 / 404); data users may not cancel (403)', async () => {
    const { ref } = await start();
    expect((await r.call('support_desk', 'POST', `/v1/admin/reidentifications/${ref}/cancel`)).status).toBe(200);
    const again = await r.call('support_desk', 'POST', `/v1/admin/reidentifications/${ref}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.errors[0]['error-code']).toBe('CON001');
    expect((await r.call('support_desk', 'POST', '/v1/admin/reidentifications/mlr_000000000000000000000000/cancel')).status).toBe(404);
    const other = await start();
    const du = await r.call('octopusflux', 'POST', `/v1/admin/reidentifications/${other.ref}/cancel`);
    expect(du.status).toBe(403);
    expect(du.body.errors[0]['error-code']).toBe('AUTH003');
    // Consumed: confirmed and used for a record.
    const used = await start();
    await new Customer(r).confirmMagicLink(await linkFromOutbox(r, used.ref));
    expect((await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': used.ref }))).status).toBe(201);
    expect((await r.call('support_desk', 'POST', `/v1/admin/reidentifications/${used.ref}/cancel`)).status).toBe(409);
  });
});
