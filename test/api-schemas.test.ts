import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Account, DataUser } from '../src/shared/schemas/account.js';
import { AdminDelivery, AdminDiscovered, AdminIdentity, AdminIdentityDetail, AdminRecord, AdminRecordDetail, AdminSettings, AdminStats, AuditEvent, AuditVerify, ClockState } from '../src/shared/schemas/admin.js';
import { Ok } from '../src/shared/schemas/common.js';
import { AdminReIdentifyResult, AdminToken, ExistsAnswer, OutboxMessage } from '../src/shared/schemas/reidentification.js';
import { AdminWebhookSubscription } from '../src/shared/schemas/webhook.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

/**
 * The console's API types are `Static<…>` of the schemas in src/shared/schemas, and the
 * register documents its answers with the same schemas. The serializer does not check
 * enumerations or required fields, so this checks what the register really sends against
 * them: a status, role, state or method the vocabulary lacks, or a field the schema promises
 * and the route leaves out, fails here (and would be a lie in the console's types).
 */
const problems = (schema: TSchema, value: unknown) => [...Compile(schema).Errors(value)].map((e) => `${(e as { instancePath?: string }).instancePath ?? ''} ${e.message}`);
const list = (key: string, item: TSchema) => Ok({ [key]: { type: 'array', items: item } as unknown as TSchema });

describe('what the register sends matches the shared schemas the console types come from', () => {
  let r: TestRegister;
  let ak: string;
  beforeAll(async () => {
    r = await testRegister();
    // Activity, so every list has rows: a webhook subscription and a revocation (a delivery),
    // a re-identification (a token and an e-mail in the outbox).
    const wh = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'https://receiver.example/hook', 'alert-email': 'ops@bright.example' });
    expect(wh.status).toBe(201);
    const created = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(r.demo!.ir));
    expect(created.status).toBe(201);
    ak = created.body['access-token'].key;
    const revoked = await r.call('admin_ops', 'POST', `/v1/admin/records/${ak}/revoke`, { reason: 'contract-ended' });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    const started = await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { mpxn: r.demo!.mpxn, method: 'magic-link', 'on-behalf-of': 'bright_energy' });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(problems(Ok(AdminReIdentifyResult.properties), started.body)).toEqual([]);
  });
  afterAll(() => r.close());

  it('admin lists and details', async () => {
    const cases: [string, TSchema, string?][] = [
      ['/v1/admin/accounts', list('accounts', Account), 'accounts'],
      ['/v1/admin/records', list('records', AdminRecord), 'records'],
      [`/v1/admin/identity-records?mpxn=${r.demo!.mpxn}`, list('identity-records', AdminIdentity), 'identity-records'],
      ['/v1/admin/reidentifications', list('tokens', AdminToken), 'tokens'],
      ['/v1/admin/deliveries', list('deliveries', AdminDelivery), 'deliveries'],
      ['/v1/admin/outbox', list('messages', OutboxMessage), 'messages'],
      ['/v1/admin/audit', list('events', AuditEvent), 'events'],
      ['/v1/admin/discovered-access', list('records', AdminDiscovered), 'records'],
      ['/v1/admin/webhooks', list('webhooks', AdminWebhookSubscription), 'webhooks'],
      [`/v1/admin/records/${'{ak}'}`, Ok({ record: AdminRecordDetail })],
      [`/v1/admin/identity-records/${'{ir}'}`, Ok(AdminIdentityDetail.properties)],
      ['/v1/admin/audit/verify', Ok(AuditVerify.properties)],
      ['/v1/admin/stats', Ok(AdminStats.properties)],
      ['/v1/admin/settings', Ok(AdminSettings.properties)],
      ['/v1/admin/clock', Ok(ClockState.properties)],
      [`/v1/admin/identity-records/exists?mpxn=${r.demo!.mpxn}`, Ok(ExistsAnswer.properties)],
    ];
    for (const [template, schema, rowsKey] of cases) {
      const url = template.replace('{ak}', ak).replace('{ir}', r.demo!.ir);
      const res = await r.call('admin_ops', 'GET', url);
      expect(res.status, url).toBe(200);
      // Every list holds rows here, so the row schema is really exercised.
      if (rowsKey) expect(res.body[rowsKey].length, url).toBeGreaterThan(0);
      expect(problems(schema, res.body), url).toEqual([]);
    }
  });

  it('the Data User directory and the public exists answer', async () => {
    const duid = (await r.call('admin_ops', 'GET', '/v1/admin/accounts/bright_energy')).body.account.duid;
    const entry = await r.call('northern_networks', 'GET', `/v1/data-users/${duid}`);
    expect(problems(Ok({ 'data-user': DataUser }), entry.body)).toEqual([]);
    const exists = await r.call('portal_ops', 'GET', `/v1/identity-records/exists?mpxn=${r.demo!.mpxn}`);
    expect(exists.body['available-methods'].length).toBeGreaterThan(0);
    expect(problems(Ok(ExistsAnswer.properties), exists.body)).toEqual([]);
  });
});

describe('the two /exists routes share one handler; who may call each is checked before the query', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('401 without a token and 403 for another role, even with a malformed MPxN; 400 for an allowed caller', async () => {
    for (const path of ['/v1/identity-records/exists', '/v1/admin/identity-records/exists']) {
      const bad = `${path}?mpxn=not-an-mpxn`;
      expect((await r.call(null, 'GET', bad)).status, bad).toBe(401);
      expect((await r.call('dcc_system', 'GET', bad)).body.errors[0]['error-code'], bad).toBe('AUTH003');
    }
    // Each route admits its own callers only.
    expect((await r.call('bright_energy', 'GET', '/v1/admin/identity-records/exists?mpxn=not-an-mpxn')).status).toBe(403);
    expect((await r.call('support_desk', 'GET', '/v1/identity-records/exists?mpxn=not-an-mpxn')).status).toBe(403);
    const invalid = await r.call('support_desk', 'GET', '/v1/admin/identity-records/exists?mpxn=not-an-mpxn');
    expect([invalid.status, invalid.body.errors[0]['error-code']]).toEqual([400, 'VAL001']);
    expect((await r.call('portal_ops', 'GET', '/v1/identity-records/exists?mpxn=not-an-mpxn')).status).toBe(400);
    // The same answer from both.
    const staff = await r.call('support_desk', 'GET', `/v1/admin/identity-records/exists?mpxn=${r.demo!.mpxn}`);
    const portal = await r.call('portal_ops', 'GET', `/v1/identity-records/exists?mpxn=${r.demo!.mpxn}`);
    expect({ ...staff.body, response: null }).toEqual({ ...portal.body, response: null });
  });
});
