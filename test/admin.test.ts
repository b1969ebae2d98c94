import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENGINE, testRegister, type TestRegister } from './support/register.js';

describe('self-service and admin (contract §6, §10)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('creates, lists, edits accounts; duplicate is 409; generated secret returned once', async () => {
    const res = await r.call('admin_ops', 'POST', '/v1/admin/accounts', {
      'account-id': 'solar_coop',
      'display-name': 'Solar Co-op',
      role: 'data_user',
      'contact-url': 'https://solar.example/contact',
      'data-types': ['HH-EXPORT'],
      'organisation-reference': 'SEC-OU-00500',
      'return-urls': ['https://solar.example/back'],
    });
    expect(res.status).toBe(201);
    expect(res.body['secret-key'].length).toBeGreaterThanOrEqual(32);
    expect(res.body.account).toMatchObject({ 'account-id': 'solar_coop', role: 'data_user', status: 'active', 'return-urls': ['https://solar.example/back'] });
    expect(res.body.account.duid).toMatch(/^duid_[0-9a-f]{24}$/);
    const login = await r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: `Basic ${Buffer.from(`solar_coop:${res.body['secret-key']}`).toString('base64')}` } });
    expect(login.statusCode).toBe(200);

    const dup = await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'solar_coop', 'display-name': 'X', role: 'data_user' });
    expect(dup.status).toBe(409);
    const list = await r.call('admin_ops', 'GET', '/v1/admin/accounts?role=data_user&limit=2');
    expect(list.body.total).toBe(5);
    expect(list.body.accounts).toHaveLength(2);
    expect(list.body['next-cursor']).not.toBeNull();
    const search = await r.call('admin_ops', 'GET', '/v1/admin/accounts?q=solar');
    expect(search.body.accounts.map((a: { 'account-id': string }) => a['account-id'])).toEqual(['solar_coop']);
    const patched = await r.call('admin_ops', 'PATCH', '/v1/admin/accounts/solar_coop', { 'display-name': 'Solar Co-operative Ltd' });
    expect(patched.body.account['display-name']).toBe('Solar Co-operative Ltd');
    expect((await r.call('admin_ops', 'PATCH', '/v1/admin/accounts/nobody', { 'display-name': 'x' })).status).toBe(404);
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt/);
  });

  it('suspend / reactivate / terminate, with the directory reflecting status', async () => {
    const duid = (await r.svc.accounts.get('greenswitch')).duid;
    const dir = () => r.call('provider_ops', 'GET', `/v1/data-users/${duid}`);
    expect((await dir()).body['data-user']).toMatchObject({ 'display-name': 'GreenSwitch Analytics', status: 'active', 'suspended-at': null });
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/suspend')).status).toBe(200);
    expect((await dir()).body['data-user'].status).toBe('suspended');
    expect((await dir()).body['data-user']['suspended-at']).toMatch(/Z$/);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/suspend')).status).toBe(409);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/reactivate')).status).toBe(200);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/terminate')).status).toBe(200);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/reactivate')).status).toBe(409);
    expect((await dir()).body['data-user'].status).toBe('terminated');
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/admin_ops/suspend')).status).toBe(409);
  });

  it('directory: unknown or non-data_user duid is 404; dcc may not read it', async () => {
    expect((await r.call('provider_ops', 'GET', '/v1/data-users/duid_000000000000000000000000')).status).toBe(404);
    const portalDuid = (await r.svc.accounts.get('portal_ops')).duid;
    expect((await r.call('provider_ops', 'GET', `/v1/data-users/${portalDuid}`)).status).toBe(404);
    expect((await r.call('dcc_system', 'GET', `/v1/data-users/${portalDuid}`)).status).toBe(403);
  });

  it('admin endpoints refuse other roles', async () => {
    for (const url of ['/v1/admin/accounts', '/v1/admin/records', '/v1/admin/audit', '/v1/admin/stats', '/v1/admin/audit/verify']) {
      const res = await r.call('bright_energy', 'GET', url);
      expect(res.status).toBe(403);
    }
  });

  it('searches records by ak, MPxN, duid and organisation name; filters by state', async () => {
    const all = await r.call('admin_ops', 'GET', '/v1/admin/records?q=2312345678901');
    expect(all.body.total).toBe(5);
    const byName = await r.call('admin_ops', 'GET', '/v1/admin/records?q=octopus');
    expect(byName.body.records.map((x: { 'lead-controller-name': string }) => x['lead-controller-name'])).toEqual(['OctopusFlux Ltd']);
    const acme = await r.call('admin_ops', 'GET', '/v1/admin/records?q=acme');
    expect(acme.body.records[0].state).toBe('DISCOVERED');
    const ak = byName.body.records[0].ak;
    expect((await r.call('admin_ops', 'GET', `/v1/admin/records?q=${ak}`)).body.records[0].ak).toBe(ak);
    const duid = (await r.svc.accounts.get('bright_energy')).duid;
    expect((await r.call('admin_ops', 'GET', `/v1/admin/records?q=${duid}`)).body.total).toBe(1);
    const expired = await r.call('admin_ops', 'GET', '/v1/admin/records?state=EXPIRED');
    expect(expired.body.records.map((x: { 'lead-controller-name': string }) => x['lead-controller-name'])).toEqual(['GreenSwitch Analytics']);
    const detail = await r.call('admin_ops', 'GET', `/v1/admin/records/${ak}`);
    expect(detail.status).toBe(200);
    expect(detail.body.record.owner['display-name']).toBe('OctopusFlux Ltd');
    expect(detail.body.record.timeline[0]['event-type']).toBe('access-record.created');
  });

  it('finds identity records across Data Users by MPxN or e-mail', async () => {
    const byMpxn = await r.call('admin_ops', 'GET', '/v1/admin/identity-records?mpxn=2312345678901');
    expect(byMpxn.body['identity-records']).toHaveLength(1);
    expect(byMpxn.body['identity-records'][0]).toMatchObject({ 'owner-display-name': 'Bright Energy Ltd', 'access-record-count': 4, 'has-email': true });
    const byEmail = await r.call('admin_ops', 'GET', '/v1/admin/identity-records?email=Customer@Example.com');
    expect(byEmail.body['identity-records'][0].ir).toBe(r.demo!.ir);
    const detail = await r.call('admin_ops', 'GET', `/v1/admin/identity-records/${r.demo!.ir}`);
    expect(detail.body['access-records']).toHaveLength(4);
    const refused = await r.call('admin_ops', 'DELETE', `/v1/admin/identity-records/${r.demo!.ir}`);
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].message).toMatch(/linked ACTIVE access record/);
  });

  it('audit: filters, every change audited, chain verifies, and a tampered row is detected', async () => {
    const byActor = await r.call('admin_ops', 'GET', '/v1/admin/audit?account-id=admin_ops');
    expect(byActor.body.events.length).toBeGreaterThan(0);
    expect(byActor.body.events.every((e: { actor: string; subject: string }) => e.actor === 'admin_ops' || e.subject === 'admin_ops')).toBe(true);
    const aboutGreenswitch = await r.call('admin_ops', 'GET', '/v1/admin/audit?account-id=greenswitch&limit=500');
    const types = aboutGreenswitch.body.events.map((e: { 'event-type': string }) => e['event-type']);
    expect(types).toEqual(expect.arrayContaining(['account.created', 'account.suspended', 'account.terminated']));
    const allTypes = (await r.call('admin_ops', 'GET', '/v1/admin/audit?limit=500')).body.events.map((e: { 'event-type': string }) => e['event-type']);
    for (const t of ['account.created', 'identity-record.created', 'access-record.created', 'discovered-access.recorded', 'account.suspended', 'account.terminated']) expect(allTypes).toContain(t);
    const verify = await r.call('admin_ops', 'GET', '/v1/admin/audit/verify');
    expect(verify.body).toMatchObject({ intact: true, 'first-broken-id': null });
    expect(verify.body.checked).toBeGreaterThan(10);

    const [victim] = await r.probe.auditEvents('account.suspended');
    await r.probe.setAuditActor(victim.seq, 'someone_else');
    const broken = await r.call('admin_ops', 'GET', '/v1/admin/audit/verify');
    expect(broken.body.intact).toBe(false);
    expect(broken.body['first-broken-id']).toBe(victim.seq);
    await r.probe.setAuditActor(victim.seq, 'admin_ops');
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);

    // Deleting a row breaks the link to the next one. PostgreSQL's ids have holes of their own
    // (a rolled-back insert skips one), so there only a linked event's deletion can show: the
    // events are linked first, as the linker does within a second.
    if (TEST_ENGINE === 'postgres') expect(await r.svc.auditLinker.runOnce()).toBeGreaterThan(10);
    await r.probe.deleteAuditEvent(victim.seq);
    const gap = await r.call('admin_ops', 'GET', '/v1/admin/audit/verify');
    expect(gap.body.intact).toBe(false);
    expect(gap.body['first-broken-id']).toBe(victim.seq + 1);
  });

  it('stats count records by state, basis and role', async () => {
    const s = (await r.call('admin_ops', 'GET', '/v1/admin/stats')).body;
    expect(s['access-records']['by-state']).toMatchObject({ ACTIVE: 3, EXPIRED: 1, DISCOVERED: 1 });
    expect(s['access-records']['by-legal-basis']).toMatchObject({ 'uk-consent': 3, 'uk-public-task': 1 });
    expect(s.accounts['by-role']).toMatchObject({ admin: 1, data_user: 5, portal: 1, dcc: 1, data_provider: 1 });
    expect(s.mode).toBe('sandbox');
  });

  it('sandbox DCC actions for the operator; settings without secrets', async () => {
    const res = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/discovered-access', {
      mpxn: '1231231231',
      'organisation-name': 'Console Test Ltd',
      'organisation-reference': 'SEC-OU-01234',
      'first-seen': '2026-01-01',
      'data-types-observed': ['HH-CONSUMPTION'],
      'source-reference': 'S-1',
    });
    expect(res.status).toBe(201);
    const list = await r.call('admin_ops', 'GET', '/v1/admin/discovered-access?q=console');
    expect(list.body.records[0]).toMatchObject({ 'organisation-reference': 'SEC-OU-01234', 'superseded-by': null });
    const settings = await r.call('admin_ops', 'GET', '/v1/admin/settings');
    expect(settings.body).toMatchObject({ mode: 'sandbox', 'rp-id': 'localhost' });
  });
});
