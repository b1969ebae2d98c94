import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKED_FOLDERS, SQLITE_SPECIFIC, storeBoundaryViolations } from './support/store-boundary.js';

const SERVER = join(process.cwd(), 'src/server');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : []));
}

/**
 * The register also runs on PostgreSQL (db/store.ts): services, routes, pages and the seed
 * reach the database only through awaited drizzle builders and the Store. `.get()`, `.all()`,
 * `.run()`, `.values()` and a builder's own `.prepare()` exist on SQLite's builders only, and
 * run synchronously there; raw better-sqlite3 only in the few SQLite-specific files.
 */
describe('the storage boundary', () => {
  it('no service, route, page or seed file uses SQLite-only calls outside the SQLite-specific files', () => {
    const offending: string[] = [];
    for (const folder of CHECKED_FOLDERS) {
      for (const file of sourceFiles(join(SERVER, folder))) {
        const name = relative(SERVER, file);
        if (SQLITE_SPECIFIC.includes(name)) continue;
        for (const v of storeBoundaryViolations(readFileSync(file, 'utf8'))) offending.push(`src/server/${name}:${v.line}: ${v.text}  (${v.why})`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('the SQLite-specific files still exist (the allow-list names real files)', () => {
    for (const name of SQLITE_SPECIFIC) expect(() => readFileSync(join(SERVER, name)), name).not.toThrow();
  });

  it('finds synchronous builders, prepared statements and raw SQLite, and leaves awaited builders and other calls alone', () => {
    const lines = (src: string) => storeBoundaryViolations(src).map((v) => v.line);
    // Caught:
    expect(lines('const row = this.reg.db.select().from(t).where(eq(t.id, id)).get();')).toEqual([1]);
    expect(lines('const rows = reg.db\n  .select()\n  .from(t)\n  .orderBy(asc(t.seq))\n  .all();')).toEqual([5]); // the line of the call
    expect(lines('reg.db.update(t).set({ a: 1 }).where(eq(t.id, x)).run();')).toEqual([1]);
    expect(lines('const ids = db.select({ id: t.id }).from(t).values();')).toEqual([1]);
    expect(lines('const q = reg.db.select().from(t).where(eq(t.id, sql.placeholder("id"))).prepare();')).toEqual([1]);
    expect(lines('const row = this.byId.get({ id });')).toEqual([1]);
    expect(lines('this.touch.run({ at, id });')).toEqual([1]);
    expect(lines('const n = reg.db.all(sql`select 1`);')).toEqual([1]);
    expect(lines('this.reg.sqlite.prepare("select 1").get();')).toEqual([1]);
    expect(lines('reg.sqlite.exec("delete from t");')).toEqual([1]);
    expect(lines('this.reg.sqlite.transaction(() => x)();')).toEqual([1]);
    expect(lines('this.q = reg.sqlite.prepare<[string], { ir: string }>("select ir from t where x = ?");')).toEqual([1]);
    expect(lines("this.write = db.prepare('insert into t (k) values (?)');")).toEqual([1]);
    // Left alone:
    expect(lines('const [row] = await this.reg.db.select().from(t).where(eq(t.id, id)).limit(1);')).toEqual([]);
    expect(lines('await reg.db.insert(t).values({ id, at });')).toEqual([]);
    expect(lines('const q = reg.store.prepare("t.byId", (db) => db.select().from(t).where(eq(t.id, sql.placeholder("id"))));')).toEqual([]);
    expect(lines('const rows = await reg.store.rows(sql`select 1`);')).toEqual([]);
    expect(lines('const s = await this.sweeper.run();')).toEqual([]);
    expect(lines('for (const v of seen.values()) total += v;')).toEqual([]);
    expect(lines('const v = cache.get(key) ?? headers.get("x");')).toEqual([]);
    expect(lines('// the old code did .select().from(t).get() here\n/* reg.sqlite.prepare(x).all() */')).toEqual([]);
    expect(lines('if (!this.reg.sqlite.open) return;')).toEqual([]);
  });
});
