import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

/**
 * Admin lists at scale (docs/api.md "Admin lists"): sort by main columns with keyset and offset
 * paging, substring search (FTS5 trigram), creation date ranges, a Data User filter, names
 * instead of DUIDs, the streamed CSV export, the audit log's prefix/fragment/date filters,
 * and 400s in the error envelope for every bad value.
 */
type Row = { ak: string; mpxn: string; state: string; expiry: string | null; purpose: string | null; 'created-at': string; 'lead-controller-name': string | null; duid: string | null; 'data-user-name': string | null };

const DAY = 86_400_000;
const PURPOSES = ['Half-hourly TARIFF optimisation', 'Heat-pump sizing', 'Monthly carbon footprint report', '=HYPERLINK("http://evil.example")'];
const LEADS = ['Zephyr Power Ltd', 'alpha grid plc', 'Mercury Metering Ltd'];

describe('admin lists: sort, search, date ranges, export (docs/api.md "Admin lists")', () => {
  let r: TestRegister;
  const made: { ak: string; mpxn: string; purpose: string; expiry: string | null; lead: string; day: number }[] = [];
  const start = Date.parse('2026-01-10T12:00:00Z');

  let secret: string;
  const as = async (method: string, url: string, body?: unknown) => {
    const res = await r.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${await r.token('list_tester', secret)}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  beforeAll(async () => {
    r = await testRegister();
    // A Data User of its own, so the lists below hold exactly these records.
    const created = await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'list_tester', 'display-name': 'List Tester Energy', role: 'data_user', 'data-types': ['HH-CONSUMPTION'] });
    expect(created.status).toBe(201);
    secret = created.body['secret-key'];
    // Twelve records by OctopusFlux, created on twelve different days (sandbox clock), with
    // repeated expiries (ties broken by seq) and records without expiry (NULLs in the sort).
    for (let i = 0; i < 12; i++) {
      r.reg.clock.setOffset(start + i * DAY - Date.now());
      const mpxn = `77${String(10_000_000 + i * 1_234_567).padStart(11, '0')}`;
      const ir = (await as('POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' })).body.ir;
      const body = consentBody(ir);
      const expiry = i % 4 === 0 ? null : ['2031-05-01', '2029-02-01', '2031-05-01'][i % 3];
      const lead = LEADS[i % 3];
      body['record-metadata']['controller-arrangement'].controllers = [{ name: lead, role: 'sole', 'contact-url': 'https://lead.example/contact' }];
      body.processing.purpose = PURPOSES[i % 4];
      body['access-event'].expiry = expiry;
      body['access-event']['registered-at'] = new Date(start + i * DAY).toISOString().slice(0, 19) + 'Z';
      const res = await as('POST', '/v1/access-records', body);
      expect(res.status).toBe(201);
      made.push({ ak: res.body['access-token'].key, mpxn, purpose: PURPOSES[i % 4], expiry, lead, day: i });
    }
    r.reg.clock.setOffset(0);
  });
  afterAll(() => r.close());

  const octo = async () => (await r.svc.accounts.get('list_tester')).duid;
  const list = async (qs: string) => {
    const res = await r.call('admin_ops', 'GET', `/v1/admin/records?duid=${await octo()}&${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { records: Row[]; total: number; 'next-cursor': string | null };
  };
  /** Every row, following next-cursor with a small page. */
  const walk = async (qs: string, limit = 5) => {
    const out: Row[] = [];
    let cursor: string | null = null;
    do {
      const page: { records: Row[]; 'next-cursor': string | null } = await list(`${qs}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      out.push(...page.records);
      cursor = page['next-cursor'];
    } while (cursor);
    return out;
  };

  it('sorts by expiry, MPxN, organisation and creation, both ways; keyset pages give every row once in that order', async () => {
    const all = await list('limit=500');
    expect(all.total).toBe(12);
    const seqOf = new Map(made.map((m, i) => [m.ak, i]));
    // SQLite order: NULL first ascending, last descending; ties by creation order in the same direction.
    const cmp = (key: (x: Row) => string | null, dir: 1 | -1) => (a: Row, b: Row) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) {
        if (ka === null) return -dir;
        if (kb === null) return dir;
        return ka < kb ? -dir : dir;
      }
      return (seqOf.get(a.ak)! - seqOf.get(b.ak)!) * dir;
    };
    const keys: Record<string, (x: Row) => string | null> = {
      expiry: (x) => x.expiry,
      mpxn: (x) => x.mpxn,
      organisation: (x) => x['lead-controller-name']!.toLowerCase(),
      created: (x) => x['created-at'],
    };
    for (const [sort, key] of Object.entries(keys)) {
      for (const order of ['asc', 'desc'] as const) {
        const expected = [...all.records].sort(cmp(key, order === 'asc' ? 1 : -1)).map((x) => x.ak);
        const one = await list(`sort=${sort}&order=${order}&limit=500`);
        expect(
          one.records.map((x) => x.ak),
          `${sort} ${order}`,
        ).toEqual(expected);
        expect(
          (await walk(`sort=${sort}&order=${order}`, 5)).map((x) => x.ak),
          `${sort} ${order} paged`,
        ).toEqual(expected);
        expect(
          (await walk(`sort=${sort}&order=${order}`, 1)).map((x) => x.ak),
          `${sort} ${order} one by one`,
        ).toEqual(expected);
      }
    }
    // Default: newest first with the plain numeric cursor, as before.
    const first = await list('limit=5');
    expect(first.records.map((x) => x.ak)).toEqual(
      made
        .slice(-5)
        .reverse()
        .map((m) => m.ak),
    );
    expect(first['next-cursor']).toMatch(/^[0-9]+$/);
    // A sort other than the default: expiry without a value first when ascending.
    expect((await list('sort=expiry&limit=3')).records.map((x) => x.expiry)).toEqual([null, null, null]);
  });

  it('offset jumps to a row in the chosen order', async () => {
    const all = (await list('sort=expiry&order=desc&limit=500')).records.map((x) => x.ak);
    for (const offset of [0, 1, 5, 11, 12, 40]) {
      const page = await list(`sort=expiry&order=desc&limit=4&offset=${offset}`);
      expect(page.records.map((x) => x.ak)).toEqual(all.slice(offset, offset + 4));
      expect(page.total).toBe(12);
    }
  });

  it('q finds substrings of purpose, MPxN, controller name and access key, ignoring case; short terms match prefixes', async () => {
    const aks = async (q: string) => (await list(`q=${encodeURIComponent(q)}&limit=500`)).records.map((x) => x.ak).sort();
    const expect_ = (pred: (m: (typeof made)[number]) => boolean) =>
      made
        .filter(pred)
        .map((m) => m.ak)
        .sort();
    expect(await aks('tariff optim')).toEqual(expect_((m) => m.purpose.startsWith('Half-hourly')));
    expect(await aks('ump siz')).toEqual(expect_((m) => m.purpose === 'Heat-pump sizing'));
    expect(await aks('GRID')).toEqual(expect_((m) => m.lead === 'alpha grid plc'));
    expect(await aks('rcury Meter')).toEqual(expect_((m) => m.lead === 'Mercury Metering Ltd'));
    const m5 = made[5];
    expect(await aks(m5.mpxn.slice(4, 11))).toEqual([m5.ak]);
    expect(await aks(m5.ak.slice(8, 20))).toEqual([m5.ak]);
    expect(await aks(m5.ak.slice(8, 20).toUpperCase())).toEqual([m5.ak]);
    // Fewer than 3 characters: a prefix of access key, MPxN or name.
    expect(await aks('al')).toEqual(expect_((m) => m.lead === 'alpha grid plc'));
    expect(await aks('77')).toEqual(made.map((m) => m.ak).sort());
    expect(await aks('zz')).toEqual([]);
    // Characters with a meaning in FTS5 or LIKE are only text.
    expect(await aks('HYPERLINK("')).toEqual(expect_((m) => m.purpose.startsWith('=HYPERLINK')));
    expect(await aks('%_%')).toEqual([]);
    // The search index follows a replaced record's purpose.
    const replacement = consentBody((await r.svc.records.find(m5.ak))!.ir);
    replacement.processing.purpose = 'Solar diverter tuning';
    expect((await as('PUT', `/v1/access-records/${m5.ak}`, replacement)).status).toBe(200);
    expect(await aks('diverter')).toEqual([m5.ak]);
    expect(await aks('ump siz')).toEqual(expect_((m) => m.purpose === 'Heat-pump sizing' && m.ak !== m5.ak));
  });

  it('from/to select a creation date range (a to-date includes its whole day); combine with sort and search', async () => {
    const days = async (qs: string) => (await list(`${qs}&limit=500`)).records.map((x) => made.find((m) => m.ak === x.ak)!.day).sort((a, b) => a - b);
    expect(await days('from=2026-01-12&to=2026-01-14')).toEqual([2, 3, 4]);
    expect(await days('from=2026-01-20')).toEqual([10, 11]);
    expect(await days('to=2026-01-10')).toEqual([0]);
    expect(await days('from=2026-01-12T12:00:00Z&to=2026-01-13T11:59:59Z')).toEqual([2]);
    expect(await days('from=2026-01-12T13:00:00%2B01:00&to=2026-01-12T12:00:00Z')).toEqual([2]);
    expect(await days('from=2026-01-11&to=2026-01-16&q=grid')).toEqual([1, 4]);
  });

  it('filters by Data User and shows its name', async () => {
    const bright = (await r.svc.accounts.get('bright_energy')).duid;
    const res = await r.call('admin_ops', 'GET', `/v1/admin/records?duid=${bright}`);
    expect(res.status).toBe(200);
    expect(res.body.records.length).toBeGreaterThan(0);
    for (const x of res.body.records as Row[]) expect(x).toMatchObject({ duid: bright, 'data-user-name': (await r.svc.accounts.get('bright_energy')).displayName });
    expect((await list('limit=1')).records[0]['data-user-name']).toBe('List Tester Energy');
  });

  it('bad sort, order, dates, cursor, offset or duid are 400 in the error envelope; authentication comes first', async () => {
    const bad = [
      'sort=ak',
      'order=up',
      'from=2026-02-30',
      'from=2026-13-01',
      'to=yesterday',
      'from=2026-03-02&to=2026-03-01',
      'cursor=***',
      'sort=expiry&cursor=bm90LWpzb24',
      'sort=expiry&cursor=WzEsMl0&offset=3',
      'cursor=abc',
      'offset=-1',
      'offset=1e3',
      'duid=bright_energy',
      'limit=0',
      'q=',
    ];
    for (const qs of bad) {
      const res = await r.call('admin_ops', 'GET', `/v1/admin/records?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.body.errors[0]['error-code'], qs).toMatch(/^VAL/);
      expect(res.body.response).toBeDefined();
    }
    expect((await r.call(null, 'GET', '/v1/admin/records?sort=nonsense')).status).toBe(401);
    expect((await r.call('bright_energy', 'GET', '/v1/admin/records?sort=nonsense')).status).toBe(403);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/records/export.csv?sort=nonsense')).status).toBe(400);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/discovered-access?sort=expiry')).status).toBe(400);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit?from=2026-02-30')).status).toBe(400);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type-prefix=')).status).toBe(400);
  });

  it('exports the current filter and sort as streamed, formula-safe CSV with X-Total-Count', async () => {
    const token = await r.token('admin_ops');
    const res = await r.app.inject({ method: 'GET', url: `/v1/admin/records/export.csv?duid=${await octo()}&sort=expiry&order=desc`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['x-total-count']).toBe('12');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="access-records-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = res.body.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe('"ak","mpxn","state","legal-basis","purpose","data-types","controller","organisation-name","data-user","duid","expiry","created-at","revoked-at"');
    const body = lines.slice(1, -1);
    expect(body).toHaveLength(12);
    const listed = (await list('sort=expiry&order=desc&limit=500')).records.map((x) => x.ak);
    expect(body.map((l) => l.slice(1, 28))).toEqual(listed);
    expect(res.body).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
    expect(res.body).not.toMatch(/(^|,)"=/m);
    expect(body[0]).toContain('"List Tester Energy"');
    // Filters apply: one Data User's records matching a search.
    const some = await r.app.inject({ method: 'GET', url: `/v1/admin/records/export.csv?duid=${await octo()}&q=grid`, headers: { authorization: `Bearer ${token}` } });
    expect(some.headers['x-total-count']).toBe('4');
    expect(some.body.split('\r\n')).toHaveLength(6);
    // Support staff may export; a Data User may not.
    expect((await r.call('support_desk', 'GET', `/v1/admin/records/export.csv?duid=${await octo()}`)).status).toBe(200);
    expect((await r.call('octopusflux', 'GET', '/v1/admin/records/export.csv')).status).toBe(403);
  });

  it('exports more rows than one chunk in order', async () => {
    // 1,200 rows inserted through the service (the create path itself is covered above).
    const before = (await list('limit=1')).total;
    const ir = (await r.svc.records.find(made[0].ak))!.ir!;
    const account = await r.svc.accounts.get('list_tester');
    const identity = (await r.svc.identities.find(ir))!;
    for (let i = 0; i < 1200; i++) await r.svc.records.create(account, consentBody(ir, { processing: { 'legal-basis': 'uk-consent', purpose: `Bulk ${i}`, 'data-types': ['HH-CONSUMPTION'] } }), { identity });
    const token = await r.token('admin_ops');
    const res = await r.app.inject({ method: 'GET', url: `/v1/admin/records/export.csv?duid=${await octo()}`, headers: { authorization: `Bearer ${token}` } });
    const rows = res.body.split('\r\n').slice(1, -1);
    expect(rows).toHaveLength(before + 1200);
    expect(new Set(rows.map((l) => l.slice(1, 28))).size).toBe(before + 1200);
    expect(rows[0]).toContain('"Bulk 1199"');
    expect(rows[1199]).toContain('"Bulk 0"');
  });

  it('discovered access: substring of the organisation name, sort by organisation, date range', async () => {
    for (const [name, ref] of [
      ['Shadow Analytics Ltd', 'SEC-OU-00777'],
      ['brightline Data', 'SEC-OU-00778'],
    ]) {
      const res = await r.call('dcc_system', 'POST', '/v1/discovered-access', {
        mpxn: '3141592653',
        'organisation-name': name,
        'organisation-reference': ref,
        'first-seen': '2026-05-01T10:00:00Z',
        'data-types-observed': ['HH-CONSUMPTION'],
        'source-reference': `DCC-${ref}`,
      });
      expect(res.status).toBe(201);
    }
    const names = async (qs: string) => {
      const res = await r.call('admin_ops', 'GET', `/v1/admin/discovered-access?${qs}`);
      expect(res.status).toBe(200);
      return res.body.records.map((x: { 'organisation-name': string }) => x['organisation-name']);
    };
    expect(await names('q=alytics')).toEqual(['Shadow Analytics Ltd']);
    expect(await names('sort=organisation')).toEqual(['Acme Energy Services Ltd', 'brightline Data', 'Shadow Analytics Ltd']);
    expect(await names('sort=organisation&order=desc&limit=1&offset=1')).toEqual(['brightline Data']);
    expect(await names('from=2000-01-01&to=2000-01-02')).toEqual([]);
  });

  it('audit log: event-type prefix, a fragment of the actor, a date range', async () => {
    const events = async (qs: string) => {
      const res = await r.call('admin_ops', 'GET', `/v1/admin/audit?${qs.includes('limit=') ? '' : 'limit=500&'}${qs}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.events as { 'event-type': string; actor: string; at: string }[];
    };
    const byPrefix = await events('event-type-prefix=access-record.');
    expect(byPrefix.length).toBeGreaterThanOrEqual(12);
    expect(byPrefix.every((e) => e['event-type'].startsWith('access-record.'))).toBe(true);
    expect(await events('event-type-prefix=access-record.zzz')).toEqual([]);
    const byActor = await events('actor=T_TES');
    expect(byActor.length).toBeGreaterThan(12);
    expect(new Set(byActor.map((e) => e.actor))).toEqual(new Set(['list_tester']));
    // LIKE's wildcards are only text: "_" matches an underscore, "%" a percent sign.
    expect(await events('actor=tTes')).toEqual([]);
    expect(await events('actor=%25')).toEqual([]);
    expect((await events('actor=_')).every((e) => e.actor.includes('_'))).toBe(true);
    const inRange = await events('from=2026-01-12&to=2026-01-13&event-type-prefix=access-record.created');
    expect(inRange).toHaveLength(2);
    expect(inRange.every((e) => e.at >= '2026-01-12' && e.at < '2026-01-14')).toBe(true);
    const jumped = await events('offset=1&limit=1');
    expect(jumped).toHaveLength(1);
    expect(jumped[0]).toEqual((await events('limit=2'))[1]);
  });
});
