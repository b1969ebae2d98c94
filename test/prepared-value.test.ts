import { eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { recordJsonOf } from '../src/server/services/record-json.js';
import { testRegister, TEST_ENGINE, type TestRegister } from './support/register.js';

/**
 * `store.prepareValue` (db/store.ts): a one-field select prepared once, resolving to the first
 * row's value. On SQLite it runs drizzle's SQL on better-sqlite3 directly, so it must give what
 * drizzle's own `prepare` gives: the same values, NULL as null, decoders applied, placeholders
 * filled by name wherever they repeat.
 */
describe(`store.prepareValue (${TEST_ENGINE})`, () => {
  let r: TestRegister;
  afterEach(async () => r?.close());

  it('resolves to the value of the first row, or undefined when no row matches', async () => {
    r = await testRegister({}, { seed: false });
    const { store } = r.reg;
    await store.tx(() => store.db.insert(store.tables.settings).values({ key: 'test.one', value: 'first', updatedAt: '2026-12-01T00:00:00.000Z' }));
    const value = store.prepareValue('test.setting-value', (db, { settings }) =>
      db
        .select({ value: settings.value })
        .from(settings)
        .where(eq(settings.key, sql.placeholder('key'))),
    );
    expect(await value.execute({ key: 'test.one' })).toBe('first');
    expect(await value.execute({ key: 'test.none' })).toBeUndefined();
  });

  it('keeps NULL as null and applies the field decoder, as drizzle does', async () => {
    r = await testRegister({}, { seed: false });
    const { store } = r.reg;
    await store.tx(() => store.db.insert(store.tables.settings).values({ key: 'test.one', value: '41', updatedAt: '2026-12-01T00:00:00.000Z' }));
    const nullValue = store.prepareValue('test.null-of-row', (db, { settings }) =>
      db
        .select({ v: sql<string | null>`null` })
        .from(settings)
        .where(eq(settings.key, sql.placeholder('key'))),
    );
    expect(await nullValue.execute({ key: 'test.one' })).toBeNull();
    expect(await nullValue.execute({ key: 'test.none' })).toBeUndefined();
    const decoded = store.prepareValue('test.decoded', (db, { settings }) =>
      db
        .select({ n: sql<number>`${settings.value}`.mapWith((v: unknown) => Number(v) + 1) })
        .from(settings)
        .where(eq(settings.key, sql.placeholder('key'))),
    );
    expect(await decoded.execute({ key: 'test.one' })).toBe(42);
  });

  it('refuses, when prepared, a query that selects more or less than one field', async () => {
    r = await testRegister({}, { seed: false });
    const { store } = r.reg;
    expect(() => store.prepareValue('test.two-fields', (db, { settings }) => db.select({ key: settings.key, value: settings.value }).from(settings) as never)).toThrow(/exactly one column or sql expression/);
    expect(() => store.prepareValue('test.whole-row', (db, { settings }) => db.select().from(settings) as never)).toThrow(/exactly one column or sql expression/);
  });

  it('the verify query answers exactly what the same query answers through drizzle, for every seeded record and an unknown key', async () => {
    r = await testRegister();
    const { store } = r.reg;
    const rows = await store.rows<{ ak: string; kind: string; state: string }>(sql`select ak, kind, state from access_records order by seq`);
    // The demo data holds full and DISCOVERED records in several states (../shared/contract/demo-data.md).
    expect(new Set(rows.map((row) => row.kind)).size).toBe(2);
    expect(new Set(rows.map((row) => row.state)).size).toBeGreaterThan(2);
    const mapped = store.prepare('test.record-json-mapped', (db, t) =>
      db
        .select({ json: recordJsonOf(t, store.dialect).recordJsonSql(sql.placeholder('now')) })
        .from(t.accessRecords)
        .where(eq(t.accessRecords.ak, sql.placeholder('ak'))),
    );
    // Now and a year on: the effective state (EXPIRED past the expiry) comes from the placeholder.
    for (const now of [r.reg.clock.iso(), r.reg.clock.isoIn(366 * 86_400_000)]) {
      for (const ak of [...rows.map((row) => row.ak), 'ak_000000000000000000000000']) {
        const [row] = await mapped.execute({ ak, now });
        expect(await r.svc.records.recordJson(ak, now), ak).toBe(row?.json);
      }
    }
  });
});
