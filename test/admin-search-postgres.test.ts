import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';
import { createNamedRecord, testRegister, type TestRegister } from './support/register.js';

/**
 * The admin search on PostgreSQL (services/access-records/queries.ts scanSearch; drizzle-pg
 * migration `admin_search_trigrams`): it finds what SQLite's trigram search finds, and it reads
 * the trigram index rather than every row. Runs both engines itself, in the SQLite pass.
 */
describe.skipIf(!postgresAvailable())('admin search on PostgreSQL', () => {
  let d: TestDatabase;
  let lite: TestRegister;
  let pgr: TestRegister;
  const made: { lite: string[]; pg: string[] } = { lite: [], pg: [] };

  const create = async (r: TestRegister, purpose: string, lead: string) => (await createNamedRecord(r, purpose, lead)).ak;
  /** The search's answer as indexes into `made` (access keys differ between the registers). */
  const search = async (r: TestRegister, mine: string[], q: string) => {
    const res = await r.call('admin_ops', 'GET', `/v1/admin/records?q=${encodeURIComponent(q)}&limit=500`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body.records as { ak: string }[])
      .map((x) => mine.indexOf(x.ak))
      .filter((i) => i >= 0)
      .sort((a, b) => a - b);
  };

  beforeAll(async () => {
    d = await testDatabase('admin_search');
    // Even on a table this small, the planner takes an index whenever one can serve the query:
    // a search the trigram index cannot serve falls back to a scan and the count below stays put.
    const admin = new pg.Client({ connectionString: d.url });
    await admin.connect();
    await admin.query(`alter database ${pg.escapeIdentifier(d.name)} set enable_seqscan = off`);
    await admin.end();
    lite = await testRegister({ databaseUrl: null });
    pgr = await testRegister({ databaseUrl: d.url });
    const records: [string, string][] = [
      ['Quasar heat-pump telemetry', 'Zyxwv Grid plc'],
      ['Tariff 100% green_check', 'Northern Lights Energy'],
      ['Half-hourly settlement', 'Quasar Supply Ltd'],
      ['Back\\slash study', 'Ampersand & Co'],
    ];
    for (const [purpose, lead] of records) {
      made.lite.push(await create(lite, purpose, lead));
      made.pg.push(await create(pgr, purpose, lead));
    }
  });

  afterAll(async () => {
    await lite?.close();
    await pgr?.close();
    await d?.drop();
  });

  it('finds what SQLite finds: case, wildcards and backslashes literal, never across two names', async () => {
    const terms = ['QUASAR', 'quasar', 'eat-pum', 'xwv gr', '100%', '100', 'n_ch', 'green_check', '0% g', 'k\\s', 'ack\\sl', 'telemetryzyx', 'metry', 'plc', 'ersand &', '12000123', 'Ltd', 'nothing-like-it'];
    // Access keys are random and differ between the two registers, so a term may also be a
    // fragment of a record's key on one engine only ("100" in a key): a record whose key holds
    // the term on either engine is left out of both answers here (fragments are compared on
    // their own below).
    for (const q of terms) {
      const inKey = (i: number) => [made.lite[i], made.pg[i]].some((ak) => ak.toLowerCase().includes(q.toLowerCase()));
      const a = (await search(lite, made.lite, q)).filter((i) => !inKey(i));
      const b = (await search(pgr, made.pg, q)).filter((i) => !inKey(i));
      expect(b, q).toEqual(a);
    }
    // A few that must find something, so the comparison above is not of empty answers.
    expect(await search(pgr, made.pg, 'QUASAR')).toEqual([0, 2]);
    expect(await search(pgr, made.pg, '100%')).toEqual([1]);
    expect(await search(pgr, made.pg, 'telemetryzyx')).toEqual([]);
    // An access-key fragment, on both engines.
    const fragment = made.pg[3].slice(5, 15);
    expect(await search(pgr, made.pg, fragment)).toEqual([3]);
    expect(await search(lite, made.lite, made.lite[3].slice(5, 15))).toEqual([3]);
  });

  it('reads the trigram index of the names, not the table', async () => {
    const scans = async () => {
      const c = new pg.Client({ connectionString: d.url });
      await c.connect();
      try {
        const res = await c.query<{ name: string; scans: string }>(`select indexrelname as name, idx_scan as scans from pg_stat_user_indexes where indexrelname = 'access_records_search_trgm'`);
        return Object.fromEntries(res.rows.map((r) => [r.name, Number(r.scans)]));
      } finally {
        await c.end();
      }
    };
    const before = await scans();
    expect(Object.keys(before)).toEqual(['access_records_search_trgm']);
    expect(await search(pgr, made.pg, 'Northern')).toEqual([1]);
    // A session publishes its counters when it goes idle, but at most once a second; one that
    // published less than a second ago publishes after a further idle timeout of 10 s
    // (PostgreSQL's PGSTAT_IDLE_INTERVAL, "The Cumulative Statistics System"). The register's
    // pooled connection may be such a session, so wait past that.
    let after = await scans();
    const deadline = Date.now() + 15_000;
    while (after.access_records_search_trgm <= before.access_records_search_trgm && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      after = await scans();
    }
    expect(after.access_records_search_trgm).toBeGreaterThan(before.access_records_search_trgm);
  });
});
