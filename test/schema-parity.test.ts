/**
 * The two engines' schemas match (docs/deploying.md "Schemas and migrations"): SQLite migrated
 * from scratch through drizzle/ (the register's own path, openDatabase) and PostgreSQL through
 * drizzle-pg/ (migrate --db), compared table by table. The row types are compared at compile
 * time (src/server/db/schema-parity.ts); this compares what the migrations actually built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/server/config.js';
import { openDatabase } from '../src/server/db/open.js';
import { migratePostgres } from '../src/server/db/migrate-pg.js';
import { connect, PG_MIGRATIONS, postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';
import { postgresShape, sqliteShape, type TableShape } from './support/schema-shape.js';
import type pg from 'pg';
import { PgDialect } from 'drizzle-orm/pg-core';
import { postgresDialect } from '../src/server/db/postgres-dialect.js';

/** Every difference between two shapes, one line each (empty when they match). */
function differences(lite: TableShape[], pgs: TableShape[]): string[] {
  const out: string[] = [];
  const l = new Map(lite.map((t) => [t.name, t]));
  const p = new Map(pgs.map((t) => [t.name, t]));
  for (const name of new Set([...l.keys(), ...p.keys()])) {
    const a = l.get(name);
    const b = p.get(name);
    if (!a || !b) {
      out.push(`table ${name}: only on ${a ? 'SQLite' : 'PostgreSQL'}`);
      continue;
    }
    const show = (x: unknown) => JSON.stringify(x);
    if (show(a.columns.map((c) => c.name)) !== show(b.columns.map((c) => c.name))) out.push(`${name}: columns ${show(a.columns.map((c) => c.name))} vs ${show(b.columns.map((c) => c.name))}`);
    for (const c of a.columns) {
      const d = b.columns.find((x) => x.name === c.name);
      if (d && show(c) !== show(d)) out.push(`${name}.${c.name}: ${show(c)} vs ${show(d)}`);
    }
    if (show(a.primaryKey) !== show(b.primaryKey)) out.push(`${name}: primary key ${show(a.primaryKey)} vs ${show(b.primaryKey)}`);
    const ai = new Map(a.indexes.map((i) => [i.name, i]));
    const bi = new Map(b.indexes.map((i) => [i.name, i]));
    for (const iname of new Set([...ai.keys(), ...bi.keys()])) {
      const x = ai.get(iname);
      const y = bi.get(iname);
      if (!x || !y) out.push(`${name}: index ${iname} only on ${x ? 'SQLite' : 'PostgreSQL'}`);
      else if (show(x) !== show(y)) out.push(`${name}: index ${show(x)} vs ${show(y)}`);
    }
    if (show(a.triggers) !== show(b.triggers)) out.push(`${name}: triggers ${show(a.triggers)} vs ${show(b.triggers)}`);
  }
  return out;
}

describe.skipIf(!postgresAvailable())('schema parity: SQLite (drizzle/) and PostgreSQL (drizzle-pg/)', () => {
  let fresh: TestDatabase;
  let client: pg.Client;
  let lite: TableShape[];

  beforeAll(async () => {
    // From scratch on both: an empty PostgreSQL database migrated here, not the template.
    fresh = await testDatabase('parity', { migrated: false });
    await migratePostgres(fresh.url, PG_MIGRATIONS);
    client = await connect(fresh.name);
    const { sqlite } = openDatabase(':memory:', defaultConfig().migrationsFolder);
    lite = sqliteShape(sqlite);
    sqlite.close();
  });
  afterAll(async () => {
    await client?.end();
    await fresh?.drop();
  });

  it('builds the same tables, columns, nullability, types, keys, indexes and triggers', async () => {
    const pgs = await postgresShape(client);
    expect(lite.length).toBeGreaterThanOrEqual(15);
    expect(differences(lite, pgs)).toEqual([]);
    // The comparison really looked at the case-folding and partial indexes.
    const discovered = pgs.find((t) => t.name === 'access_records')!.indexes.find((i) => i.name === 'access_records_discovered_idx');
    expect(discovered).toEqual({ name: 'access_records_discovered_idx', unique: false, columns: ['mpxn', 'lower(organisation_reference)'], where: 'organisation_reference is not null' });
  });

  it.each([
    ['a column made NOT NULL', 'alter table accounts alter column contact_url set not null', 'accounts.contact_url'],
    ['a type changed', 'alter table webhooks alter column notify_days_before type text', 'webhooks.notify_days_before'],
    ['a case-folding index that no longer folds case', 'drop index accounts_org_ref_idx; create index accounts_org_ref_idx on accounts (organisation_reference)', 'index {"name":"accounts_org_ref_idx"'],
    ['a partial index made full', 'drop index audit_events_subject_idx; create index audit_events_subject_idx on audit_events (subject, seq)', 'index {"name":"audit_events_subject_idx"'],
    ['a unique index made plain', 'drop index webhooks_wid_uq; create index webhooks_wid_uq on webhooks (wid)', 'index {"name":"webhooks_wid_uq"'],
    ['an index missing', 'drop index reid_tokens_status_idx', 'index reid_tokens_status_idx only on SQLite'],
    ['an extra column', 'alter table settings add column note text', 'settings: columns'],
    ['a trigger missing', 'drop trigger access_records_count_update on access_records', 'access_records: triggers'],
    ['a table missing', 'drop table ended_portal_sessions', 'table ended_portal_sessions: only on SQLite'],
  ])('reports a drift: %s', async (_what, ddl, expected) => {
    // PostgreSQL's DDL is transactional: drift, look, roll back.
    await client.query('begin');
    try {
      await client.query(ddl);
      const found = differences(lite, await postgresShape(client));
      expect(found.length).toBeGreaterThan(0);
      expect(found.join('\n')).toContain(expected);
    } finally {
      await client.query('rollback');
    }
  });

  it('keeps access_record_counts the same way on both engines (the triggers behave alike)', async () => {
    const steps: [string, unknown[]][] = [
      ["insert into access_records (ak, kind, duid, mpxn, state, data_types, created_at, updated_at) values (?, 'record', ?, '1200000000001', ?, '[]', 'x', 'x')", ['ak_1', 'duid_a', 'ACTIVE']],
      ["insert into access_records (ak, kind, duid, mpxn, state, data_types, created_at, updated_at) values (?, 'record', ?, '1200000000001', ?, '[]', 'x', 'x')", ['ak_2', 'duid_a', 'ACTIVE']],
      ["insert into access_records (ak, kind, duid, mpxn, state, data_types, created_at, updated_at) values (?, 'record', ?, '1200000000002', ?, '[]', 'x', 'x')", ['ak_3', 'duid_b', 'ACTIVE']],
      ["insert into access_records (ak, kind, duid, mpxn, state, data_types, created_at, updated_at) values (?, 'discovered', null, '1200000000002', ?, '[]', 'x', 'x')", ['ak_4', 'DISCOVERED']],
      ["update access_records set state = 'REVOKED' where ak = ?", ['ak_1']],
      ["update access_records set state = 'REVOKED' where ak = ?", ['ak_1']],
      ["update access_records set purpose = 'p' where ak = ?", ['ak_2']],
      ["update access_records set duid = 'duid_b' where ak = ?", ['ak_2']],
      ['delete from access_records where ak = ?', ['ak_3']],
      ["update access_records set duid = 'duid_c', state = 'EXPIRED' where ak = ?", ['ak_4']],
    ];
    const { sqlite } = openDatabase(':memory:', defaultConfig().migrationsFolder);
    const pgDb = await testDatabase('parity_counts');
    const c = await connect(pgDb.name);
    try {
      for (const [sql, params] of steps) {
        sqlite.prepare(sql).run(...params);
        let n = 0;
        await c.query(
          sql.replace(/\?/g, () => `$${++n}`),
          params,
        );
      }
      const q = 'select duid, state, n from access_record_counts order by duid, state';
      const fromLite = sqlite.prepare(q).all();
      expect(fromLite).toEqual([
        { duid: 'duid_a', state: 'ACTIVE', n: 0 },
        { duid: 'duid_a', state: 'REVOKED', n: 1 },
        { duid: 'duid_b', state: 'ACTIVE', n: 1 },
        { duid: 'duid_c', state: 'EXPIRED', n: 1 },
      ]);
      // SQLite's triggers update the counts and leave no changes; PostgreSQL's append changes
      // (services/record-counts.ts), which read with the counts give the same numbers, and once
      // folded leave the same rows.
      expect(sqlite.prepare('select count(*) as n from access_record_count_deltas').get()).toEqual({ n: 0 });
      const withChanges = `select duid, state, cast(sum(n) as bigint) as n from (select duid, state, n from access_record_counts
        union all select duid, state, n from access_record_count_deltas) both_ group by duid, state order by duid, state`;
      expect((await c.query(withChanges)).rows.map((r) => ({ ...r, n: Number(r.n) }))).toEqual(fromLite);
      expect(Number((await c.query('select count(*) as n from access_record_count_deltas')).rows[0].n)).toBeGreaterThan(0);
      const fold = new PgDialect().sqlToQuery(postgresDialect.foldRecordCountDeltas!);
      await c.query(fold.sql, fold.params);
      expect(Number((await c.query('select count(*) as n from access_record_count_deltas')).rows[0].n)).toBe(0);
      const fromPg = (await c.query(q)).rows.map((r) => ({ ...r, n: Number(r.n) }));
      expect(fromPg).toEqual(fromLite);
    } finally {
      sqlite.close();
      await c.end();
      await pgDb.drop();
    }
  });
});
