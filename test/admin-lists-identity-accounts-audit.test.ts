import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRegister, type TestRegister } from './support/register.js';
import { relinkToOrigin } from '../src/shared/relink.js';

describe('sandbox outbox: links rewritten to the register the console talks to', () => {
  it('rewrites only links whose origin is exactly the public origin', () => {
    const here = 'http://127.0.0.1:5001';
    const html = '<a href="http://localhost:5001/r/abc?x=1&amp;y=2">go</a> <a href="http://localhost:50010/r/def">other</a> http://localhost:5001 and https://localhost:5001/x http://localhost:5001?t=1#f';
    const out = relinkToOrigin(html, 'http://localhost:5001', here);
    expect(out).toBe('<a href="http://127.0.0.1:5001/r/abc?x=1&amp;y=2">go</a> <a href="http://localhost:50010/r/def">other</a> http://127.0.0.1:5001 and https://localhost:5001/x http://127.0.0.1:5001?t=1#f');
  });
  it('treats the default port as the same origin and leaves text without links alone', () => {
    expect(relinkToOrigin('see https://dar.example:443/p', 'https://dar.example', 'http://127.0.0.1:9')).toBe('see http://127.0.0.1:9/p');
    expect(relinkToOrigin('no links here', 'http://localhost:5001', 'http://x')).toBe('no links here');
  });
});

describe('admin lists, more: audit export, accounts, identity records (docs/api.md "Admin lists")', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());
  const csv = async (account: string | null, url: string) => {
    const res = await r.app.inject({ method: 'GET', url, headers: account ? { authorization: `Bearer ${await r.token(account)}` } : {} });
    return res;
  };

  it('audit: streamed CSV export of the current filter, newest first, with X-Total-Count', async () => {
    for (let i = 0; i < 3; i++) expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': `audit_probe_${i}`, 'display-name': `=Probe ${i}`, role: 'data_user', 'data-types': ['HH-CONSUMPTION'] })).status).toBe(201);
    const listed = (await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type-prefix=account.&limit=500')).body;
    const res = await csv('admin_ops', '/v1/admin/audit/export.csv?event-type-prefix=account.');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['x-total-count']).toBe(String(listed.total));
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = res.body.split('\r\n');
    expect(lines[0]).toBe('"id","at","actor","event-type","ak","ir","subject","detail","hash","prev-hash"');
    expect(lines.at(-1)).toBe('');
    const ids = lines.slice(1, -1).map((l) => Number(l.split(',')[0].replace(/"/g, '')));
    expect(ids).toEqual(listed.events.map((e: { id: number }) => e.id));
    expect(ids.length).toBeGreaterThanOrEqual(3);
    // Every filter of the list applies; a date range with nothing in it gives the header only.
    const none = await csv('admin_ops', '/v1/admin/audit/export.csv?from=2000-01-01&to=2000-01-02');
    expect(none.headers['x-total-count']).toBe('0');
    expect(none.body.split('\r\n')).toHaveLength(2);
    // Support staff may export; a Data User may not; auth comes before validation; bad values are 400s.
    expect((await csv('support_desk', '/v1/admin/audit/export.csv')).statusCode).toBe(200);
    expect((await csv('octopusflux', '/v1/admin/audit/export.csv?from=nope')).statusCode).toBe(403);
    expect((await csv(null, '/v1/admin/audit/export.csv?from=nope')).statusCode).toBe(401);
    const bad = await csv('admin_ops', '/v1/admin/audit/export.csv?from=2026-02-30');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0]['error-code']).toBeDefined();
    expect((await csv('admin_ops', '/v1/admin/audit/export.csv?limit=5')).statusCode).toBe(400);
  });

  it("audit: the ak and ir indexes hold only events that name one; a record's events are still found through its index", async () => {
    const ak = (await r.call('octopusflux', 'GET', '/v1/records?limit=1')).body.records[0]['record-metadata']['record-identifier'] as string;
    // The record's timeline (admin record view) and the audit filter by ak (docs/api.md "Admin lists").
    const timeline = await r.probe.planOf('record-timeline', ak);
    expect(timeline, timeline).toMatch(/audit_events_ak_idx/);
    // An event without a record has no entry in the index: asking for those cannot use it.
    const without = await r.probe.planOf('events-without-record');
    expect(without, without).not.toMatch(/audit_events_ak_idx/);
    // The same for identity records' events.
    const identity = await r.probe.planOf('identity-events', 'ir_000000000000000000000000');
    expect(identity, identity).toMatch(/audit_events_ir_idx/);
    const withoutIdentity = await r.probe.planOf('events-without-identity');
    expect(withoutIdentity, withoutIdentity).not.toMatch(/audit_events_ir_idx/);
    const filtered = await r.call('admin_ops', 'GET', `/v1/admin/audit?ak=${ak}`);
    expect(filtered.status).toBe(200);
    expect(filtered.body.events.length).toBeGreaterThan(0);
    expect(filtered.body.events.every((e: { ak: string }) => e.ak === ak)).toBe(true);
  });

  it('audit: an export larger than one chunk comes out whole, in order', async () => {
    const total = Number((await csv('admin_ops', '/v1/admin/audit/export.csv')).headers['x-total-count']);
    // Appended through the audit log itself (the routes that write events are covered elsewhere).
    for (let i = total; i < 1100; i++) await r.reg.audit.append({ actor: 'register', eventType: 'test.bulk', detail: { i } });
    const res = await csv('admin_ops', '/v1/admin/audit/export.csv');
    const ids = res.body
      .split('\r\n')
      .slice(1, -1)
      .map((l) => Number(l.split(',')[0].replace(/"/g, '')));
    expect(ids.length).toBe(Number(res.headers['x-total-count']));
    expect(ids.length).toBeGreaterThan(1000);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('admin accounts list: sort, fragment search, offsets', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
    for (const [id, name] of [
      ['zz_sorter_b', 'Bravo Sorting Ltd'],
      ['zz_sorter_a', 'alpha sorting plc'],
      ['zz_sorter_c', 'Charlie_Sorting%'],
    ]) {
      expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': id, 'display-name': name, role: 'data_user', 'data-types': ['HH-CONSUMPTION'] })).status).toBe(201);
    }
  });
  afterAll(() => r.close());
  type Acc = { 'account-id': string; 'display-name': string; role: string; status: string };
  const ids = async (qs: string) => {
    const res = await r.call('admin_ops', 'GET', `/v1/admin/accounts?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body.accounts as Acc[]).map((a) => a['account-id']);
  };

  it('finds a fragment of the account id or display name, ignoring case; LIKE wildcards are literal', async () => {
    expect(await ids('q=SORTING')).toEqual(['zz_sorter_c', 'zz_sorter_a', 'zz_sorter_b']);
    expect(await ids('q=sorter_a')).toEqual(['zz_sorter_a']);
    expect(await ids('q=ting%25')).toEqual(['zz_sorter_c']);
    expect(await ids('q=e_S')).toEqual(['zz_sorter_c']);
  });

  it('sorts by name, role, status and creation both ways, with offsets and keyset cursors', async () => {
    expect(await ids('q=sorting&sort=name')).toEqual(['zz_sorter_a', 'zz_sorter_b', 'zz_sorter_c']);
    expect(await ids('q=sorting&sort=name&order=desc')).toEqual(['zz_sorter_c', 'zz_sorter_b', 'zz_sorter_a']);
    expect(await ids('q=sorting&sort=created&order=asc')).toEqual(['zz_sorter_b', 'zz_sorter_a', 'zz_sorter_c']);
    expect(await ids('q=sorting&sort=name&offset=1&limit=1')).toEqual(['zz_sorter_b']);
    const all = await r.call('admin_ops', 'GET', '/v1/admin/accounts?sort=role&limit=500');
    const roles = (all.body.accounts as Acc[]).map((a) => a.role);
    expect(roles).toEqual([...roles].sort());
    expect(await ids('sort=status&order=desc&limit=500')).toHaveLength(all.body.total);
    // Keyset pages in a sort give every account once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { accounts: Acc[]; 'next-cursor': string | null } } = await r.call('admin_ops', 'GET', `/v1/admin/accounts?sort=name&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.accounts.map((a) => a['account-id']));
      cursor = page.body['next-cursor'];
    } while (cursor);
    expect(seen).toEqual((await r.call('admin_ops', 'GET', '/v1/admin/accounts?sort=name&limit=500')).body.accounts.map((a: Acc) => a['account-id']));
  });

  it('bad values are 400s in the envelope, after authentication', async () => {
    for (const qs of ['sort=nonsense', 'order=up', 'offset=-1', 'sort=name&cursor=abc&offset=2', 'sort=name&cursor=!!']) {
      const res = await r.call('admin_ops', 'GET', `/v1/admin/accounts?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.body.errors[0]['error-code']).toBeDefined();
    }
    expect((await r.call(null, 'GET', '/v1/admin/accounts?sort=nonsense')).status).toBe(401);
    expect((await r.call('octopusflux', 'GET', '/v1/admin/accounts?sort=nonsense')).status).toBe(403);
  });
});

describe('admin identity records list: MPxN fragment, Data User, date range, sort, offsets, export', () => {
  let r: TestRegister;
  let duid: string;
  const made: { ir: string; mpxn: string }[] = [];
  const start = Date.parse('2026-03-01T09:00:00Z');
  beforeAll(async () => {
    r = await testRegister();
    const created = await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'ir_tester', 'display-name': 'IR Tester Energy', role: 'data_user', 'data-types': ['HH-CONSUMPTION'] });
    expect(created.status).toBe(201);
    duid = created.body.account.duid;
    const secret = created.body['secret-key'];
    const token = await r.token('ir_tester', secret);
    // Five records on five days; MPxNs not in creation order.
    for (const [i, mpxn] of ['8812345000003', '8812345000001', '8899999000002', '8812345000005', '8812345000004'].entries()) {
      r.reg.clock.setOffset(start + i * 86_400_000 - Date.now());
      const res = await r.app.inject({
        method: 'POST',
        url: '/v1/identity-records',
        headers: { authorization: `Bearer ${token}` },
        payload: { 'pii-principal': { mpxn, 'move-in-date': '2021-01-01', address: { addressLine1: '1 Secret Street', townCity: 'Leeds', postcode: 'LS1 4AB' } }, email: `c${i}@customer.example`, 'expressed-by': 'data-subject' },
      });
      expect(res.statusCode, res.body).toBe(201);
      made.push({ ir: res.json().ir, mpxn });
    }
    r.reg.clock.setOffset(0);
  });
  afterAll(() => r.close());
  type Ir = { ir: string; 'pii-principal': { mpxn: string; address?: { addressLine1: string } }; 'owner-display-name': string | null; masked: boolean };
  const irs = async (qs: string, who = 'admin_ops') => {
    const res = await r.call(who, 'GET', `/v1/admin/identity-records?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { 'identity-records': Ir[]; total: number; 'next-cursor': string | null };
  };
  const mpxns = async (qs: string) => (await irs(qs))['identity-records'].map((x) => x['pii-principal'].mpxn);

  it('filters by Data User, MPxN fragment and creation date; sorts by creation or MPxN; offsets', async () => {
    const all = await irs(`duid=${duid}`);
    expect(all.total).toBe(5);
    expect(all['identity-records'].map((x) => x.ir)).toEqual(made.map((m) => m.ir).reverse());
    expect(all['identity-records'][0]['owner-display-name']).toBe('IR Tester Energy');
    expect(all['identity-records'][0].masked).toBe(true);
    expect(all['identity-records'][0]['pii-principal'].address!.addressLine1).not.toContain('Secret');
    expect(await mpxns(`duid=${duid}&sort=mpxn`)).toEqual(['8812345000001', '8812345000003', '8812345000004', '8812345000005', '8899999000002']);
    expect(await mpxns(`duid=${duid}&sort=mpxn&order=desc&offset=1&limit=2`)).toEqual(['8812345000005', '8812345000004']);
    expect(await mpxns(`duid=${duid}&sort=created&order=asc`)).toEqual(made.map((m) => m.mpxn));
    expect(await mpxns('q=99999')).toEqual(['8899999000002']);
    expect(await mpxns(`q=12345000&duid=${duid}&sort=mpxn&limit=2`)).toEqual(['8812345000001', '8812345000003']);
    expect(await mpxns(`duid=${duid}&from=2026-03-02&to=2026-03-03`)).toEqual(['8899999000002', '8812345000001']);
    // Keyset pages in the MPxN sort give every record once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { 'identity-records': Ir[]; 'next-cursor': string | null } = await irs(`duid=${duid}&sort=mpxn&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page['identity-records'].map((x) => x['pii-principal'].mpxn));
      cursor = page['next-cursor'];
    } while (cursor);
    expect(seen).toEqual(await mpxns(`duid=${duid}&sort=mpxn`));
  });

  it('never searches addresses or e-mails by substring; every list call is an audited read', async () => {
    expect((await r.call('admin_ops', 'GET', '/v1/admin/identity-records?q=Secret')).status).toBe(400);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/identity-records?q=customer.example')).status).toBe(400);
    await irs(`q=99999&duid=${duid}`, 'support_desk');
    const ev = (await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=identity-record.read&limit=1')).body.events[0];
    expect(ev.actor).toBe('support_desk');
    expect(ev.detail.search).toEqual({ q: '99999', duid });
    expect(ev.detail.found).toEqual([made[2].ir]);
  });

  it('bad values are 400s in the envelope, after authentication; a scope is required', async () => {
    for (const qs of ['', 'sort=nonsense&duid=x', `duid=${'d'.repeat(3)}&order=up`, 'q=12&offset=-1', 'from=2026-02-30', 'q=1&from=2026-03-05&to=2026-03-01', 'q=12&cursor=abc&offset=1&sort=mpxn']) {
      const res = await r.call('admin_ops', 'GET', `/v1/admin/identity-records?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.body.errors[0]['error-code']).toBeDefined();
    }
    expect((await r.call(null, 'GET', '/v1/admin/identity-records?sort=nonsense')).status).toBe(401);
    expect((await r.call('octopusflux', 'GET', '/v1/admin/identity-records/export.csv?sort=nonsense')).status).toBe(403);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/identity-records/export.csv')).status).toBe(400);
  });

  it('exports the current filter and sort as streamed CSV without addresses or e-mails, audited as a read', async () => {
    const token = await r.token('support_desk');
    const res = await r.app.inject({ method: 'GET', url: `/v1/admin/identity-records/export.csv?duid=${duid}&sort=mpxn`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['x-total-count']).toBe('5');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="identity-records-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = res.body.split('\r\n');
    expect(lines[0]).toBe('"ir","mpxn","move-in-date","duid","data-user","has-email","access-record-count","created-at","anonymised-at"');
    expect(lines.slice(1, -1).map((l) => l.split(',')[1].replace(/"/g, ''))).toEqual(await mpxns(`duid=${duid}&sort=mpxn`));
    expect(res.body).not.toMatch(/Secret|Leeds|LS1|customer\.example/);
    expect(lines[1]).toContain('"IR Tester Energy"');
    const ev = (await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=identity-record.read&limit=2')).body.events.find((e: { actor: string }) => e.actor === 'support_desk');
    expect(ev.detail).toMatchObject({ search: { duid }, exported: 5 });
  });
});
