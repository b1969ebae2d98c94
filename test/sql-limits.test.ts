/**
 * A LIMIT is written into the SQL text, never bound (lib/sql.ts, docs/performance.md "A bound
 * LIMIT"). SQLite reads a bound LIMIT's value while planning and marks the statement to be
 * prepared again whenever that parameter is bound, which is every run: the meter-point listing
 * cost 86–91 µs per statement instead of 21–22 µs at 100k records. better-sqlite3 shows neither
 * SQLite's re-prepare counter (sqlite3_stmt_status) nor its `sqlite_stmt` table, so the test
 * looks at what causes it: the text of every statement the register prepares on these paths.
 */
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Preparable, Prepared, Store } from '../src/server/db/store.js';
import { LimitedStatements, literalLimit } from '../src/server/lib/sql.js';
import { TEST_ENGINE, testRegister, type TestRegister } from './support/register.js';

/** `limit ?` or `limit :name`: a LIMIT bound as a parameter (drizzle writes `?`). */
const BOUND_LIMIT = /\blimit\s+[?:@$]/i;

describe.skipIf(TEST_ENGINE !== 'sqlite')('statements on request paths write their LIMIT', () => {
  let r: TestRegister;
  const prepared: string[] = [];
  beforeAll(async () => {
    const original = Database.prototype.prepare;
    vi.spyOn(Database.prototype, 'prepare').mockImplementation(function (this: Database.Database, source: string) {
      prepared.push(source);
      return original.call(this, source);
    });
    r = await testRegister();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await r.close();
  });

  it('the meter-point listing, /records, the admin lists, portal views and the audit linker bind no LIMIT', async () => {
    const mpxn = r.demo!.mpxn;
    // What the register prepared while starting (its services' statements, prepareValue's
    // included) is checked as well as what the requests below prepare.
    const atStart = prepared.splice(0);
    expect(atStart.length).toBeGreaterThan(20);
    expect(atStart.filter((s) => BOUND_LIMIT.test(s))).toEqual([]);
    for (const query of ['', '?limit=1', '?limit=1', '?limit=2&state=ACTIVE', '?legal-basis=uk-consent']) {
      const res = await r.call('bright_energy', 'GET', `/v1/meter-points/${mpxn}/access-records${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const one = await r.call('bright_energy', 'GET', `/v1/meter-points/${mpxn}/access-records?limit=1`);
    expect(one.body['access-records']).toHaveLength(1);
    for (const query of ['?limit=1', '?limit=50', '?limit=50&state=ACTIVE']) expect((await r.call('bright_energy', 'GET', `/v1/records${query}`)).status).toBe(200);
    for (const url of ['/v1/admin/records?limit=2', '/v1/admin/records?limit=2&sort=mpxn', '/v1/admin/discovered-access?limit=5']) expect((await r.call('admin_ops', 'GET', url)).status).toBe(200);
    expect((await r.svc.records.meterPointViews(mpxn, 3)).length).toBeGreaterThan(0);
    await r.reg.tx(() => r.reg.audit.linkPending());
    expect(await r.reg.audit.hasPending()).toBe(false);

    expect(prepared.length).toBeGreaterThan(0);
    expect(prepared.filter((s) => BOUND_LIMIT.test(s))).toEqual([]);
  });
});

describe('LimitedStatements', () => {
  /** A store that counts what it prepares and answers with the placeholders it was given. */
  function countingStore(engine: 'sqlite' | 'postgres') {
    const names: string[] = [];
    const store = {
      engine,
      prepare<R>(name: string, build: (db: never, tables: never) => Preparable<R>): Prepared<R> {
        names.push(name);
        const limit = build(null as never, null as never) as unknown as { limit: unknown };
        return { execute: (p) => Promise.resolve({ limit: limit.limit, params: p } as R) };
      },
    } as unknown as Store;
    return { store, names };
  }
  // `build` here returns what it was given as the LIMIT, so the test sees literal or placeholder.
  const build = (_db: unknown, _t: unknown, limit: number) => ({ limit }) as unknown as Preparable<unknown[]>;

  it('on SQLite, one statement per limit, the limit written in, the most recently used kept', async () => {
    const { store, names } = countingStore('sqlite');
    const s = new LimitedStatements(store, 'q', 2);
    const first = (await s.execute('shape', 1001, build, { a: 1 })) as unknown as { limit: unknown; params: unknown };
    expect(first.params).toEqual({ a: 1 });
    expect(first.limit).not.toHaveProperty('name'); // not a placeholder: raw SQL text
    await s.execute('shape', 1001, build, {});
    expect(names).toEqual(['q.shape|1001']);
    await s.execute('shape', 5, build, {});
    await s.execute('shape', 1001, build, {}); // used last: 5 is now the oldest
    await s.execute('shape', 7, build, {}); // drops 5
    await s.execute('shape', 1001, build, {});
    await s.execute('shape', 5, build, {});
    expect(names).toEqual(['q.shape|1001', 'q.shape|5', 'q.shape|7', 'q.shape|5']);
  });

  it('on PostgreSQL, one named statement per shape with the limit bound', async () => {
    const { store, names } = countingStore('postgres');
    const s = new LimitedStatements(store, 'q');
    const got = (await s.execute('shape', 10, build, { a: 1 })) as unknown as { limit: unknown; params: unknown };
    await s.execute('shape', 20, build, {});
    expect(names).toEqual(['q.shape']);
    expect(got.params).toEqual({ a: 1, limit: 10 });
    expect(got.limit).toEqual(sql.placeholder('limit'));
  });

  it('writes only non-negative integers', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) expect(() => literalLimit(bad)).toThrow(RangeError);
    expect(() => literalLimit(0)).not.toThrow();
  });
});
