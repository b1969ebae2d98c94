import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

/**
 * Record counts on PostgreSQL (services/record-counts.ts): a record written for a Data User
 * does not lock anything another record of the same Data User needs, so their transactions
 * commit side by side (on any node); the counts read exact before and after the changes are
 * folded in. Runs its own PostgreSQL database, in the SQLite pass.
 */
describe.skipIf(!postgresAvailable())('record counts on PostgreSQL', () => {
  let d: TestDatabase;
  let r: TestRegister;
  let a: pg.Client;
  let b: pg.Client;
  const insert = (c: pg.Client, ak: string, duid: string) =>
    c.query("insert into access_records (ak, kind, duid, mpxn, state, data_types, created_at, updated_at) values ($1, 'record', $2, '1200000000001', 'ACTIVE', '[]', 'x', 'x')", [ak, duid]);
  const pending = async () => Number((await a.query('select count(*) as n from access_record_count_deltas')).rows[0].n);
  const total = async (account: string, query = '') => {
    const res = await r.call(account, 'GET', `/v1/records?limit=1${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.total as number;
  };

  beforeAll(async () => {
    d = await testDatabase('record_counts');
    r = await testRegister({ databaseUrl: d.url });
    a = await connect(d.name);
    b = await connect(d.name);
  });

  afterAll(async () => {
    await a?.end();
    await b?.end();
    await r?.close();
    await d?.drop();
  });

  it("two open transactions write records of one Data User without waiting for each other's commit", async () => {
    const duid = 'duid_counts_concurrent';
    await a.query('begin');
    try {
      await insert(a, 'ak_counts_1', duid);
      // Were the Data User's count row updated by the first insert, the second would wait for
      // the first transaction to end: here, give up after 2 s with "lock timeout" (55P03).
      await b.query("set lock_timeout = '2s'");
      await insert(b, 'ak_counts_2', duid);
    } finally {
      await a.query('commit');
    }
    const counts = await r.probe.recordCountsByState(duid);
    expect(counts.kept).toEqual([{ state: 'ACTIVE', n: 2 }]);
    expect(counts.kept).toEqual(counts.counted.map((c) => ({ ...c, n: Number(c.n) })));
  });

  it('counts read exact with changes pending and after folding; folding leaves none', async () => {
    const duid = (await r.svc.accounts.get('bright_energy')).duid!;
    await r.svc.recordCounts.runOnce();
    expect(await pending()).toBe(0);
    const before = await total('bright_energy');
    const ir = (await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: '1200012345678', 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' })).body.ir;
    const aks: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(ir));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      aks.push(res.body['access-token'].key);
    }
    expect((await r.call('bright_energy', 'DELETE', `/v1/access-records/${aks[0]}?reason=customer-request`)).status).toBe(200);
    // Pending: three creates and a revoke (one change out of ACTIVE, one into REVOKED).
    expect(await pending()).toBe(5);
    expect(await total('bright_energy')).toBe(before + 3);
    const revokedBefore = await total('bright_energy', '&state=REVOKED');
    const counts = await r.probe.recordCountsByState(duid);
    expect(counts.kept).toEqual(counts.counted.map((c) => ({ ...c, n: Number(c.n) })));

    expect(await r.svc.recordCounts.runOnce()).toBeGreaterThan(0);
    expect(await pending()).toBe(0);
    expect(await total('bright_energy')).toBe(before + 3);
    expect(await total('bright_energy', '&state=REVOKED')).toBe(revokedBefore);
    const folded = await r.probe.recordCountsByState(duid);
    expect(folded.kept).toEqual(folded.counted.map((c) => ({ ...c, n: Number(c.n) })));
    // Nothing pending: a pass changes nothing.
    expect(await r.svc.recordCounts.runOnce()).toBe(0);
  });
});
