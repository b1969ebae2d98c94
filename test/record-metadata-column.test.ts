import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBody, TEST_ENGINE, testRegister, type TestRegister } from './support/register.js';

/**
 * The listings splice each record's record-metadata section from its own column
 * (`record_metadata`, db/schema.ts) instead of extracting it from `body` per listed row
 * (docs/performance.md, "30 November, night: listings"). The column must hold exactly the text the
 * engine extracts from `body`: for records written by the register (create and replace) and
 * for records the migration backfills, on either engine, so that no listing changes by a byte.
 */
describe('record_metadata: the section as stored in body, written and backfilled', () => {
  let r: TestRegister;
  const MPXN = '4400000099';
  const names = ['Quote " and backslash \\ Ltd', 'Énergie Verte Société', 'Emoji ⚡🔌 Power', 'Line\u2028Separator Co', '</script><b>Tag</b> Ltd', 'Tab\tand new\nline Ltd'];
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const listing = async () => {
    const res = await r.call('bright_energy', 'GET', `/v1/meter-points/${MPXN}/access-records`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return JSON.stringify(res.body['access-records']);
  };

  it('holds what the engine extracts from body, after creates, a replacement and the migration', async () => {
    const ir = (await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: MPXN, 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' })).body.ir as string;
    const aks: string[] = [];
    for (const [i, name] of names.entries()) {
      const body = consentBody(ir);
      body['record-metadata']['controller-arrangement'] =
        i % 2 === 0
          ? { 'arrangement-type': 'sole', controllers: [{ name, role: 'sole', 'contact-url': 'https://test-energy.example/contact' }] }
          : {
              'arrangement-type': 'joint',
              controllers: [
                { name, role: 'lead', 'contact-url': 'https://test-energy.example/contact', 'privacy-rights-url': 'https://test-energy.example/privacy' },
                { name: `${name} (partner)`, role: 'joint', 'contact-url': 'https://partner.example/contact' },
              ],
              'art26-reference': `ART26-${i}`,
            };
      const res = await r.call('bright_energy', 'POST', '/v1/access-records', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      aks.push(res.body['access-token'].key as string);
    }
    // A replacement changes the section: the column follows.
    const replaced = consentBody(ir);
    replaced['record-metadata']['controller-arrangement'].controllers[0].name = 'Replaced "Name" Ltd';
    expect((await r.call('bright_energy', 'PUT', `/v1/access-records/${aks[0]}`, replaced)).status).toBe(200);

    const rows = await r.probe.recordMetadataBesideBody();
    const ours = rows.filter((x) => aks.includes(x.ak));
    expect(ours).toHaveLength(names.length);
    expect(ours.find((x) => x.ak === aks[0])!.column).toContain('Replaced \\"Name\\" Ltd');
    for (const row of rows) expect(row.column, row.ak).toBe(row.fromBody);

    // A register from before the column: the migration's backfill gives every listing back unchanged.
    const before = await listing();
    expect(before).toContain('Replaced \\"Name\\" Ltd');
    const verifyBefore = (await r.call(null, 'GET', `/v1/access-records/${aks[1]}`)).body;
    const file = TEST_ENGINE === 'postgres' ? '../drizzle-pg/0007_record_metadata.sql' : '../drizzle/0016_record_metadata.sql';
    const backfill = readFileSync(new URL(file, import.meta.url), 'utf8')
      .split('--> statement-breakpoint')
      .map((s) => s.trim())
      .find((s) => /^UPDATE/m.test(s));
    expect(backfill).toBeDefined();
    await r.probe.forgetRecordMetadata();
    expect((await r.probe.recordMetadataBesideBody()).every((x) => x.column === null)).toBe(true);
    await r.probe.runMigrationStatement(backfill!);
    expect(await r.probe.recordMetadataBesideBody()).toEqual(rows);
    expect(await listing()).toBe(before);
    const verifyAfter = (await r.call(null, 'GET', `/v1/access-records/${aks[1]}`)).body;
    expect(JSON.stringify(verifyAfter['record-metadata'])).toBe(JSON.stringify(verifyBefore['record-metadata']));
  });
});
