/**
 * Regression tests for the performance work (docs/performance.md): behaviour must be the same as
 * before, only cheaper (see docs/performance.md).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { nullableUnions } from '../src/server/http/schema-compilers.js';
import { newId } from '../src/server/lib/ids.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

const registers: TestRegister[] = [];
afterAll(async () => {
  for (const r of registers) await r.close();
});

describe('response serialisation of nullable fields', () => {
  it('rewrites anyOf [X, null] to X + nullable, recursively, and leaves other unions alone', () => {
    const schema = {
      type: 'object',
      properties: {
        a: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        b: { anyOf: [{ type: 'object', properties: { c: { anyOf: [{ type: 'integer' }, { type: 'null' }] } } }, { type: 'null' }] },
        d: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        e: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
      },
    };
    expect(nullableUnions(schema)).toEqual({
      type: 'object',
      properties: {
        a: { type: 'string', nullable: true },
        b: { type: 'object', properties: { c: { type: 'integer', nullable: true } }, nullable: true },
        d: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        e: { type: 'array', items: { type: 'string', nullable: true } },
      },
    });
    // The route schema itself is not modified (OpenAPI is generated from it).
    expect(schema.properties.a).toEqual({ anyOf: [{ type: 'string' }, { type: 'null' }] });
  });

  it('records read back identically, nulls included', async () => {
    const r = await testRegister();
    registers.push(r);
    const ir = (await r.call('bright_energy', 'GET', `/v1/identity-records?mpxn=${r.demo!.mpxn}`)).body['identity-records'][0].ir;
    const created = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(ir));
    const ak = created.body['access-token'].key;
    const got = (await r.call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record'];
    expect(got['record-metadata']['controller-arrangement']['art26-reference']).toBeNull();
    // bright_energy's own ir, as published; revoked-at is absent (not null) before revocation.
    expect(got['record-metadata']['identity-record-ref']).toBe(ir);
    expect(got['access-event']).not.toHaveProperty('revoked-at');
    expect(got['access-event'].expiry).toBeNull();
    expect(got.processing.jurisdiction).toBe('GB');
    const listed = (await r.call('bright_energy', 'GET', '/v1/records?limit=500')).body;
    expect(listed.total).toBe(listed.records.length);
    expect(listed.records.find((x: any) => x.ak === ak)['record-metadata']['identity-record-ref']).toBe(ir);
  });
});

describe('ids', () => {
  it('are unique and well-formed when cut from the random pool', () => {
    const ids = Array.from({ length: 5000 }, () => newId('ak'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^ak_[0-9a-f]{24}$/);
  });
});

describe('lifecycle sweeper', () => {
  it('a large backlog is swept in the background without holding up requests', async () => {
    const r = await testRegister({ workers: false });
    registers.push(r);
    // 1,300 ACTIVE records already past their expiry (more than two sweep batches).
    const ir = (await r.call('bright_energy', 'GET', `/v1/identity-records?mpxn=${r.demo!.mpxn}`)).body['identity-records'][0].ir;
    const account = await r.svc.accounts.get('bright_energy');
    await r.reg.tx(async () => {
      for (let i = 0; i < 1300; i++) {
        const body = consentBody(ir, { 'access-event': { state: 'ACTIVE', 'registered-at': '2020-01-01T00:00:00Z', expiry: '2020-06-01', consent: { 'consent-type': 'expressed-consent' } } });
        await r.svc.records.create(account, body, {
          resolveToken: () => {
            throw new Error('unused');
          },
        });
      }
    });
    const sweeper = r.svc.sweeper;
    const expiredCount = () => r.probe.recordCount({ expiredNotRevoked: true });
    const before = await expiredCount();
    sweeper.start();
    // start() returned after the first batch: the rest continues between requests.
    expect((await expiredCount()) - before).toBeLessThan(1300);
    const res = await r.call(null, 'GET', `/v1/access-records/ak_000000000000000000000000`);
    expect(res.status).toBe(404);
    await sweeper.stop();
    sweeper.start();
    for (let i = 0; i < 200 && (await expiredCount()) - before < 1300; i++) await new Promise((ok) => setTimeout(ok, 10));
    await sweeper.stop();
    expect((await expiredCount()) - before).toBe(1300);
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit/verify');
    expect(audit.body.intact).toBe(true);
  });
});
