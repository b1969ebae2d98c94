import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/server/lib/ids.js';
import { saveClockOffset } from '../src/server/services/settings.js';
import { consentBody, discoveredBody, TEST_ENGINE, testRegister, type TestRegister } from './support/register.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * Who may list a meter point, what each listing leaves in the audit log, and which access keys
 * a Data User is shown (contract §5).
 */
describe('meter-point listing: rights, audit and other organisations keys', () => {
  let r: TestRegister;
  const DEMO = '2312345678901';
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const ownIdentity = async (as: string, mpxn: string) => (await r.call(as, 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' })).body.ir as string;
  const create = async (as: string, ir: string, state: string, expiry: string | null = null, registeredAt = '2026-01-01T00:00:00Z') => {
    const body = consentBody(ir);
    body['access-event'].state = state;
    body['access-event'].expiry = expiry;
    body['access-event']['registered-at'] = registeredAt;
    const res = await r.call(as, 'POST', '/v1/access-records', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body['access-token'].key as string;
  };
  const list = (as: string, mpxn: string, query = '') => r.call(as, 'GET', `/v1/meter-points/${mpxn}/access-records${query}`);
  const views = (mpxn: string) => r.probe.auditEvents('meter-point.viewed', { subject: mpxn });

  it('a record submitted directly as EXPIRED or REVOKED gives no right to list (403)', async () => {
    // The demo's GreenSwitch record was submitted EXPIRED (a historic record).
    const green = await list('greenswitch', DEMO);
    expect(green.status).toBe(403);
    expect(green.body.errors[0]['error-code']).toBe('AUTH003');

    const mpxn = '4400000001';
    const ir = await ownIdentity('octopusflux', mpxn);
    await create('octopusflux', ir, 'REVOKED');
    expect((await list('octopusflux', mpxn)).status).toBe(403);
    await create('octopusflux', ir, 'EXPIRED', '2025-06-30', '2025-01-01T00:00:00Z');
    expect((await list('octopusflux', mpxn)).status).toBe(403);
    // Submitted ACTIVE with an expiry already past: reported EXPIRED from the start, never gave access.
    await create('octopusflux', ir, 'ACTIVE', '2025-06-30', '2025-01-01T00:00:00Z');
    expect((await list('octopusflux', mpxn)).status).toBe(403);
    // Nothing was audited for a refused listing.
    expect(await views(mpxn)).toEqual([]);
  });

  it('a record that is or has been ACTIVE does: revoked or expired later still counts', async () => {
    const revokedMpxn = '4400000002';
    const ak = await create('northern_networks', await ownIdentity('northern_networks', revokedMpxn), 'ACTIVE');
    expect((await list('northern_networks', revokedMpxn)).status).toBe(200);
    expect((await r.call('northern_networks', 'DELETE', `/v1/access-records/${ak}?reason=contract-ended`)).status).toBe(200);
    expect((await list('northern_networks', revokedMpxn)).status).toBe(200);

    const expiringMpxn = '4400000003';
    const soon = new Date(r.reg.clock.now().getTime() + 2 * DAY).toISOString().slice(0, 10);
    await create('northern_networks', await ownIdentity('northern_networks', expiringMpxn), 'ACTIVE', soon);
    const offset = r.reg.clock.offset;
    await saveClockOffset(r.reg, offset + 5 * DAY);
    try {
      expect((await r.svc.sweeper.run()).expired).toBeGreaterThanOrEqual(1);
      expect((await list('northern_networks', expiringMpxn)).status).toBe(200);
    } finally {
      await saveClockOffset(r.reg, offset);
    }
  });

  // The backfill is in a SQLite migration only: PostgreSQL's schema began with activated_at (drizzle-pg's baseline).
  it.skipIf(TEST_ENGINE === 'postgres')('existing records are migrated by the same rule the register applies to new ones', async () => {
    // Every record written so far (demo and the tests above: submitted ACTIVE, REVOKED,
    // EXPIRED, lapsed; revoked later, swept later) has activated_at set by create. Forget it
    // and run the migration's backfill: it must find the same records.
    const before = await r.probe.activations();
    expect(before.filter((x) => x.activated).length).toBeGreaterThan(3);
    expect(before.filter((x) => !x.activated).length).toBeGreaterThan(3);
    const migration = readFileSync(new URL('../drizzle/0005_listing_rights.sql', import.meta.url), 'utf8');
    const backfill = migration
      .split('--> statement-breakpoint')
      .map((s) => s.trim())
      .find((s) => /UPDATE `access_records`/.test(s))!;
    expect(backfill).toBeDefined();
    await r.probe.forgetActivations();
    await r.probe.runMigrationStatement(backfill);
    expect(await r.probe.activations()).toEqual(before);
  });

  it('every listing by a Data User is audited as meter-point.viewed, in the hash chain', async () => {
    const before = (await views(DEMO)).length;
    const res = await list('bright_energy', DEMO, '?limit=2');
    expect(res.status).toBe(200);
    await list('bright_energy', DEMO, `?limit=2&cursor=${res.body['next-cursor']}`);
    await list('octopusflux', DEMO, '?state=ACTIVE');
    const after = (await views(DEMO)).slice(before);
    expect(after.map((v) => v.actor)).toEqual(['bright_energy', 'bright_energy', 'octopusflux']);
    const bright = await r.svc.accounts.get('bright_energy');
    expect(after[0].detail).toEqual({ duid: bright.duid, role: 'data_user', via: 'api' });
    const verify = await r.call('admin_ops', 'GET', '/v1/admin/audit/verify');
    expect(verify.body.intact).toBe(true);
    // Read back per MPxN (what /portal shows), newest first, with the organisation's name.
    const shown = await r.svc.records.meterPointViews(DEMO, 3);
    expect(shown.map((v) => v.displayName)).toEqual(['OctopusFlux Ltd', 'Bright Energy Ltd', 'Bright Energy Ltd']);
    expect(shown[0].duid).toBe((await r.svc.accounts.get('octopusflux')).duid);
  });

  it('reading the views of one MPxN, and the right to list, use indexes', async () => {
    // Enough rows that no other index is as good (PostgreSQL weighs indexes by the rows they
    // would read, and on a few dozen rows several tie): a busy meter point, viewed often, where
    // a Data User holds many records that never gave it the right to list, and one that did.
    const busy = '4400000020';
    await create('bright_energy', await ownIdentity('bright_energy', busy), 'ACTIVE');
    for (let i = 0; i < 200; i++) expect((await list('bright_energy', busy, '?limit=1')).status).toBe(200);
    const bright = (await r.svc.accounts.get('bright_energy')).duid;
    const at = '2025-01-01T00:00:00.000Z';
    const never = {
      kind: 'record',
      duid: bright,
      mpxn: busy,
      legalBasis: 'uk-consent',
      dataTypes: ['HH-CONSUMPTION'],
      state: 'EXPIRED',
      expiry: '2025-06-30',
      expiresAt: '2025-06-30T00:00:00.000Z',
      expiredAt: at,
      createdAt: at,
      updatedAt: at,
    };
    await r.reg.tx(() => r.probe.insertRecords(Array.from({ length: 300 }, () => ({ ...never, ak: newId('ak') }))));

    const views = await r.probe.planOf('meter-point-views', DEMO);
    expect(views, views).toMatch(/audit_events_subject_idx/);
    // The right to list is answered from the partial (mpxn, duid, activated_at) index. On SQLite
    // from that index alone (it holds the rowid, which is seq); PostgreSQL's index holds no seq
    // (drizzle-pg has no INCLUDE, and an extra key column would part it from SQLite's), so it
    // then reads the one row it found.
    const right = await r.probe.planOf('listing-right', busy, bright);
    expect(right, right).toMatch(TEST_ENGINE === 'postgres' ? /Index Scan using access_records_mpxn_duid_idx on access_records/ : /COVERING INDEX access_records_mpxn_duid_idx/);
  });

  it("a Data User's listing shows its own access keys only, never another Data User's", async () => {
    const all = await r.probe.records({ mpxn: DEMO });
    const northern = (await r.svc.accounts.get('northern_networks')).duid;
    const res = await list('northern_networks', DEMO);
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.body);
    for (const row of all) {
      // A DISCOVERED row's key is the DCC's and is shown, as published (its verification names no superseding record).
      if (row.duid === northern || row.kind === 'discovered') expect(text).toContain(row.ak);
      else expect(text, row.ak).not.toContain(row.ak);
    }
    // Its own records show their identity-record-ref, as GET /v1/records and verification do;
    // no other Data User's record shows one.
    for (const x of res.body['access-records'] as { ak: string | null; state: string; 'record-metadata': { 'identity-record-ref': string | null } | null }[]) {
      if (x.state === 'DISCOVERED') continue;
      if (x.ak === null) expect(x['record-metadata']!['identity-record-ref']).toBeNull();
      else {
        const row = (await r.probe.recordOwners(x.ak))!;
        expect(x['record-metadata']!['identity-record-ref']).toBe(row.irDuid === row.duid ? row.ir : null);
      }
    }
    // The other records are still listed, with their organisation, state and basis.
    const hidden = res.body['access-records'].filter((x: { ak: string | null; state: string }) => x.ak === null && x.state !== 'DISCOVERED');
    expect(hidden.length).toBe(all.filter((x) => x.kind === 'record' && x.duid !== northern).length);
    expect(hidden.every((x: { 'record-metadata': { 'record-identifier': string | null }; 'lead-controller-name': string }) => x['record-metadata']['record-identifier'] === null && x['lead-controller-name'])).toBe(true);

    // A DISCOVERED row superseded by another organisation's record does not name that record's key.
    const mpxn = '4400000009';
    await r.call('dcc_system', 'POST', '/v1/discovered-access', discoveredBody(mpxn, { 'source-reference': 'DCC-9' }));
    const octoAk = await create('octopusflux', await ownIdentity('octopusflux', mpxn), 'ACTIVE');
    const northernIr = await ownIdentity('northern_networks', mpxn);
    const northernAk = await create('northern_networks', northernIr, 'ACTIVE');
    const discovered = (x: { body: { 'access-records': { state: string; 'discovered-access': { 'superseded-by': string | null } }[] } }) => x.body['access-records'].find((y) => y.state === 'DISCOVERED')!['discovered-access'];
    expect(discovered(await list('octopusflux', mpxn))['superseded-by']).toBe(octoAk);
    const seenByNorthern = await list('northern_networks', mpxn);
    expect(JSON.stringify(seenByNorthern.body)).not.toContain(octoAk);
    expect(discovered(seenByNorthern)['superseded-by']).toBeNull();
    // Its own record, linked with its own identity record, shows that ir.
    const mine = (seenByNorthern.body['access-records'] as { ak: string | null; 'record-metadata': { 'identity-record-ref': string | null } }[]).find((y) => y.ak === northernAk)!;
    expect(mine['record-metadata']['identity-record-ref']).toBe(northernIr);
    // Nor does the DISCOVERED row's public verification, which anyone holding its key may read.
    const discoveredAk = (seenByNorthern.body['access-records'] as { ak: string; state: string }[]).find((y) => y.state === 'DISCOVERED')!.ak;
    const verified = await r.call(null, 'GET', `/v1/access-records/${discoveredAk}`);
    expect(verified.status).toBe(200);
    expect(JSON.stringify(verified.body)).not.toContain(octoAk);
  });

  it("the anonymise 409 names only the caller's own access keys, never another Data User's", async () => {
    // The demo identity record (Bright Energy's) carries ACTIVE records of OctopusFlux and Northern Networks too.
    const own = await r.probe.records({ ir: r.demo!.ir, state: 'ACTIVE' });
    const bright = (await r.svc.accounts.get('bright_energy')).duid;
    const others = own.filter((x) => x.duid !== bright);
    expect(others.length).toBeGreaterThanOrEqual(2);
    const refused = await r.call('bright_energy', 'DELETE', `/v1/identity-records/${r.demo!.ir}`);
    expect(refused.status).toBe(409);
    const text = JSON.stringify(refused.body);
    for (const o of others) expect(text).not.toContain(o.ak);
    for (const o of own.filter((x) => x.duid === bright)) expect(text).toContain(o.ak);
    expect(refused.body.errors[0].message).toContain(`${others.length} held by other organisations`);
    // An operator sees every key.
    const admin = await r.call('admin_ops', 'DELETE', `/v1/admin/identity-records/${r.demo!.ir}`);
    expect(admin.status).toBe(409);
    for (const o of others) expect(admin.body.errors[0].message).toContain(o.ak);
  });
});
