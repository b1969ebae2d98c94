import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

const discovered = (patch: Record<string, unknown> = {}) => ({
  mpxn: '3141592653',
  'organisation-name': 'Shadow Analytics Ltd',
  'organisation-reference': 'SEC-OU-00777',
  'first-seen': '2026-05-01T10:00:00Z',
  'data-types-observed': ['HH-CONSUMPTION'],
  'source-reference': 'DCC-SR-777-01',
  ...patch,
});

describe('DCC: discovered access and change of tenancy (contract §8)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('records DISCOVERED access (201), and the same mpxn + organisation-reference updates it (200)', async () => {
    const first = await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered());
    expect(first.status).toBe(201);
    expect(first.body.state).toBe('DISCOVERED');
    const again = await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered({ 'last-seen': '2026-06-01T10:00:00Z', 'data-types-observed': ['HH-EXPORT'] }));
    expect(again.status).toBe(200);
    expect(again.body.ak).toBe(first.body.ak);
    const v = await r.call(null, 'GET', `/v1/access-records/${first.body.ak}`);
    expect(v.body['access-record']['access-event'].state).toBe('DISCOVERED');
    expect(v.body['access-record']['discovered-access']).toMatchObject({ 'first-seen': '2026-05-01', 'last-seen': '2026-06-01', 'data-types-observed': ['HH-CONSUMPTION', 'HH-EXPORT'] });
  });

  it('only the dcc role may report, and bad input is 400', async () => {
    expect((await r.call('bright_energy', 'POST', '/v1/discovered-access', discovered())).status).toBe(403);
    expect((await r.call('admin_ops', 'POST', '/v1/cot-events', { mpxn: '3141592653', 'effective-date': '2026-07-01', 'source-reference': 'X' })).status).toBe(403);
    const bad = await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered({ 'data-types-observed': [], mpxn: 'abc' }));
    expect(bad.status).toBe(400);
    expect(bad.body.errors.length).toBeGreaterThanOrEqual(2);
  });

  it('change of tenancy: counts, notifies each Data User of only its own ACTIVE keys, idempotent', async () => {
    const mpxn = '2718281828';
    // Two Data Users with records on the meter point; one has an extra revoked record.
    const akOf = async (who: string) => {
      const ir = (await r.call(who, 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2020-01-01' }, 'expressed-by': 'data-subject' })).body.ir;
      return (await r.call(who, 'POST', '/v1/access-records', consentBody(ir))).body['access-token'].key as string;
    };
    const bright1 = await akOf('bright_energy');
    const bright2 = await akOf('bright_energy');
    const octo = await akOf('octopusflux');
    const revoked = await akOf('octopusflux');
    await r.call('octopusflux', 'DELETE', `/v1/access-records/${revoked}?reason=other`);
    // Subscriptions for both, so the outbox shows what each would receive.
    const bright = await r.svc.accounts.get('bright_energy');
    const octopus = await r.svc.accounts.get('octopusflux');
    for (const [i, as] of ['bright_energy', 'octopusflux'].entries()) {
      const sub = await r.call(as, 'POST', '/v1/webhooks', { 'callback-url': `https://example.org/hook${i}`, 'alert-email': 'ops@example.org', 'event-types': ['tenancy.change'] });
      expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    }

    const body = { mpxn, 'effective-date': '2026-09-01', 'source-reference': 'DCC-COT-1' };
    const res = await r.call('dcc_system', 'POST', '/v1/cot-events', body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ...body, 'active-records-affected': 3 });
    expect(res.body['data-users-notified'].sort()).toEqual([bright.duid, octopus.duid].sort());

    const queued = await r.probe.deliveries({ eventType: 'tenancy.change' });
    expect(queued).toHaveLength(2);
    const forBright = queued.find((d) => d.duid === bright.duid)!.payload as { 'affected-aks': string[] };
    const forOcto = queued.find((d) => d.duid === octopus.duid)!.payload as { 'affected-aks': string[] };
    expect(forBright['affected-aks'].sort()).toEqual([bright1, bright2].sort());
    expect(forOcto['affected-aks']).toEqual([octo]);

    const again = await r.call('dcc_system', 'POST', '/v1/cot-events', body);
    expect(again.status).toBe(200);
    expect(again.body['active-records-affected']).toBe(3);
    expect(await r.probe.deliveries({ eventType: 'tenancy.change' })).toHaveLength(2);
    // Never revokes anything itself.
    expect((await r.call(null, 'GET', `/v1/access-records/${bright1}`)).body['access-record']['access-event'].state).toBe('ACTIVE');
  });
});
