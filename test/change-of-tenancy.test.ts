/**
 * [ours] A change of tenancy ends the previous occupant's authority (docs/security.md):
 * re-identification tokens whose identity record's move-in-date is before the latest change
 * of tenancy can no longer be confirmed nor used — whether the change of tenancy arrives
 * between start and confirmation, between confirmation and use, or during the portal's
 * withdrawal window — and a record speaks for a meter point only from its move-in-date.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from './support/customer.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

const outbox = async (r: TestRegister, query: string) => (await r.call('admin_ops', 'GET', `/v1/admin/outbox?${query}`)).body.messages as { to: string; links: string[]; purpose: string; text: string }[];

let seq = 0;
/** A fresh MPxN whose previous occupant (Bright's customer since 2020) has an e-mail on record. */
async function previousOccupant(r: TestRegister) {
  const mpxn = `17100000${String(++seq).padStart(2, '0')}`;
  const res = await r.call('bright_energy', 'POST', '/v1/identity-records', {
    'pii-principal': { mpxn, 'move-in-date': '2020-01-01' },
    'expressed-by': 'data-subject',
    email: `old${seq}@occupant.example`,
  });
  expect(res.status).toBe(201);
  return { mpxn, ir: res.body.ir as string };
}

/** The change of tenancy, and the new occupant registered by OctopusFlux with an ACTIVE consent. */
async function changeOfTenancy(r: TestRegister, mpxn: string) {
  expect((await r.call('dcc_system', 'POST', '/v1/cot-events', { mpxn, 'effective-date': '2026-06-01', 'source-reference': `cot-${mpxn}` })).status).toBe(201);
  const nir = await r.call('octopusflux', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2026-06-02' }, 'expressed-by': 'data-subject', email: 'new@occupant.example' });
  expect(nir.status).toBe(201);
  const ar = await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(nir.body.ir));
  expect(ar.status).toBe(201);
  return ar.body['access-token'].key as string;
}

async function startAs(r: TestRegister, as: string, mpxn: string) {
  const start = await r.call(as, 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' });
  expect(start.status).toBe(200);
  const ref = start.body['magic-link']['token-ref'] as string;
  const link = (await outbox(r, `ref=${ref}`))[0].links[0];
  return { ref, link };
}

describe('[ours] a change of tenancy ends tokens already issued', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('between start and confirmation: the link shows "no longer valid", confirms nothing, and the token opens nothing', async () => {
    const { mpxn } = await previousOccupant(r);
    const { ref, link } = await startAs(r, 'portal_ops', mpxn);
    const before = (await r.call('admin_ops', 'GET', '/v1/admin/stats')).body.reidentifications;
    const ak = await changeOfTenancy(r, mpxn);
    const c = new Customer(r);
    const page = await c.get(link);
    expect(page.status).toBe(410);
    expect(page.body).toContain('no longer valid');
    const posted = await c.request('POST', link, { form: { csrf: Customer.csrfField(page.body) ?? 'x' } });
    expect(posted.status).not.toBe(200);
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('expired');
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${mpxn}/access-records?reidentification-token=${ref}`)).status).toBe(403);
    expect((await r.call('portal_ops', 'DELETE', `/v1/access-records/${ak}?reason=customer-request&reidentification-token=${ref}`)).status).toBe(403);
    expect((await r.call('octopusflux', 'GET', `/v1/access-records/${ak}`)).body['access-record']['access-event'].state).toBe('ACTIVE');
    // The operator sees it as expired too, in the view, the status filters and the counts.
    const listed = async (status: string) => ((await r.call('admin_ops', 'GET', `/v1/admin/reidentifications?mpxn=${mpxn}&status=${status}`)).body.tokens as { 'token-ref': string; status: string }[]).map((t) => t['token-ref']);
    expect(await listed('expired')).toContain(ref);
    expect(await listed('pending')).not.toContain(ref);
    const after = (await r.call('admin_ops', 'GET', '/v1/admin/stats')).body.reidentifications;
    expect(after.pending).toBe(before.pending - 1);
    expect(after.expired).toBe(before.expired + 1);
    const audit = (await r.call('admin_ops', 'GET', `/v1/admin/audit?subject=${ref}`)).body;
    expect(JSON.stringify(audit)).not.toContain('reidentification.confirmed');
  });

  it('between confirmation and use: a token confirmed before the change of tenancy lists and withdraws nothing', async () => {
    const { mpxn } = await previousOccupant(r);
    const { ref, link } = await startAs(r, 'portal_ops', mpxn);
    expect((await new Customer(r).confirmMagicLink(link)).status).toBeLessThan(400);
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');
    const ak = await changeOfTenancy(r, mpxn);
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${mpxn}/access-records?reidentification-token=${ref}`)).status).toBe(403);
    expect((await r.call('portal_ops', 'DELETE', `/v1/access-records/${ak}?reason=customer-request&reidentification-token=${ref}`)).status).toBe(403);
    expect((await r.call('octopusflux', 'GET', `/v1/access-records/${ak}`)).body['access-record']['access-event'].state).toBe('ACTIVE');
  });

  it('a cross-Data-User token confirmed before the change of tenancy cannot create an access record after it (422 VAL002)', async () => {
    const { mpxn } = await previousOccupant(r);
    const { ref, link } = await startAs(r, 'greenswitch', mpxn);
    expect((await new Customer(r).confirmMagicLink(link)).status).toBeLessThan(400);
    await changeOfTenancy(r, mpxn);
    const res = await r.call('greenswitch', 'POST', '/v1/access-records', { ...consentBody(null), 'reidentification-token': ref });
    expect(res.status).toBe(422);
    expect(res.body.errors[0]['error-code']).toBe('VAL002');
  });

  it('during the withdrawal window: the window closes at the change of tenancy, on the API and on /portal', async () => {
    const { mpxn } = await previousOccupant(r);
    // The previous occupant's /portal session, opened before the change of tenancy.
    const c = new Customer(r);
    const entry = await c.get(`/portal?mpxn=${mpxn}`);
    const started = await c.request('POST', '/portal/start', { form: { csrf: Customer.csrfField(entry.body)!, mpxn, method: 'magic-link' } });
    expect(started.status).toBe(200);
    const ref = (await r.call('admin_ops', 'GET', `/v1/admin/reidentifications?mpxn=${mpxn}`)).body.tokens[0]['token-ref'] as string;
    const link = (await outbox(r, `ref=${ref}`))[0].links[0];
    const confirmed = await c.confirmMagicLink(link);
    expect(confirmed.status).toBeLessThan(400);
    expect((await c.get('/portal/continue')).status).toBe(303);
    expect((await c.get('/portal')).body).toContain('Who looked at your meter point');

    const ak = await changeOfTenancy(r, mpxn);
    expect((await r.call('portal_ops', 'DELETE', `/v1/access-records/${ak}?reason=customer-request&reidentification-token=${ref}`)).status).toBe(403);
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${mpxn}/access-records?reidentification-token=${ref}&cursor=1`)).status).toBe(403);
    // The portal page no longer shows the meter point's records (now the new occupant's).
    const after = await c.get('/portal');
    expect(after.body).not.toContain(ak);
    expect(after.body).not.toContain('OctopusFlux');
    expect((await c.get('/portal/history.json')).status).toBe(401);
    const withdraw = await c.request('POST', '/portal/withdraw', { form: { csrf: Customer.csrfField(after.body) ?? '', ak } });
    expect(withdraw.status).toBeLessThan(500);
    expect((await r.call('octopusflux', 'GET', `/v1/access-records/${ak}`)).body['access-record']['access-event'].state).toBe('ACTIVE');
  });

  it('a passkey ceremony open when the change of tenancy arrives completes nothing', async () => {
    const mpxn = '1710000090';
    const onboard = await r.call('bright_energy', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn, 'move-in-date': '2020-01-01' },
      'expressed-by': 'data-subject',
      'initiate-passkey-registration': true,
      'passkey-return-url': 'http://localhost:5001/return',
    });
    expect(onboard.status).toBe(201);
    const key = new SoftAuthenticator('http://localhost:5001');
    const enrol = new Customer(r);
    const enrolled = await enrol.openPasskeyPage(onboard.body['passkey-registration-redirect']['redirect-url']);
    expect((await enrol.passkeyStep(enrolled.session, enrolled.csrf, key)).status).toBe(200);

    const start = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'passkey-assert', 'passkey-return-url': 'http://localhost:5001/portal/continue' });
    expect(start.status).toBe(200);
    const c = new Customer(r);
    const opened = await c.openPasskeyPage(start.body.passkey['redirect-url']);
    expect(opened.page.status).toBe(200);
    await changeOfTenancy(r, mpxn);
    const done = await c.passkeyStep(opened.session, opened.csrf, key);
    expect(done.status).toBe(410);
    expect(done.json.message).toContain('no longer valid');
    const again = await c.get(start.body.passkey['redirect-url']);
    expect(again.status).toBe(410);
    expect(again.body).toContain('no longer valid');
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${start.body.passkey['token-ref']}`)).body.status).toBe('expired');
  });

  it('the owning Data User still reaches its own former customer directly (own-record flow)', async () => {
    const { mpxn, ir } = await previousOccupant(r);
    await changeOfTenancy(r, mpxn);
    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    expect(start.status).toBe(200);
    const link = (await outbox(r, `ref=${start.body['magic-link']['token-ref']}`))[0].links[0];
    expect((await new Customer(r).confirmMagicLink(link)).status).toBeLessThan(400);
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${start.body['magic-link']['token-ref']}`)).body.status).toBe('confirmed');
  });
});

describe('[ours] a record speaks for its meter point only from its move-in-date', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const inDays = (r: TestRegister, days: number) => new Date(r.reg.clock.now().getTime() + days * 86_400_000).toISOString().slice(0, 10);

  it('a move-in-date more than a year after the register’s today is refused (400 naming the field)', async () => {
    const res = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: '1720000001', 'move-in-date': '2099-01-01' }, 'expressed-by': 'data-subject', email: 'early@example.org' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]['error-code']).toBe('VAL001');
    expect(res.body.errors[0].message).toContain('pii-principal.move-in-date');
  });

  it('a future move-in-date does not outlast a later change of tenancy: not eligible before it starts', async () => {
    const mpxn = '1720000002';
    const planted = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': inDays(r, 200) }, 'expressed-by': 'data-subject', email: 'future@example.org' });
    expect(planted.status).toBe(201);
    expect((await r.call('dcc_system', 'POST', '/v1/cot-events', { mpxn, 'effective-date': inDays(r, -1), 'source-reference': 'cot-future' })).status).toBe(201);
    expect((await r.call('octopusflux', 'GET', `/v1/identity-records/exists?mpxn=${mpxn}`)).body).toMatchObject({ exists: false, 'available-methods': [] });
    expect((await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' })).status).toBe(404);
    expect((await outbox(r, 'purpose=reidentification.magic-link')).filter((m) => m.to === 'future@example.org')).toHaveLength(0);
  });

  it('a planned move does not displace the current occupant until its date', async () => {
    const mpxn = '1720000003';
    expect((await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2021-03-01' }, 'expressed-by': 'data-subject', email: 'current@example.org' })).status).toBe(201);
    expect((await r.call('octopusflux', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': inDays(r, 10) }, 'expressed-by': 'data-subject', email: 'next@example.org' })).status).toBe(201);
    const start = await r.call('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' });
    expect(start.status).toBe(200);
    expect((await outbox(r, `ref=${start.body['magic-link']['token-ref']}`))[0].to).toBe('current@example.org');
  });
});
