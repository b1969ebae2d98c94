/**
 * The storage interface on a real PostgreSQL (db/postgres-store.ts): units of work hold one
 * connection and every query inside them goes to it; per-key locks and job locks are the
 * database's advisory locks, so two stores (two nodes) exclude each other; notifications reach
 * every node only when the notifying unit commits. Each test uses the settings table (key/value).
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/server/db/postgres-store.js';
import { affectedRows } from '../src/server/db/store.js';
import { postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!postgresAvailable())('the PostgreSQL store', () => {
  let d: TestDatabase;
  let a: PostgresStore;
  let b: PostgresStore;
  beforeAll(async () => {
    d = await testDatabase('store');
    a = new PostgresStore({ url: d.url, applicationName: 'store test a' });
    b = new PostgresStore({ url: d.url, applicationName: 'store test b' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await d?.drop();
  });

  const put = (s: PostgresStore, key: string, value: string) => s.db.insert(s.tables.settings).values({ key, value, updatedAt: new Date().toISOString() }).onConflictDoUpdate({ target: s.tables.settings.key, set: { value } });
  const read = async (s: PostgresStore, key: string) => (await s.db.select().from(s.tables.settings).where(eq(s.tables.settings.key, key)))[0]?.value;

  it('a unit commits all or nothing; what it wrote is seen by another node only once committed', async () => {
    let seenInside: string | undefined = 'unset';
    await a.tx(async () => {
      await put(a, 'k1', 'one');
      expect(await read(a, 'k1')).toBe('one'); // routed to the unit's own connection
      seenInside = await read(b, 'k1');
    });
    expect(seenInside).toBeUndefined();
    expect(await read(b, 'k1')).toBe('one');

    await expect(
      a.tx(async () => {
        await put(a, 'k2', 'two');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await read(b, 'k2')).toBeUndefined();
  });

  it('a unit inside a unit is a savepoint: its failure, caught, undoes only its own writes', async () => {
    await a.tx(async () => {
      await put(a, 'outer', 'kept');
      await a
        .tx(async () => {
          await put(a, 'inner', 'dropped');
          throw new Error('inner fails');
        })
        .catch(() => undefined);
    });
    expect(await read(b, 'outer')).toBe('kept');
    expect(await read(b, 'inner')).toBeUndefined();
  });

  it('lockKey: a second node waits for the first to commit, then reads what it wrote', async () => {
    await put(a, 'counter', '0');
    const bump = (s: PostgresStore, hold: number) =>
      s.tx(async () => {
        await s.lockKey('counter');
        const n = Number(await read(s, 'counter'));
        await sleep(hold);
        await put(s, 'counter', String(n + 1));
      });
    await Promise.all([bump(a, 150), bump(b, 0), bump(a, 0), bump(b, 50)]);
    expect(await read(a, 'counter')).toBe('4'); // without the lock, the read-then-write loses updates
  });

  it('tryJobLock: one node runs a job at a time; free again once its unit ends', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = a.tx(async () => {
      expect(await a.tryJobLock('sweeper')).toBe(true);
      await held;
    });
    await sleep(50);
    expect(await b.tx(() => b.tryJobLock('sweeper'))).toBe(false);
    expect(await b.tx(() => b.tryJobLock('audit-linker'))).toBe(true);
    release();
    await first;
    expect(await b.tx(() => b.tryJobLock('sweeper'))).toBe(true);
    await expect(a.tryJobLock('sweeper')).rejects.toThrow('needs a unit of work');
  });

  it('notify reaches every node when the unit commits, and never when it rolls back', async () => {
    const got: string[] = [];
    const stop = b.listen('clock', (p) => got.push(p));
    const own: string[] = [];
    a.listen('clock', (p) => own.push(p));
    await sleep(300); // the LISTEN connections are open
    await a.tx(async () => {
      await a.notify('clock', 'moved');
      await sleep(100);
      expect(got).toEqual([]); // not before COMMIT
    });
    await expect(
      a.tx(async () => {
        await a.notify('clock', 'never');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow();
    for (let i = 0; i < 50 && got.length === 0; i++) await sleep(20);
    await sleep(100);
    expect(got).toEqual(['moved']);
    expect(own).toEqual(['moved']);
    stop();
  });

  it('afterCommit runs once the outermost unit commits, never after a rollback', async () => {
    const seen: string[] = [];
    await a.tx(async () => {
      await a.tx(async () => a.afterCommit(() => seen.push(`inner, committed: ${String(a.db === (a as unknown as { root: unknown }).root)}`)));
      expect(seen).toEqual([]);
    });
    await a
      .tx(async () => {
        a.afterCommit(() => seen.push('never'));
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    a.afterCommit(() => seen.push('outside: at once'));
    expect(seen).toEqual(['inner, committed: true', 'outside: at once']);
  });

  it('work scheduled from inside a unit runs after it as a unit of its own, never on its finished transaction', async () => {
    const later: Promise<string>[] = [];
    await a.tx(async () => {
      await put(a, 'sched', 'first');
      setTimeout(() => {
        later.push(
          a
            .tx(async () => {
              await put(a, 'sched', 'second');
              return 'ran';
            })
            .catch((err: Error) => `failed: ${err.message}`),
        );
      }, 20);
    });
    await sleep(200);
    expect(await Promise.all(later)).toEqual(['ran']);
    expect(await read(b, 'sched')).toBe('second');
  });

  it('prepared queries run in the current unit; affected rows and 64-bit integers read as on SQLite', async () => {
    const byKey = a.prepare('test.settingByKey', (db, t) =>
      db
        .select()
        .from(t.settings)
        .where(eq(t.settings.key, sql.placeholder('key'))),
    );
    await a.tx(async () => {
      await put(a, 'p1', 'prepared');
      expect((await byKey.execute({ key: 'p1' }))[0]?.value).toBe('prepared');
    });
    expect((await byKey.execute({ key: 'p1' }))[0]?.value).toBe('prepared');
    const changed = affectedRows(await a.db.update(a.tables.settings).set({ value: 'x' }).where(eq(a.tables.settings.key, 'p1')));
    expect(changed).toBe(1);
    const [row] = await a.rows<{ big: number }>(sql`select 9007199254740991::bigint as big`);
    expect(row.big).toBe(Number.MAX_SAFE_INTEGER);
    expect(await a.execute(sql`delete from settings where key like 'p%'`)).toBe(1);
  });
});
