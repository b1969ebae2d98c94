import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt } from '../src/server/lib/crypto.js';
import { testRegister, type TestRegister } from './support/register.js';

const ALL_TYPES = ['consent.expiring', 'tenancy.change', 'consent.withdrawal'];

describe('webhook subscriptions (contract §9)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const subscribe = (as: string, body: Record<string, unknown>) => r.call(as, 'POST', '/v1/webhooks', body);

  it('creates a subscription with defaults and returns the signing secret once', async () => {
    const res = await subscribe('bright_energy', { 'callback-url': 'https://bright-energy.example/hooks/dar', 'alert-email': 'ops@bright-energy.example' });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v1/webhooks/${res.body.webhook.wid}`);
    expect(res.body.webhook).toEqual({
      wid: expect.stringMatching(/^wid_[0-9a-f]{24}$/),
      'callback-url': 'https://bright-energy.example/hooks/dar',
      'alert-email': 'ops@bright-energy.example',
      'notify-days-before': 30,
      'event-types': ALL_TYPES,
      'created-at': expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      active: true,
    });
    expect(res.body['signing-secret']).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(res.body['signing-secret'].slice(6), 'base64')).toHaveLength(32);

    const list = await r.call('bright_energy', 'GET', '/v1/webhooks');
    expect(list.status).toBe(200);
    expect(list.body.webhooks).toEqual([res.body.webhook]);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
  });

  it('stores the signing secret encrypted, never in clear', async () => {
    const res = await subscribe('bright_energy', { 'callback-url': 'https://bright-energy.example/hooks/secret-check', 'alert-email': 'ops@bright-energy.example' });
    const secret: string = res.body['signing-secret'];
    const row = (await r.probe.webhook(res.body.webhook.wid))!;
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    expect(decrypt(r.reg.keys.encryptionKey, row.secretEnc)).toBe(secret);
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=webhook.created');
    expect(JSON.stringify(audit.body)).not.toContain(secret.slice(6));
  });

  it('accepts notify-days-before 1–90 and a subset of event types, in canonical order', async () => {
    const res = await subscribe('octopusflux', {
      'callback-url': 'https://octopusflux.example/hooks',
      'alert-email': 'dev@octopusflux.example',
      'notify-days-before': 90,
      'event-types': ['tenancy.change', 'consent.expiring'],
    });
    expect(res.status).toBe(201);
    expect(res.body.webhook['notify-days-before']).toBe(90);
    expect(res.body.webhook['event-types']).toEqual(['consent.expiring', 'tenancy.change']);
    const one = await subscribe('octopusflux', { 'callback-url': 'https://octopusflux.example/hooks-1', 'alert-email': 'dev@octopusflux.example', 'notify-days-before': 1 });
    expect(one.status).toBe(201);
  });

  it('rejects invalid subscriptions with one VAL001 entry per problem', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ 'callback-url': 'http://bright-energy.example/hooks', 'alert-email': 'a@b.example' }, /callback-url must use https/],
      [{ 'callback-url': 'ftp://bright-energy.example/hooks', 'alert-email': 'a@b.example' }, /callback-url must use https/],
      [{ 'callback-url': 'not a url', 'alert-email': 'a@b.example' }, /callback-url must be an absolute URL/],
      [{ 'callback-url': 'https://user:pw@bright-energy.example/hooks', 'alert-email': 'a@b.example' }, /must not contain user credentials/],
      [{ 'callback-url': 'http://10.0.0.7/hooks', 'alert-email': 'a@b.example' }, /callback-url must use https/],
      [{ 'callback-url': 'https://bright-energy.example/x', 'alert-email': 'not-an-email' }, /alert-email/],
      [{ 'callback-url': 'https://bright-energy.example/x' }, /alert-email" is required/],
      [{ 'alert-email': 'a@b.example' }, /callback-url" is required/],
      [{ 'callback-url': 'https://bright-energy.example/x', 'alert-email': 'a@b.example', 'notify-days-before': 0 }, /notify-days-before/],
      [{ 'callback-url': 'https://bright-energy.example/x', 'alert-email': 'a@b.example', 'notify-days-before': 91 }, /notify-days-before/],
      [{ 'callback-url': 'https://bright-energy.example/x', 'alert-email': 'a@b.example', 'event-types': ['consent.created'] }, /event-types\[0\]/],
      [{ 'callback-url': 'https://bright-energy.example/x', 'alert-email': 'a@b.example', 'event-types': [] }, /event-types/],
      [{ 'callback-url': 'https://bright-energy.example/x', 'alert-email': 'a@b.example', secret: 'mine' }, /secret" is not a recognised field/],
    ];
    for (const [body, message] of cases) {
      const res = await subscribe('bright_energy', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0]['error-code']).toBe('VAL001');
      expect(res.body.errors.map((e: { message: string }) => e.message).join(' | ')).toMatch(message);
    }
    const several = await subscribe('bright_energy', { 'callback-url': 'https://bright-energy.example/x', 'alert-email': 'nope', 'notify-days-before': 200 });
    expect(several.body.errors.length).toBeGreaterThanOrEqual(2);
  });

  it('allows http only for loopback hosts in sandbox mode', async () => {
    for (const url of ['http://localhost:9999/h', 'http://127.0.0.1:9999/h', 'http://127.8.9.10/h', 'http://[::1]:9999/h']) {
      const res = await subscribe('greenswitch', { 'callback-url': url, 'alert-email': 'ops@greenswitch.example' });
      expect(res.status, url).toBe(201);
    }
    const res = await subscribe('greenswitch', { 'callback-url': 'http://192.168.1.10/h', 'alert-email': 'ops@greenswitch.example' });
    expect(res.status).toBe(400);
  });

  it('refuses a duplicate callback-url for the same Data User with 409, but not for another Data User', async () => {
    const body = { 'callback-url': 'https://shared.example/hooks', 'alert-email': 'a@shared.example' };
    expect((await subscribe('northern_networks', body)).status).toBe(201);
    const dup = await subscribe('northern_networks', body);
    expect(dup.status).toBe(409);
    expect(dup.body.errors[0]['error-code']).toBe('CON001');
    expect((await subscribe('greenswitch', body)).status).toBe(201);
  });

  it('is for Data Users only', async () => {
    for (const as of ['admin_ops', 'portal_ops', 'dcc_system', 'provider_ops']) {
      const res = await r.call(as, 'GET', '/v1/webhooks');
      expect(res.status, as).toBe(403);
      expect(res.body.errors[0]['error-code']).toBe('AUTH003');
    }
    expect((await r.call(null, 'GET', '/v1/webhooks')).status).toBe(401);
  });

  it('PATCH updates only the given fields; rotate-secret returns a new secret', async () => {
    const created = await subscribe('bright_energy', { 'callback-url': 'https://bright-energy.example/hooks/patch', 'alert-email': 'ops@bright-energy.example' });
    const wid = created.body.webhook.wid;
    const patched = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'notify-days-before': 14, 'event-types': ['consent.withdrawal'] });
    expect(patched.status).toBe(200);
    expect(patched.body.webhook).toMatchObject({ wid, 'callback-url': 'https://bright-energy.example/hooks/patch', 'notify-days-before': 14, 'event-types': ['consent.withdrawal'], active: true });
    expect(patched.body['signing-secret']).toBeUndefined();

    const paused = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { active: false });
    expect(paused.body.webhook.active).toBe(false);

    const rotated = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'rotate-secret': true });
    expect(rotated.status).toBe(200);
    expect(rotated.body['signing-secret']).toMatch(/^whsec_/);
    expect(rotated.body['signing-secret']).not.toBe(created.body['signing-secret']);
    const row = (await r.probe.webhook(wid))!;
    expect(decrypt(r.reg.keys.encryptionKey, row.previousSecretEnc!)).toBe(created.body['signing-secret']);
    expect(new Date(row.previousSecretUntil!).getTime() - r.reg.clock.now().getTime()).toBeGreaterThan(14 * 60_000);

    const bad = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'callback-url': 'http://bright-energy.example/h' });
    expect(bad.status).toBe(400);
    const other = await subscribe('bright_energy', { 'callback-url': 'https://bright-energy.example/hooks/other', 'alert-email': 'ops@bright-energy.example' });
    const clash = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${other.body.webhook.wid}`, { 'callback-url': 'https://bright-energy.example/hooks/patch' });
    expect(clash.status).toBe(409);
    const same = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'callback-url': 'https://bright-energy.example/hooks/patch' });
    expect(same.status).toBe(200);
  });

  it("reports another Data User's subscription as not found, for every verb", async () => {
    const created = await subscribe('octopusflux', { 'callback-url': 'https://octopusflux.example/private', 'alert-email': 'dev@octopusflux.example' });
    const wid = created.body.webhook.wid;
    for (const [method, body] of [['GET'], ['PATCH', { active: false }], ['DELETE'], ['POST']] as const) {
      const url = method === 'POST' ? `/v1/webhooks/${wid}/test` : `/v1/webhooks/${wid}`;
      const res = await r.call('bright_energy', method, url, body);
      expect(res.status, method).toBe(404);
      expect(res.body.errors[0]['error-code']).toBe('NOT001');
    }
    expect((await r.call('bright_energy', 'GET', '/v1/webhooks/wid_000000000000000000000000')).status).toBe(404);
    expect((await r.call('bright_energy', 'GET', '/v1/webhooks/nope')).status).toBe(400);
    expect((await r.call('octopusflux', 'GET', `/v1/webhooks/${wid}`)).body.webhook.active).toBe(true);
  });

  it('DELETE soft-deletes (204), after which the wid is gone and the URL may be reused', async () => {
    const body = { 'callback-url': 'https://greenswitch.example/hooks/gone', 'alert-email': 'ops@greenswitch.example' };
    const created = await subscribe('greenswitch', body);
    const wid = created.body.webhook.wid;
    const del = await r.call('greenswitch', 'DELETE', `/v1/webhooks/${wid}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    expect((await r.call('greenswitch', 'GET', `/v1/webhooks/${wid}`)).status).toBe(404);
    expect((await r.call('greenswitch', 'DELETE', `/v1/webhooks/${wid}`)).status).toBe(404);
    expect((await r.call('greenswitch', 'GET', '/v1/webhooks')).body.webhooks.map((w: { wid: string }) => w.wid)).not.toContain(wid);
    const row = (await r.probe.webhook(wid))!;
    expect(row.deletedAt).not.toBeNull();
    expect((await subscribe('greenswitch', body)).status).toBe(201);
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=webhook.deleted');
    expect(audit.body.events.some((e: { subject: string }) => e.subject === wid)).toBe(true);
  });

  it('GET /v1/admin/webhooks lists every live subscription with its duid, filterable by duid', async () => {
    const all = await r.call('admin_ops', 'GET', '/v1/admin/webhooks');
    expect(all.status).toBe(200);
    expect(all.body.webhooks.length).toBeGreaterThan(5);
    for (const w of all.body.webhooks) {
      expect(Object.keys(w).sort()).toEqual(['active', 'alert-email', 'callback-url', 'created-at', 'duid', 'event-types', 'notify-days-before', 'wid']);
    }
    expect(JSON.stringify(all.body)).not.toContain('whsec_');
    const octo = (await r.call('octopusflux', 'GET', '/v1/self')).body.account.duid;
    const mine = await r.call('admin_ops', 'GET', `/v1/admin/webhooks?duid=${octo}`);
    expect(mine.body.webhooks.length).toBe((await r.call('octopusflux', 'GET', '/v1/webhooks')).body.webhooks.length);
    expect(mine.body.webhooks.every((w: { duid: string }) => w.duid === octo)).toBe(true);
    const page = await r.call('admin_ops', 'GET', '/v1/admin/webhooks?limit=2');
    expect(page.body.webhooks).toHaveLength(2);
    expect(page.body['next-cursor']).toMatch(/^\d+$/);
    expect((await r.call('bright_energy', 'GET', '/v1/admin/webhooks')).status).toBe(403);
  });
});

describe('webhook subscriptions in production mode (SSRF guard)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister({ mode: 'production', origin: 'https://register.example' });
    const fakeDns: Record<string, string> = {
      'hooks.public.example': '93.184.216.34',
      'intranet.example': '10.1.2.3',
      'metadata.example': '169.254.169.254',
      'sneaky.example': '::ffff:127.0.0.1',
      'v6.public.example': '2606:4700::1111',
    };
    r.svc.webhooks.resolver = async (host) => {
      const address = fakeDns[host];
      if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return [{ address, family: address.includes(':') ? 6 : 4 }];
    };
  });
  afterAll(() => r.close());

  it('accepts https callbacks that resolve to public addresses', async () => {
    for (const url of ['https://hooks.public.example/dar', 'https://v6.public.example/dar', 'https://93.184.216.34/dar']) {
      const res = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': 'ops@bright-energy.example' });
      expect(res.status, url).toBe(201);
    }
  });

  it('refuses loopback, private, link-local and unresolvable hosts, and any http', async () => {
    const cases: [string, RegExp][] = [
      ['http://localhost:8080/h', /must use https/],
      ['http://hooks.public.example/h', /must use https/],
      ['https://localhost/h', /localhost/],
      ['https://127.0.0.1/h', /loopback address/],
      ['https://[::1]/h', /loopback address/],
      ['https://10.0.0.1/h', /private address/],
      ['https://192.168.0.10/h', /private address/],
      ['https://169.254.169.254/latest/meta-data', /link-local address/],
      ['https://intranet.example/h', /resolves to a private address/],
      ['https://metadata.example/h', /resolves to a link-local address/],
      ['https://sneaky.example/h', /resolves to a loopback address/],
      ['https://nowhere.example/h', /does not resolve/],
    ];
    for (const [url, message] of cases) {
      const res = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': 'ops@bright-energy.example' });
      expect(res.status, url).toBe(400);
      expect(res.body.errors[0].message, url).toMatch(message);
    }
  });

  it('checks the URL again on PATCH', async () => {
    const created = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'https://hooks.public.example/patch', 'alert-email': 'ops@bright-energy.example' });
    const res = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${created.body.webhook.wid}`, { 'callback-url': 'https://intranet.example/h' });
    expect(res.status).toBe(400);
  });

  it('refuses delivery when the host resolves to an internal address at delivery time (DNS rebinding)', async () => {
    const created = await r.call('octopusflux', 'POST', '/v1/webhooks', { 'callback-url': 'https://hooks.public.example/rebind', 'alert-email': 'dev@octopusflux.example' });
    const sub = (await r.svc.webhooks.find(created.body.webhook.wid))!;
    const resolver = r.svc.webhooks.resolver;
    r.svc.webhooks.resolver = async (host) => (host === 'hooks.public.example' ? [{ address: '127.0.0.1', family: 4 }] : resolver(host));
    try {
      const outcome = await r.svc.delivery.sendTest(sub);
      expect(outcome.ok).toBe(false);
      expect(outcome.statusCode).toBeNull();
      expect(outcome.error).toMatch(/resolves to a loopback address \(127\.0\.0\.1\); refused/);
    } finally {
      r.svc.webhooks.resolver = resolver;
    }
  });
});
