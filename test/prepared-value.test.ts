import Database from 'better-sqlite3';
import { count, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { blob, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/server/db/open.js';
import { SqliteStore } from '../src/server/db/sqlite-store.js';
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

  it('reads inside a unit see its uncommitted writes, and rolled-back writes are gone', async () => {
    r = await testRegister({}, { seed: false });
    const { store } = r.reg;
    const value = store.prepareValue('test.unit-value', (db, { settings }) =>
      db
        .select({ value: settings.value })
        .from(settings)
        .where(eq(settings.key, sql.placeholder('key'))),
    );
    const n = store.prepareValue('test.unit-count', (db, { settings }) =>
      db
        .select({ n: count() })
        .from(settings)
        .where(eq(settings.key, sql.placeholder('key'))),
    );
    const seen: unknown[] = [];
    await store.tx(async () => {
      await store.db.insert(store.tables.settings).values({ key: 'test.unit', value: 'inner', updatedAt: '2026-12-01T00:00:00.000Z' });
      seen.push(await value.execute({ key: 'test.unit' }), await n.execute({ key: 'test.unit' }));
      await store
        .tx(async () => {
          await store.db.update(store.tables.settings).set({ value: 'nested' }).where(eq(store.tables.settings.key, 'test.unit'));
          seen.push(await value.execute({ key: 'test.unit' }));
          throw new Error('roll the nested unit back');
        })
        .catch(() => undefined);
      seen.push(await value.execute({ key: 'test.unit' }));
    });
    await store
      .tx(async () => {
        await store.db.insert(store.tables.settings).values({ key: 'test.gone', value: 'gone', updatedAt: '2026-12-01T00:00:00.000Z' });
        seen.push(await value.execute({ key: 'test.gone' }));
        throw new Error('roll the unit back');
      })
      .catch(() => undefined);
    seen.push(await value.execute({ key: 'test.unit' }), await value.execute({ key: 'test.gone' }), await n.execute({ key: 'test.gone' }));
    expect(seen).toEqual(['inner', 1, 'nested', 'inner', 'gone', 'inner', undefined, 0]);
  });

  it('an error (here a missing placeholder) rejects the promise rather than throwing, inside a unit and outside', async () => {
    r = await testRegister({}, { seed: false });
    const { store } = r.reg;
    const value = store.prepareValue('test.error', (db, { settings }) =>
      db
        .select({ value: settings.value })
        .from(settings)
        .where(eq(settings.key, sql.placeholder('key'))),
    );
    let outside: Promise<unknown> | undefined;
    expect(() => (outside = value.execute({}))).not.toThrow();
    await expect(outside).rejects.toThrow(/placeholder/);
    await expect(store.tx(() => value.execute({}))).rejects.toThrow(/placeholder/);
  });
});

/**
 * On SQLite, prepareValue runs drizzle's SQL without drizzle's row mapping, so it repeats that
 * mapping's rules (a NULL is never decoded; otherwise the field's decoder runs) and relies on
 * drizzle's placeholder filling. Each case here compares it with drizzle's own prepared query,
 * for every column mode and placeholder form drizzle has, so an upgrade of drizzle that changes
 * either shows up here.
 */
describe('store.prepareValue on SQLite gives what drizzle gives', () => {
  const t = sqliteTable('t', {
    id: integer('id').primaryKey(),
    j: text('j', { mode: 'json' }).$type<unknown>(),
    b: integer('b', { mode: 'boolean' }),
    ts: integer('ts', { mode: 'timestamp' }),
    tsm: integer('tsm', { mode: 'timestamp_ms' }),
    big: blob('big', { mode: 'bigint' }),
    buf: blob('buf', { mode: 'buffer' }),
    s: text('s'),
  });

  function store(): SqliteStore {
    const sqlite = new Database(':memory:');
    sqlite.exec('create table t (id integer primary key, j text, b integer, ts integer, tsm integer, big blob, buf blob, s text)');
    sqlite.exec(`insert into t values (1, '{"a":1}', 1, 1700000000, 1700000000123, '9007199254740993', x'0102', 'x')`);
    sqlite.exec(`insert into t values (2, null, 0, null, null, null, null, null)`);
    sqlite.exec(`insert into t values (3, 'not json', null, 0, 0, null, null, '')`);
    // Outside any unit of work: the group commit is never asked for here.
    return new SqliteStore(drizzle(sqlite) as unknown as Db, () => {
      throw new Error('no unit of work in this test');
    });
  }

  /** The value (or error) each path gives for `build` with `placeholders`. */
  async function bothWays(s: SqliteStore, name: string, build: (db: Db) => unknown, placeholders: Record<string, unknown>) {
    const settle = async (f: () => Promise<unknown>) => {
      try {
        return { value: await f() };
      } catch (err) {
        return { error: String(err) };
      }
    };
    const value = s.prepareValue(`${name}.value`, build as never);
    const mapped = s.prepare(`${name}.mapped`, build as never);
    return {
      prepareValue: await settle(() => value.execute(placeholders)),
      drizzle: await settle(async () => {
        const [row] = (await mapped.execute(placeholders)) as Record<string, unknown>[];
        return row === undefined ? undefined : Object.values(row)[0];
      }),
    };
  }

  it('every column mode, on a full row, a row of NULLs, a row of zeros and bad JSON, and no row', async () => {
    const s = store();
    for (const col of ['j', 'b', 'ts', 'tsm', 'big', 'buf', 's'] as const) {
      for (const id of [1, 2, 3, 4]) {
        const r = await bothWays(
          s,
          `col.${col}.${id}`,
          (db) =>
            db
              .select({ v: t[col] })
              .from(t)
              .where(eq(t.id, sql.placeholder('id'))),
          { id },
        );
        expect(r.prepareValue, `${col}, row ${id}`).toEqual(r.drizzle);
      }
    }
  });

  it('placeholders (repeated, wrapped with a column encoder, missing), literals, sql decoders, errors and the first of many rows', async () => {
    const s = store();
    const cases: [string, (db: Db) => unknown, Record<string, unknown>][] = [
      [
        'repeated',
        (db) =>
          db
            .select({ v: sql<string>`${sql.placeholder('x')} || ${sql.placeholder('x')} || ${t.s}` })
            .from(t)
            .where(eq(t.id, sql.placeholder('id'))),
        { x: 'ab', id: 1 },
      ],
      ['literal boolean', (db) => db.select({ v: t.id }).from(t).where(eq(t.b, true)), {}],
      [
        'literal json',
        (db) =>
          db
            .select({ v: t.id })
            .from(t)
            .where(eq(t.j, { a: 1 })),
        {},
      ],
      [
        'json placeholder with its encoder',
        (db) =>
          db
            .select({ v: t.id })
            .from(t)
            .where(sql`${t.j} = ${sql.param(sql.placeholder('j'), t.j)}`),
        { j: { a: 1 } },
      ],
      [
        'boolean placeholder with its encoder',
        (db) =>
          db
            .select({ v: t.id })
            .from(t)
            .where(sql`${t.b} = ${sql.param(sql.placeholder('b'), t.b)}`),
        { b: false },
      ],
      [
        'boolean placeholder the driver refuses',
        (db) =>
          db
            .select({ v: t.id })
            .from(t)
            .where(eq(t.b, sql.placeholder('b'))),
        { b: true },
      ],
      [
        'missing placeholder',
        (db) =>
          db
            .select({ v: t.id })
            .from(t)
            .where(eq(t.id, sql.placeholder('id'))),
        {},
      ],
      [
        'mapWith',
        (db) =>
          db
            .select({ v: sql`${t.id} * 10`.mapWith(Number) })
            .from(t)
            .where(eq(t.id, 1)),
        {},
      ],
      [
        'mapWith a column',
        (db) =>
          db
            .select({ v: sql`${t.ts}`.mapWith(t.ts) })
            .from(t)
            .where(eq(t.id, 1)),
        {},
      ],
      [
        'aliased',
        (db) =>
          db
            .select({ v: sql<number>`${t.id} + 1`.as('x') })
            .from(t)
            .where(eq(t.id, 1)),
        {},
      ],
      [
        'aliased with mapWith',
        (db) =>
          db
            .select({ v: sql`${t.j}`.mapWith(t.j).as('x') })
            .from(t)
            .where(eq(t.id, 1)),
        {},
      ],
      [
        'NULL with a decoder',
        (db) =>
          db
            .select({ v: sql`null`.mapWith(Number) })
            .from(t)
            .where(eq(t.id, 1)),
        {},
      ],
      [
        'an error in SQL',
        (db) =>
          db
            .select({ v: sql`json(${t.j})` })
            .from(t)
            .where(eq(t.id, 3)),
        {},
      ],
      ['an error in the decoder', (db) => db.select({ v: t.j }).from(t).where(eq(t.id, 3)), {}],
      ['the first of several rows', (db) => db.select({ v: t.id }).from(t).orderBy(t.id), {}],
      ['count', (db) => db.select({ v: sql<number>`count(*)` }).from(t), {}],
    ];
    for (const [name, build, placeholders] of cases) {
      const r = await bothWays(s, name, build, placeholders);
      expect(r.prepareValue, name).toEqual(r.drizzle);
    }
  });
});
