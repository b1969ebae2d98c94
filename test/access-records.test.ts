import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { AccessRecordOutput, AccessRecordSummary } from '../src/shared/schemas/access-record.js';
import { consentBody, discoveredBody, testRegister, type TestRegister } from './support/register.js';

const controllers = (...roles: string[]) => roles.map((role, i) => ({ name: `Controller ${i}`, role, 'contact-url': `https://c${i}.example/contact` }));
const withArrangement = (ir: string, type: string, roles: string[], art26?: string | null) => {
  const body = consentBody(ir);
  body['record-metadata']['controller-arrangement'] = { 'arrangement-type': type, controllers: controllers(...roles), ...(art26 !== undefined ? { 'art26-reference': art26 } : {}) };
  return body;
};
const messages = (res: { body: { errors: { message: string }[] } }) => res.body.errors.map((e) => e.message).join('\n');

describe('access records (contract §5)', () => {
  let r: TestRegister;
  let ir: string; // octopusflux's own identity record on MPXN
  const MPXN = '1029384756';
  beforeAll(async () => {
    r = await testRegister();
    const res = await r.call('octopusflux', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn: MPXN, 'move-in-date': '2021-01-01' },
      'expressed-by': 'data-subject',
    });
    ir = res.body.ir;
  });
  afterAll(() => r.close());

  it('creates a record: 201, Location, access-token; verification is public, complete and PII-free', async () => {
    const body = consentBody(ir);
    body['access-event'].expiry = '2030-01-01';
    const res = await r.call('octopusflux', 'POST', '/v1/access-records', body);
    expect(res.status).toBe(201);
    const ak = res.body['access-token'].key;
    expect(ak).toMatch(/^ak_[0-9a-f]{24}$/);
    expect(res.body['access-token'].expiry).toBe('2030-01-01T00:00:00Z');
    expect(res.headers.location).toBe(`/v1/access-records/${ak}`);
    const v = await r.call(null, 'GET', `/v1/access-records/${ak}`);
    expect(v.status).toBe(200);
    const rec = v.body['access-record'];
    expect(rec['record-metadata']['record-identifier']).toBe(ak);
    expect(rec['record-metadata']['created-at']).toMatch(/Z$/);
    expect(rec.processing.jurisdiction).toBe('GB');
    expect(rec['access-event']).toMatchObject({ state: 'ACTIVE', expiry: '2030-01-01T00:00:00Z' });
    // Not revoked: revoked-at is absent, not null (the published schema does not allow null).
    expect(rec['access-event']).not.toHaveProperty('revoked-at');
    // Linked with the owner's own ir: shown, as published. Never any PII.
    expect(rec['record-metadata']['identity-record-ref']).toBe(ir);
    expect(JSON.stringify(rec)).not.toMatch(/pii-principal|email/);
    expect((await r.call(null, 'GET', '/v1/access-records/ak_000000000000000000000000')).status).toBe(404);
    expect((await r.call(null, 'GET', '/v1/access-records/not-an-ak')).status).toBe(400);
  });

  it('enforces the sole/joint/group role rules, naming each offending path', async () => {
    const ok = [withArrangement(ir, 'sole', ['sole']), withArrangement(ir, 'joint', ['lead', 'joint', 'joint'], 'ART26-2026-01'), withArrangement(ir, 'group', ['lead', 'member', 'member'])];
    for (const b of ok) expect((await r.call('octopusflux', 'POST', '/v1/access-records', b)).status).toBe(201);

    const soleTwo = await r.call('octopusflux', 'POST', '/v1/access-records', withArrangement(ir, 'sole', ['sole', 'lead']));
    expect(soleTwo.status).toBe(400);
    expect(messages(soleTwo)).toContain('record-metadata.controller-arrangement.controllers[1].role');

    const jointNoArt26 = await r.call('octopusflux', 'POST', '/v1/access-records', withArrangement(ir, 'joint', ['lead', 'member']));
    expect(jointNoArt26.status).toBe(400);
    expect(messages(jointNoArt26)).toContain('art26-reference is required');
    expect(messages(jointNoArt26)).toContain('controllers[1].role must be "joint"');
    expect(jointNoArt26.body.errors.length).toBeGreaterThanOrEqual(2);

    const twoLeads = await r.call('octopusflux', 'POST', '/v1/access-records', withArrangement(ir, 'group', ['lead', 'lead']));
    expect(messages(twoLeads)).toContain('exactly one controller with role "lead"');

    const soleWithArt26 = await r.call('octopusflux', 'POST', '/v1/access-records', withArrangement(ir, 'sole', ['sole'], 'ART26-X'));
    expect(messages(soleWithArt26)).toContain('art26-reference must be null');

    const badRole = await r.call('octopusflux', 'POST', '/v1/access-records', withArrangement(ir, 'joint', ['lead', 'boss'], 'A'));
    expect(badRole.status).toBe(400);
    expect(messages(badRole)).toContain('record-metadata.controller-arrangement.controllers[1].role');
  });

  it('enforces the notice and consent rules by legal basis', async () => {
    const noNotice = consentBody(ir, { notice: null });
    expect(messages(await r.call('octopusflux', 'POST', '/v1/access-records', noNotice))).toContain('notice is required');

    const both = consentBody(ir);
    both.notice.notices = [
      { 'controller-name': 'A', 'terms-url': 'https://a.example/t', 'notice-version': '1' },
      { 'controller-name': 'B', 'terms-url': 'https://b.example/t', 'notice-version': '1' },
    ];
    expect(messages(await r.call('octopusflux', 'POST', '/v1/access-records', both))).toContain('not both');

    const oneNotice = consentBody(ir, { notice: { notices: [{ 'controller-name': 'A', 'terms-url': 'https://a.example/t', 'notice-version': '1' }] } });
    expect(messages(await r.call('octopusflux', 'POST', '/v1/access-records', oneNotice))).toContain('at least two');

    const publicTaskWithNotice = consentBody(ir);
    publicTaskWithNotice.processing['legal-basis'] = 'uk-public-task';
    const res = await r.call('octopusflux', 'POST', '/v1/access-records', publicTaskWithNotice);
    expect(res.status).toBe(400);
    expect(messages(res)).toContain('notice must be null');
    expect(messages(res)).toContain('access-event.consent must be null');

    const publicTask = consentBody(ir, { notice: null });
    publicTask.processing['legal-basis'] = 'uk-public-task';
    publicTask['access-event'].consent = null;
    expect((await r.call('octopusflux', 'POST', '/v1/access-records', publicTask)).status).toBe(201);

    const consentMissing = consentBody(ir);
    consentMissing['access-event'].consent = null;
    expect(messages(await r.call('octopusflux', 'POST', '/v1/access-records', consentMissing))).toContain('access-event.consent is required');
  });

  it('rejects schema errors: bad enum, missing purpose, too-long purpose, bad data type, missing expiry key', async () => {
    const b = consentBody(ir);
    b.processing['legal-basis'] = 'uk-vibes';
    b.processing['data-types'] = ['HH-CONSUMPTION', 'GAS-GOSSIP'];
    delete b['access-event'].expiry;
    const res = await r.call('octopusflux', 'POST', '/v1/access-records', b);
    expect(res.status).toBe(400);
    const m = messages(res);
    expect(m).toContain('processing.legal-basis');
    expect(m).toContain('processing.data-types[1]');
    expect(m).toContain('access-event.expiry');
    const long = consentBody(ir);
    long.processing.purpose = 'x'.repeat(501);
    expect(messages(await r.call('octopusflux', 'POST', '/v1/access-records', long))).toContain('processing.purpose');
  });

  it("an identity-record-ref that is not the caller's is refused without revealing it exists", async () => {
    const theirs = await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(r.demo!.ir));
    const unknown = await r.call('octopusflux', 'POST', '/v1/access-records', consentBody('ir_000000000000000000000000'));
    expect(theirs.status).toBe(400);
    expect(unknown.status).toBe(400);
    expect(theirs.body.errors[0].message.replace(r.demo!.ir, 'X')).toBe(unknown.body.errors[0].message.replace('ir_000000000000000000000000', 'X'));
    expect((await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(null))).status).toBe(400);
  });

  it('replaces only ACTIVE own records, preserving ak and created-at', async () => {
    const created = await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(ir));
    const ak = created.body['access-token'].key;
    const before = (await r.call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record'];
    const replacement = consentBody(ir);
    replacement.processing.purpose = 'A new purpose';
    replacement['record-metadata']['record-identifier'] = 'ak_ffffffffffffffffffffffff';
    const put = await r.call('octopusflux', 'PUT', `/v1/access-records/${ak}`, replacement);
    expect(put.status).toBe(200);
    expect(put.body['access-token'].key).toBe(ak);
    const after = (await r.call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record'];
    expect(after.processing.purpose).toBe('A new purpose');
    expect(after['record-metadata']['record-identifier']).toBe(ak);
    expect(after['record-metadata']['created-at']).toBe(before['record-metadata']['created-at']);

    expect((await r.call('bright_energy', 'PUT', `/v1/access-records/${ak}`, consentBody(null))).status).toBe(404);
    expect((await r.call('octopusflux', 'DELETE', `/v1/access-records/${ak}?reason=other`)).status).toBe(200);
    const again = await r.call('octopusflux', 'PUT', `/v1/access-records/${ak}`, replacement);
    expect(again.status).toBe(409);
    expect(again.body.errors[0]['error-code']).toBe('CON001');
  });

  it('revokes with a valid reason only; second revoke is 409; not the owner is 404', async () => {
    const ak = (await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(ir))).body['access-token'].key;
    expect((await r.call('octopusflux', 'DELETE', `/v1/access-records/${ak}?reason=because`)).status).toBe(400);
    expect((await r.call('octopusflux', 'DELETE', `/v1/access-records/${ak}?reason=`)).status).toBe(400);
    expect((await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=other`)).status).toBe(404);
    const ok = await r.call('octopusflux', 'DELETE', `/v1/access-records/${ak}?reason=data-no-longer-required`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ak });
    expect(ok.body['revoked-at']).toMatch(/Z$/);
    const verify = await r.call(null, 'GET', `/v1/access-records/${ak}`);
    expect(verify.body['access-record']['access-event']).toMatchObject({ state: 'REVOKED', 'revoked-at': ok.body['revoked-at'] });
    expect((await r.call('octopusflux', 'DELETE', `/v1/access-records/${ak}?reason=other`)).status).toBe(409);
  });

  it('reports a past-expiry record EXPIRED at read time, everywhere, before any sweep', async () => {
    const b = consentBody(ir);
    b['access-event'].expiry = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const ak = (await r.call('octopusflux', 'POST', '/v1/access-records', b)).body['access-token'].key;
    expect((await r.call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record']['access-event'].state).toBe('ACTIVE');
    r.reg.clock.setOffset(120_000);
    try {
      expect((await r.call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record']['access-event'].state).toBe('EXPIRED');
      const expired = await r.call('octopusflux', 'GET', '/v1/records?state=EXPIRED&limit=500');
      expect(expired.body.records.map((x: { ak: string }) => x.ak)).toContain(ak);
      const active = await r.call('octopusflux', 'GET', '/v1/records?state=ACTIVE&limit=500');
      expect(active.body.records.map((x: { ak: string }) => x.ak)).not.toContain(ak);
      expect((await r.call('octopusflux', 'DELETE', `/v1/access-records/${ak}?reason=other`)).status).toBe(409);
      // The column still says ACTIVE: nothing was written by reading.
      expect((await r.probe.record(ak))!.state).toBe('ACTIVE');
    } finally {
      r.reg.clock.setOffset(0);
    }
  });

  it('reports totals from the trigger-kept counts that equal counting, in every state, before and after a sweep', async () => {
    const as = 'greenswitch';
    const own = await r.call(as, 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: '6660000001', 'move-in-date': '2020-01-01' }, 'expressed-by': 'data-subject' });
    const make = async (expiry: string | null) => {
      const b = consentBody(own.body.ir);
      b['access-event'].expiry = expiry;
      const res = await r.call(as, 'POST', '/v1/access-records', b);
      expect(res.status).toBe(201);
      return res.body['access-token'].key as string;
    };
    const soon = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const lapsing = [await make(soon), await make(soon)];
    await make(null);
    const revoked = await make('2030-01-01');
    expect((await r.call(as, 'DELETE', `/v1/access-records/${revoked}?reason=other`)).status).toBe(200);
    const duid = (await r.svc.accounts.get(as)).duid!;
    const counted = (state?: string) => r.probe.effectiveRecordCount(duid, state, r.reg.clock.iso());
    const check = async () => {
      for (const state of [undefined, 'ACTIVE', 'EXPIRED', 'REVOKED']) {
        const res = await r.call(as, 'GET', `/v1/records?limit=1${state ? `&state=${state}` : ''}`);
        expect(res.body.total, `state ${state ?? '(any)'}`).toBe(await counted(state));
      }
      const { kept, counted: live } = await r.probe.recordCountsByState(duid);
      expect(kept).toEqual(live);
    };
    await check();
    const expiredBefore = await counted('EXPIRED');
    r.reg.clock.setOffset(120_000);
    try {
      await check(); // two ACTIVE records past expiry, not swept: EXPIRED in totals too
      expect(await counted('EXPIRED')).toBe(expiredBefore + 2);
      await r.svc.sweeper.run();
      await check(); // swept: the stored state changed, the triggers moved the counts
      expect((await r.probe.record(lapsing[0]))!.state).toBe('EXPIRED');
    } finally {
      r.reg.clock.setOffset(0);
    }
  });

  it('pages /records with a cursor and reports the total', async () => {
    for (let i = 0; i < 5; i++) await r.call('northern_networks', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: `55500000${i}0`, 'move-in-date': '2020-01-01' }, 'expressed-by': 'data-subject' });
    const irs = (await Promise.all([0, 1, 2, 3, 4].map((i) => r.call('northern_networks', 'GET', `/v1/identity-records?mpxn=55500000${i}0`)))).map((x) => x.body['identity-records'][0].ir);
    for (const x of irs) expect((await r.call('northern_networks', 'POST', '/v1/access-records', consentBody(x))).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { records: { ak: string }[]; total: number; 'next-cursor': string | null } } = await r.call('northern_networks', 'GET', `/v1/records?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.body.total).toBe(6); // 5 + the demo record
      seen.push(...res.body.records.map((x) => x.ak));
      cursor = res.body['next-cursor'];
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(6);
    expect((await r.call('northern_networks', 'GET', '/v1/records?limit=501')).status).toBe(400);
    expect((await r.call('northern_networks', 'GET', '/v1/records?state=DISCOVERED')).status).toBe(400);
  });

  it('lists a meter point (incl. DISCOVERED) only for a Data User with a record there', async () => {
    const mine = await r.call('northern_networks', 'GET', '/v1/meter-points/2312345678901/access-records');
    expect(mine.status).toBe(200);
    const states = mine.body['access-records'].map((x: { state: string }) => x.state).sort();
    expect(states).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'DISCOVERED', 'EXPIRED']);
    const acme = mine.body['access-records'].find((x: { state: string }) => x.state === 'DISCOVERED');
    expect(acme['discovered-access']).toMatchObject({ 'organisation-name': 'Acme Energy Services Ltd', 'organisation-reference': 'SEC-OU-00429', 'superseded-by': null });
    expect(acme['lead-controller-name']).toBeNull();
    const filtered = await r.call('northern_networks', 'GET', '/v1/meter-points/2312345678901/access-records?state=ACTIVE&legal-basis=uk-consent');
    expect(filtered.body['access-records']).toHaveLength(2);
    expect((await r.call('northern_networks', 'GET', '/v1/meter-points/2312345678901/access-records?state=GONE')).status).toBe(400);
    expect((await r.call('northern_networks', 'GET', '/v1/meter-points/2312345678901/access-records?legal-basis=vibes')).status).toBe(400);
    const stranger = await r.call('octopusflux', 'GET', '/v1/meter-points/5550000000/access-records');
    expect(stranger.status).toBe(403);
    expect(stranger.body.errors[0]['error-code']).toBe('AUTH003');
    expect((await r.call('portal_ops', 'GET', '/v1/meter-points/2312345678901/access-records')).status).toBe(403);
  });

  it('pages a busy meter point with next-cursor instead of truncating', async () => {
    const page1 = await r.call('northern_networks', 'GET', '/v1/meter-points/2312345678901/access-records?limit=2');
    expect(page1.body['access-records']).toHaveLength(2);
    const page2 = await r.call('northern_networks', 'GET', `/v1/meter-points/2312345678901/access-records?limit=2&cursor=${page1.body['next-cursor']}`);
    const page3 = await r.call('northern_networks', 'GET', `/v1/meter-points/2312345678901/access-records?limit=2&cursor=${page2.body['next-cursor']}`);
    expect(page3.body['next-cursor']).toBeNull();
    // Other Data Users' records show no ak in a Data User's listing, so compare whole summaries.
    const all = [...page1.body['access-records'], ...page2.body['access-records'], ...page3.body['access-records']].map((x: unknown) => JSON.stringify(x));
    expect(new Set(all).size).toBe(5);
    expect((await r.call('northern_networks', 'GET', '/v1/meter-points/2312345678901/access-records?limit=1001')).status).toBe(400);
  });

  it('supersedes DISCOVERED access only when the organisation reference matches', async () => {
    const mpxn = '7771112223';
    await r.call('dcc_system', 'POST', '/v1/discovered-access', discoveredBody(mpxn));
    await r.call('dcc_system', 'POST', '/v1/discovered-access', discoveredBody(mpxn, { 'organisation-name': 'Someone Else', 'organisation-reference': 'SEC-OU-00999', 'source-reference': 'DCC-2' }));
    const own = await r.call('octopusflux', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' });
    const ak = (await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(own.body.ir))).body['access-token'].key;
    const list = (await r.call('octopusflux', 'GET', `/v1/meter-points/${mpxn}/access-records?state=DISCOVERED`)).body['access-records'];
    const byRef = Object.fromEntries(
      list.map((x: { 'discovered-access': { 'organisation-reference': string; 'superseded-by': string | null } }) => [x['discovered-access']['organisation-reference'], x['discovered-access']['superseded-by']]),
    );
    expect(byRef).toEqual({ 'SEC-OU-00102': ak, 'SEC-OU-00999': null });
  });

  it('only data users may create; a dcc or portal gets 403', async () => {
    expect((await r.call('dcc_system', 'POST', '/v1/access-records', consentBody(ir))).status).toBe(403);
    expect((await r.call('portal_ops', 'POST', '/v1/access-records', consentBody(ir))).status).toBe(403);
    expect((await r.call('portal_ops', 'PUT', `/v1/access-records/ak_000000000000000000000000`, consentBody(ir))).status).toBe(403);
  });

  // Records are written as JSON by SQLite (services/record-json.ts) and passed through
  // untouched, so the response schemas no longer shape them: check every record against the
  // schemas, closed (no member the schema does not name), and against its own columns.
  it('every record and summary written by SQLite matches the response schemas exactly', async () => {
    // A revoked record, one past its expiry (not swept yet) and a non-consent one, besides what exists.
    const revoked = (await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(ir))).body['access-token'].key;
    expect((await r.call('octopusflux', 'DELETE', `/v1/access-records/${revoked}?reason=contract-ended`)).status).toBe(200);
    const lapsedBody = consentBody(ir);
    lapsedBody['access-event']['registered-at'] = '2020-01-01T00:00:00Z';
    lapsedBody['access-event'].expiry = '2020-06-30';
    const lapsed = (await r.call('octopusflux', 'POST', '/v1/access-records', lapsedBody)).body['access-token'].key;
    const task = consentBody(ir, { notice: null });
    task.processing['legal-basis'] = 'uk-public-task';
    task['access-event'].consent = null;
    task['access-event']['controller-reference'] = 'REF-1';
    expect((await r.call('octopusflux', 'POST', '/v1/access-records', task)).status).toBe(201);

    const record = Compile(closed(AccessRecordOutput));
    const summary = Compile(closed(AccessRecordSummary));
    // owners_ir: the record's ir when that identity record is the record owner's own.
    const rows = await r.probe.recordsWithOwnersIr();
    expect(new Set(rows.map((x) => x.kind))).toEqual(new Set(['record', 'discovered']));
    for (const row of rows) {
      const v = (await r.call(null, 'GET', `/v1/access-records/${row.ak}`)).body['access-record'];
      expect(record.Errors(v), row.ak).toEqual([]);
      expect(v['record-metadata']['record-identifier']).toBe(row.ak);
      expect(v['record-metadata']['identity-record-ref']).toBe(row.ownersIr);
      const expected = row.ak === lapsed ? 'EXPIRED' : row.state;
      expect(v['access-event'].state).toBe(expected);
      expect(v['discovered-access'] ?? null).toEqual(row.kind === 'discovered' ? expect.objectContaining({ mpxn: row.mpxn }) : null);
      if (row.ak === revoked) expect(v['access-event']['revoked-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    // Summaries: every meter point octopusflux lists, and its own /records (which shows its own ir).
    const mpxns = new Set(rows.filter((x) => x.duid).map((x) => x.mpxn));
    let listed = 0;
    for (const mpxn of mpxns) {
      const res = await r.call('octopusflux', 'GET', `/v1/meter-points/${mpxn}/access-records`);
      if (res.status === 403) continue;
      for (const s of res.body['access-records']) {
        expect(summary.Errors(s), s.ak).toEqual([]);
        listed++;
      }
    }
    const own = (await r.call('octopusflux', 'GET', '/v1/records?limit=200')).body.records;
    for (const s of own) expect(summary.Errors(s), s.ak).toEqual([]);
    expect(own.find((s: { ak: string }) => s.ak === lapsed).state).toBe('EXPIRED');
    const mine = new Set(await r.probe.identityRefsOf('octopusflux'));
    expect(own.every((s: { 'record-metadata': { 'identity-record-ref': string | null } }) => s['record-metadata']['identity-record-ref'] === null || mine.has(s['record-metadata']['identity-record-ref']))).toBe(true);
    expect(own.some((s: { 'record-metadata': { 'identity-record-ref': string } }) => s['record-metadata']['identity-record-ref'] === ir)).toBe(true);
    expect(listed).toBeGreaterThan(5);
  });
});

/** A copy of a TypeBox schema in which every object with named properties admits no others. */
function closed<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(closed) as T;
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, closed(s)])) : closed(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out as T;
}
