import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/server/lib/ids.js';
import { testRegister, type TestRegister } from './support/register.js';

/**
 * The re-identification and webhook delivery lists at scale (docs/api.md "Admin lists"): sort by
 * their main columns with keyset and offset paging, creation date ranges, a Data User filter
 * with names, token search by MPxN or token-ref prefix, event-type filter, the streamed CSV
 * export, and 400s in the error envelope (after 401/403).
 */
const DAY = 86_400_000;
const start = Date.parse('2026-03-01T09:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('admin lists: re-identification tokens and webhook deliveries', () => {
  let r: TestRegister;
  let duid: string;
  let ir: string;
  const mpxn = '7766554433221';
  const refs: string[] = [];
  const events: string[] = [];

  beforeAll(async () => {
    r = await testRegister();
    const created = await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'list_tester', 'display-name': 'List Tester Energy', role: 'data_user', 'data-types': ['HH-CONSUMPTION'] });
    expect(created.status).toBe(201);
    duid = created.body.duid ?? (await r.svc.accounts.get('list_tester')).duid;
    const token = await r.token('list_tester', created.body['secret-key']);
    const idr = await r.app.inject({ method: 'POST', url: '/v1/identity-records', headers: { authorization: `Bearer ${token}` }, payload: { 'pii-principal': { mpxn, 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' } });
    ir = idr.json().ir;
    // Ten tokens on ten days: pending with a ceremony far ahead (i even), expired (i odd); the
    // expiries run backwards so expiry order is not creation order.
    for (let i = 0; i < 10; i++) {
      const ref = newId('mlr');
      refs.push(ref);
      await r.probe.insertTokens([
        {
          tokenRef: ref,
          method: 'magic-link',
          flow: 'record',
          ir,
          mpxn,
          initiatorAccountId: 'list_tester',
          initiatorDuid: duid,
          status: i % 2 ? 'expired' : 'pending',
          createdAt: iso(start + i * DAY),
          ceremonyExpiresAt: iso(Date.now() + (20 - i) * DAY),
          usableUntil: iso(start + i * DAY + 3_600_000),
        },
      ]);
      const evt = newId('evt');
      events.push(evt);
      await r.probe.insertDeliveries([
        {
          eventId: evt,
          wid: newId('wid'),
          duid,
          eventType: i % 3 ? 'consent.withdrawal' : 'tenancy.change',
          payload: { n: i },
          occurredAt: iso(start + i * DAY),
          status: i % 2 ? 'delivered' : 'pending',
          nextAttemptAt: i % 2 ? null : iso(start + (30 - i) * DAY),
          createdAt: iso(start + i * DAY),
        },
      ]);
    }
  });
  afterAll(() => r.close());

  const get = async (url: string) => {
    const res = await r.call('admin_ops', 'GET', url);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const tokens = async (qs: string) => (await get(`/v1/admin/reidentifications?duid=${duid}&${qs}`)) as { tokens: { 'token-ref': string; status: string; 'initiator-display-name': string }[]; total: number; 'next-cursor': string | null };
  const deliveries = async (qs: string) => (await get(`/v1/admin/deliveries?duid=${duid}&${qs}`)) as { deliveries: { 'event-id': string; status: string; 'data-user-name': string }[]; total: number; 'next-cursor': string | null };

  it('tokens: Data User filter, sort by created/expiry/status, offset and keyset paging', async () => {
    const all = await tokens('limit=50');
    expect(all.total).toBe(10);
    expect(all.tokens.map((t) => t['token-ref'])).toEqual([...refs].reverse());
    expect(all.tokens[0]['initiator-display-name']).toBe('List Tester Energy');
    expect((await tokens('sort=created&order=asc&limit=50')).tokens.map((t) => t['token-ref'])).toEqual(refs);
    // Pending tokens show the ceremony's expiry (later for earlier tokens), the others usable-until.
    const byExpiry = (await tokens('sort=expiry&limit=50')).tokens.map((t) => t['token-ref']);
    expect(byExpiry).toEqual([1, 3, 5, 7, 9, 8, 6, 4, 2, 0].map((i) => refs[i]));
    expect((await tokens('sort=status&limit=50')).tokens.map((t) => t.status)).toEqual([...Array(5).fill('expired'), ...Array(5).fill('pending')]);
    expect((await tokens('sort=created&order=asc&offset=7&limit=2')).tokens.map((t) => t['token-ref'])).toEqual([refs[7], refs[8]]);
    // Keyset paging in a non-default sort walks every row once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await tokens(`sort=expiry&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.tokens.map((t) => t['token-ref']));
      cursor = page['next-cursor'];
    } while (cursor);
    expect(seen).toEqual(byExpiry);
    expect((await tokens('status=pending&limit=50')).total).toBe(5);
  });

  it('tokens: creation date range and MPxN / token-ref prefix search', async () => {
    expect((await tokens('from=2026-03-03&to=2026-03-05')).tokens.map((t) => t['token-ref'])).toEqual([refs[4], refs[3], refs[2]]);
    expect((await tokens('to=2026-03-01T09:00:00Z')).total).toBe(1);
    expect((await tokens(`q=${mpxn.slice(0, 6)}`)).total).toBe(10);
    expect((await tokens('q=7766999')).total).toBe(0);
    const one = await tokens(`q=${refs[6].slice(0, 20)}`);
    expect(one.tokens.map((t) => t['token-ref'])).toContain(refs[6]);
    expect((await tokens(`q=${refs[6]}`)).tokens.map((t) => t['token-ref'])).toEqual([refs[6]]);
  });

  it('deliveries: Data User with names, sort, offset, date range, event type', async () => {
    const all = await deliveries('limit=50');
    expect(all.total).toBe(10);
    expect(all.deliveries.map((d) => d['event-id'])).toEqual([...events].reverse());
    expect(all.deliveries[0]['data-user-name']).toBe('List Tester Energy');
    // Next attempt: pending ones by their time (latest for the earliest), then the rest (no next attempt).
    expect((await deliveries('sort=next-attempt&order=asc&limit=50')).deliveries.map((d) => d['event-id'])).toEqual([1, 3, 5, 7, 9, 8, 6, 4, 2, 0].map((i) => events[i]));
    expect((await deliveries('sort=status&limit=50')).deliveries.map((d) => d.status)).toEqual([...Array(5).fill('delivered'), ...Array(5).fill('pending')]);
    expect((await deliveries('sort=created&order=asc&offset=9&limit=5')).deliveries.map((d) => d['event-id'])).toEqual([events[9]]);
    expect((await deliveries('from=2026-03-09')).deliveries.map((d) => d['event-id'])).toEqual([events[9], events[8]]);
    expect((await deliveries('event-type=tenancy.change')).total).toBe(4);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await deliveries(`sort=next-attempt&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.deliveries.map((d) => d['event-id']));
      cursor = page['next-cursor'];
    } while (cursor);
    expect(new Set(seen).size).toBe(10);
  });

  it('exports tokens and deliveries as streamed CSV of the current filter with X-Total-Count', async () => {
    const auth = { authorization: `Bearer ${await r.token('admin_ops')}` };
    const t = await r.app.inject({ method: 'GET', url: `/v1/admin/reidentifications/export.csv?duid=${duid}&sort=expiry&status=pending`, headers: auth });
    expect(t.statusCode).toBe(200);
    expect(t.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(t.headers['x-total-count']).toBe('5');
    expect(t.headers['content-disposition']).toMatch(/^attachment; filename="reidentifications-\d{4}-\d{2}-\d{2}\.csv"$/);
    const tl = t.body.split('\r\n');
    expect(tl[0]).toMatch(/^"token-ref","mpxn","status"/);
    expect(tl.slice(1, -1).map((l) => l.split(',')[0].replace(/"/g, ''))).toEqual([8, 6, 4, 2, 0].map((i) => refs[i]));
    expect(tl[1]).toContain('"List Tester Energy"');
    const d = await r.app.inject({ method: 'GET', url: `/v1/admin/deliveries/export.csv?duid=${duid}&event-type=consent.withdrawal&sort=created&order=asc`, headers: auth });
    expect(d.statusCode).toBe(200);
    expect(d.headers['x-total-count']).toBe('6');
    const dl = d.body.split('\r\n').slice(1, -1);
    expect(dl.map((l) => l.split(',')[0].replace(/"/g, ''))).toEqual([1, 2, 4, 5, 7, 8].map((i) => events[i]));
    expect(dl[0]).toContain('"List Tester Energy"');
    // Support staff may export tokens; a Data User may not export either list.
    expect((await r.call('support_desk', 'GET', `/v1/admin/reidentifications/export.csv?duid=${duid}`)).status).toBe(200);
    expect((await r.call('octopusflux', 'GET', '/v1/admin/reidentifications/export.csv')).status).toBe(403);
    expect((await r.call('octopusflux', 'GET', '/v1/admin/deliveries/export.csv')).status).toBe(403);
  });

  it('bad values are 400 in the envelope, after 401/403', async () => {
    for (const url of [
      '/v1/admin/reidentifications?sort=mpxn',
      '/v1/admin/reidentifications?order=up',
      '/v1/admin/reidentifications?from=2026-02-30',
      '/v1/admin/reidentifications?from=2026-03-05&to=2026-03-01',
      '/v1/admin/reidentifications?q=a%25b',
      '/v1/admin/reidentifications?offset=-1',
      '/v1/admin/reidentifications?offset=2&cursor=abc',
      '/v1/admin/reidentifications?duid=nope',
      '/v1/admin/reidentifications/export.csv?sort=nonsense',
      '/v1/admin/deliveries?sort=expiry',
      '/v1/admin/deliveries?to=yesterday',
      '/v1/admin/deliveries?sort=status&cursor=!!',
      '/v1/admin/deliveries?duid=nope',
      '/v1/admin/deliveries/export.csv?from=2026-13-01',
    ]) {
      const res = await r.call('admin_ops', 'GET', url);
      expect(res.status, url).toBe(400);
      expect(res.body.errors[0]['error-code'], url).toMatch(/^VAL/);
      expect(res.body.response, url).toBeDefined();
    }
    expect((await r.call(null, 'GET', '/v1/admin/reidentifications?sort=nonsense')).status).toBe(401);
    expect((await r.call('octopusflux', 'GET', '/v1/admin/reidentifications?sort=nonsense')).status).toBe(403);
    expect((await r.call(null, 'GET', '/v1/admin/deliveries?sort=nonsense')).status).toBe(401);
    expect((await r.call('support_desk', 'GET', '/v1/admin/deliveries?sort=nonsense')).status).toBe(403);
  });
});
