import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

const newRecord = (mpxn: string, extra: Record<string, unknown> = {}) => ({
  'pii-principal': { mpxn, 'move-in-date': '2022-06-30', address: { addressLine1: '221B Baker Street', townCity: 'London', postcode: 'NW1 6XE' } },
  'expressed-by': 'data-subject',
  ...extra,
});

describe('identity records (contract §3)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('creates a record: 201, Location, ir format; e-mail stored only as hash + ciphertext', async () => {
    const res = await r.call('octopusflux', 'POST', '/v1/identity-records', newRecord('1234567890123', { email: 'Jane.Doe@Example.com' }));
    expect(res.status).toBe(201);
    expect(res.body.ir).toMatch(/^ir_[0-9a-f]{24}$/);
    expect(res.headers.location).toBe(`/v1/identity-records/${res.body.ir}`);
    expect(res.body['passkey-registration-redirect']).toBeNull();
    const row = (await r.probe.identity(res.body.ir))!;
    expect(row.emailHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.emailEnc).not.toContain('jane');
    const got = await r.call('octopusflux', 'GET', `/v1/identity-records/${res.body.ir}`);
    expect(got.status).toBe(200);
    expect(got.body['identity-record']['has-email']).toBe(true);
    expect(got.body['identity-record']['pii-principal'].mpxn).toBe('1234567890123');
    expect(JSON.stringify(got.body)).not.toMatch(/jane/i);
  });

  it('lists every validation problem with its field path', async () => {
    const res = await r.call('octopusflux', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn: 'not-an-mpxn', address: { addressLine1: 'x', townCity: 'y', postcode: 'nope' } },
      'expressed-by': 'someone',
      email: 'not-an-email',
      surprise: true,
    });
    expect(res.status).toBe(400);
    const messages = res.body.errors.map((e: { message: string }) => e.message).join('\n');
    expect(res.body.errors.every((e: { 'error-code': string }) => e['error-code'] === 'VAL001')).toBe(true);
    expect(messages).toContain('pii-principal.mpxn');
    expect(messages).toContain('pii-principal.move-in-date');
    expect(messages).toContain('pii-principal.address.postcode');
    expect(messages).toContain('expressed-by');
    expect(messages).toContain('email');
    expect(messages).toContain('surprise');
  });

  it('finds own records by mpxn and/or email (AND); needs one of them', async () => {
    await r.call('octopusflux', 'POST', '/v1/identity-records', newRecord('9988776655', { email: 'pat@example.org' }));
    await r.call('octopusflux', 'POST', '/v1/identity-records', newRecord('9988776655'));
    const byMpxn = await r.call('octopusflux', 'GET', '/v1/identity-records?mpxn=9988776655');
    expect(byMpxn.body['identity-records']).toHaveLength(2);
    const byBoth = await r.call('octopusflux', 'GET', '/v1/identity-records?mpxn=9988776655&email=PAT@example.org');
    expect(byBoth.body['identity-records']).toHaveLength(1);
    const byEmail = await r.call('octopusflux', 'GET', '/v1/identity-records?email=pat%40example.org');
    expect(byEmail.body['identity-records']).toHaveLength(1);
    expect((await r.call('octopusflux', 'GET', '/v1/identity-records')).status).toBe(400);
    // Scoped to the caller: Bright Energy's demo record is not visible to OctopusFlux.
    expect((await r.call('octopusflux', 'GET', '/v1/identity-records?mpxn=2312345678901')).body['identity-records']).toHaveLength(0);
  });

  it("another Data User's record is 404, exactly like an unknown one", async () => {
    const theirs = await r.call('bright_energy', 'GET', `/v1/identity-records/${r.demo!.ir}`);
    expect(theirs.status).toBe(200);
    const mine = await r.call('octopusflux', 'GET', `/v1/identity-records/${r.demo!.ir}`);
    const unknown = await r.call('octopusflux', 'GET', '/v1/identity-records/ir_000000000000000000000000');
    expect(mine.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(mine.body.errors[0]['error-code']).toBe('NOT001');
    expect((await r.call('octopusflux', 'DELETE', `/v1/identity-records/${r.demo!.ir}`)).status).toBe(404);
  });

  it('refuses to anonymise while an ACTIVE record is linked (409), then anonymises irreversibly', async () => {
    const created = await r.call('greenswitch', 'POST', '/v1/identity-records', newRecord('5566778899', { email: 'gone@example.com' }));
    const ir = created.body.ir;
    const rec = await r.call('greenswitch', 'POST', '/v1/access-records', consentBody(ir));
    expect(rec.status).toBe(201);
    const refused = await r.call('greenswitch', 'DELETE', `/v1/identity-records/${ir}`);
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0]['error-code']).toBe('CON001');
    expect(refused.body.errors[0].message).toContain(rec.body['access-token'].key);

    expect((await r.call('greenswitch', 'DELETE', `/v1/access-records/${rec.body['access-token'].key}?reason=contract-ended`)).status).toBe(200);
    const done = await r.call('greenswitch', 'DELETE', `/v1/identity-records/${ir}`);
    expect(done.status).toBe(200);
    expect(done.body['anonymised-at']).toMatch(/Z$/);
    const after = await r.call('greenswitch', 'GET', `/v1/identity-records/${ir}`);
    expect(after.body['identity-record']['pii-principal']).toBeNull();
    expect(after.body['identity-record']['has-email']).toBe(false);
    expect(after.body['identity-record']['anonymised-at']).not.toBeNull();
    expect(await r.probe.identity(ir)).toMatchObject({ emailHash: null, emailEnc: null, mpxn: null });
    expect((await r.call('greenswitch', 'DELETE', `/v1/identity-records/${ir}`)).status).toBe(409);
    // The access record stays, linked.
    const stillThere = await r.call(null, 'GET', `/v1/access-records/${rec.body['access-token'].key}`);
    expect(stillThere.body['access-record']['access-event'].state).toBe('REVOKED');
    // A new record cannot link to it.
    expect((await r.call('greenswitch', 'POST', '/v1/access-records', consentBody(ir))).status).toBe(409);
  });

  it('removing an unknown credential is 404', async () => {
    const res = await r.call('bright_energy', 'DELETE', `/v1/identity-records/${r.demo!.ir}/credentials/cred_000000000000000000000000`);
    expect(res.status).toBe(404);
  });

  it('passkey registration needs a pre-registered passkey-return-url', async () => {
    const missing = await r.call('bright_energy', 'POST', '/v1/identity-records', newRecord('1122334455', { 'initiate-passkey-registration': true }));
    expect(missing.status).toBe(400);
    const wrong = await r.call('bright_energy', 'POST', '/v1/identity-records', newRecord('1122334455', { 'initiate-passkey-registration': true, 'passkey-return-url': 'https://evil.example/cb' }));
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0].message).toContain('pre-registered');
  });

  it('exists reports methods without any ir or PII', async () => {
    const res = await r.call('portal_ops', 'GET', '/v1/identity-records/exists?mpxn=2312345678901');
    expect(res.status).toBe(200);
    expect(res.body.exists).toBe(true);
    expect(res.body['available-methods']).toEqual(['magic-link', 'passkey-register']);
    expect(JSON.stringify(res.body)).not.toMatch(/ir_|customer@/);
    const none = await r.call('bright_energy', 'GET', '/v1/identity-records/exists?mpxn=0000000000');
    expect(none.body).toMatchObject({ exists: false, 'available-methods': [] });
    expect((await r.call('dcc_system', 'GET', '/v1/identity-records/exists?mpxn=2312345678901')).status).toBe(403);
  });
});
