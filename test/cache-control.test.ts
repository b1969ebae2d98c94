import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer, linkFromOutbox } from './support/customer.js';
import { testRegister, type TestRegister } from './support/register.js';

const DEMO_MPXN = '2312345678901';
const RETURN = 'http://localhost:5001/return';

/**
 * Every answer that carries a bearer token, a secret, a token-ref or personal data says
 * `Cache-Control: no-store`, so no browser or proxy cache keeps it. Static assets stay cacheable.
 */
describe('Cache-Control: no-store on tokens, secrets and personal data', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const noStore = (what: string, res: { status: number; headers: Record<string, unknown> }, status?: number) => {
    if (status !== undefined) expect(res.status, what).toBe(status);
    expect(res.headers['cache-control'], what).toBe('no-store');
  };

  it('sign-in, secrets returned once, and the account itself', async () => {
    const login = await r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: `Basic ${Buffer.from('bright_energy:bright-secret-demo').toString('base64')}` } });
    noStore('GET /v1/auth/token', { status: login.statusCode, headers: login.headers }, 200);
    const failed = await r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: `Basic ${Buffer.from('bright_energy:wrong').toString('base64')}` } });
    noStore('GET /v1/auth/token (401)', { status: failed.statusCode, headers: failed.headers }, 401);
    noStore('GET /v1/self', await r.call('greenswitch', 'GET', '/v1/self'), 200);
    noStore('POST /v1/self/rotate-secret', await r.call('greenswitch', 'POST', '/v1/self/rotate-secret'), 200);
    const created = await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'cache_probe', 'display-name': 'Cache Probe Ltd', role: 'data_user', 'contact-url': 'https://probe.example/contact' });
    noStore('POST /v1/admin/accounts (returns secret-key)', created, 201);
    expect(created.body['secret-key']).toBeTruthy();
    noStore('POST /v1/admin/accounts/{id}/rotate-secret', await r.call('admin_ops', 'POST', '/v1/admin/accounts/cache_probe/rotate-secret'), 200);
    noStore('GET /v1/admin/accounts', await r.call('admin_ops', 'GET', '/v1/admin/accounts'), 200);
  });

  it('webhook signing secrets', async () => {
    const created = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'http://localhost:9/cache-probe', 'alert-email': 'ops@bright-energy.example' });
    noStore('POST /v1/webhooks (returns signing-secret)', created, 201);
    noStore('PATCH /v1/webhooks/{wid} rotate-secret', await r.call('bright_energy', 'PATCH', `/v1/webhooks/${created.body.webhook.wid}`, { 'rotate-secret': true }), 200);
    noStore('GET /v1/webhooks', await r.call('bright_energy', 'GET', '/v1/webhooks'), 200);
  });

  it('identity records, re-identification and token-refs, the outbox', async () => {
    const ir = r.demo!.ir;
    const created = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: '1500000003', 'move-in-date': '2023-01-01' }, 'expressed-by': 'data-subject', email: 'cache@example.org' });
    noStore('POST /v1/identity-records', created, 201);
    noStore('GET /v1/identity-records/{ir}', await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`), 200);
    noStore('GET /v1/identity-records?email=', await r.call('bright_energy', 'GET', '/v1/identity-records?email=customer%40example.com'), 200);
    noStore('GET /v1/identity-records/exists', await r.call('octopusflux', 'GET', `/v1/identity-records/exists?mpxn=${DEMO_MPXN}`), 200);
    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    noStore('POST /v1/identity-records/{ir}/re-identify', start, 200);
    const ref = start.body['magic-link']['token-ref'];
    noStore('GET /v1/identity-records/{ir}/re-identify/{ref}', await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`), 200);
    const cross = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
    noStore('POST /v1/identity-records/reidentify', cross, 200);
    const crossRef = cross.body['magic-link']['token-ref'];
    noStore('GET /v1/identity-records/reidentify/{ref}', await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${crossRef}`), 200);
    const link = await linkFromOutbox(r, crossRef);
    const phone = new Customer(r);
    noStore('GET /id/magic/{secret}', await phone.get(link), 200);
    await phone.confirmMagicLink(link);
    noStore('GET /v1/meter-points/{mpxn}/access-records?reidentification-token=', await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records?reidentification-token=${crossRef}`), 200);
    noStore('GET /v1/admin/identity-records', await r.call('admin_ops', 'GET', `/v1/admin/identity-records?q=${DEMO_MPXN}`));
    noStore('GET /v1/admin/identity-records/{ir}', await r.call('admin_ops', 'GET', `/v1/admin/identity-records/${ir}`), 200);
    noStore('GET /v1/admin/outbox', await r.call('admin_ops', 'GET', '/v1/admin/outbox'), 200);
    noStore('GET /v1/admin/reidentifications', await r.call('admin_ops', 'GET', '/v1/admin/reidentifications'), 200);
    noStore('POST /v1/admin/reidentifications', await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { 'on-behalf-of': 'bright_energy', mpxn: DEMO_MPXN, method: 'magic-link', 'redirect-url': RETURN }));
    noStore('GET /v1/records', await r.call('bright_energy', 'GET', '/v1/records'), 200);
    noStore('GET /v1/admin/audit', await r.call('admin_ops', 'GET', '/v1/admin/audit'), 200);
  });

  it('passkey pages and the portal', async () => {
    const enrol = await r.call('bright_energy', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn: '1500000004', 'move-in-date': '2023-01-01' },
      'expressed-by': 'data-subject',
      'initiate-passkey-registration': true,
      'passkey-return-url': RETURN,
    });
    noStore('POST /v1/identity-records (passkey redirect)', enrol, 201);
    noStore('GET /id/passkey/register', await new Customer(r).get(enrol.body['passkey-registration-redirect']['redirect-url']), 200);

    const b = new Customer(r);
    const entry = await b.get(`/portal?mpxn=${DEMO_MPXN}`);
    noStore('GET /portal?mpxn=', entry, 200);
    const started = await b.request('POST', '/portal/start', { form: { csrf: Customer.csrfField(entry.body)!, mpxn: DEMO_MPXN, method: 'magic-link' } });
    noStore('POST /portal/start', started, 200);
    noStore('GET /portal/status', await b.get('/portal/status'), 200);
    const mail = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?limit=1')).body.messages[0];
    await new Customer(r).confirmMagicLink(mail.links.find((l: string) => l.includes('/id/magic/')));
    noStore('GET /portal/continue', await b.get('/portal/continue'), 303);
    noStore('GET /portal (records)', await b.get('/portal'), 200);
    noStore('GET /portal/history.json', await b.get('/portal/history.json'), 200);
    noStore('GET /portal/history.csv', await b.get('/portal/history.csv'), 200);
  });

  it('static assets stay cacheable', async () => {
    for (const url of ['/portal/assets/portal.css', '/id/assets/passkey.js']) {
      const res = await r.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control'], url).toMatch(/public, max-age=\d+/);
    }
  });
});
