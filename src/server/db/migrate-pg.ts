/**
 * PostgreSQL schema migrations for a register run as several nodes (docs/deploying.md).
 * Nodes never migrate by themselves: `npm run register -- migrate --db postgres://…` does, once,
 * under a cluster-wide advisory lock, and each node checks at start that it knows the schema
 * version it finds (`assertPostgresSchemaKnown`).
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { compareSchema, newerSchemaMessage, readJournal, SchemaVersionError, type SchemaComparison, type SchemaVersion } from './schema-version.js';

/**
 * The advisory lock key every migrate run takes ("DAR_MIGR" in ASCII). Session-level, so it
 * is released if the migrating process dies with its connection.
 */
export const MIGRATE_LOCK_KEY = '4918986437493900626';

/** drizzle's own bookkeeping lives in this schema, away from the register's tables. */
const MIGRATIONS_SCHEMA = 'drizzle';

export interface MigrateResult {
  from: SchemaVersion;
  to: SchemaVersion;
  /** Migrations this run applied (0 when another run had already done it). */
  applied: number;
  /** How long this run waited for another run's lock, in ms. */
  waitedMs: number;
}

/** Reads the applied migrations and the recorded version, or none when never migrated. */
async function schemaState(client: pg.ClientBase, migrationsFolder: string): Promise<SchemaComparison> {
  const journal = readJournal(migrationsFolder);
  const exists = await client.query<{ m: string | null; v: string | null }>(`select to_regclass('${MIGRATIONS_SCHEMA}.__drizzle_migrations')::text as m, to_regclass('${MIGRATIONS_SCHEMA}.register_schema')::text as v`);
  const applied = exists.rows[0].m ? (await client.query<{ created_at: string }>(`select created_at from ${MIGRATIONS_SCHEMA}.__drizzle_migrations`)).rows.map((r) => Number(r.created_at)) : [];
  const recorded = exists.rows[0].v ? ((await client.query<SchemaVersion>(`select version, tag from ${MIGRATIONS_SCHEMA}.register_schema where id = 1`)).rows[0] ?? null) : null;
  return compareSchema(applied, journal, recorded);
}

/**
 * Brings a PostgreSQL database's schema up to this code's version. Concurrent runs (two
 * operators, or every node of a deployment at once) queue on the advisory lock; the first
 * applies the migrations in one transaction, the others then find nothing left to do.
 * Refuses a database migrated by a newer register.
 */
export async function migratePostgres(url: string, migrationsFolder: string): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: url, application_name: 'dar-register migrate' });
  await client.connect();
  try {
    const t0 = performance.now();
    await client.query('select pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    const waitedMs = performance.now() - t0;
    const before = await schemaState(client, migrationsFolder);
    if (before.status === 'newer') throw new SchemaVersionError(newerSchemaMessage(before));
    await migrate(drizzle(client), { migrationsFolder, migrationsSchema: MIGRATIONS_SCHEMA });
    const after = await schemaState(client, migrationsFolder);
    if (after.status !== 'current') throw new SchemaVersionError(`migration ended at an unexpected schema state: ${after.status}`);
    // The version, recorded where every node (and an operator with psql) can read it, and
    // where a register older than this one finds the name of the schema it does not know.
    await client.query(
      `create table if not exists ${MIGRATIONS_SCHEMA}.register_schema (
         id integer primary key check (id = 1), version integer not null, tag text, migrated_at timestamptz not null)`,
    );
    await client.query(
      `insert into ${MIGRATIONS_SCHEMA}.register_schema (id, version, tag, migrated_at) values (1, $1, $2, now())
       on conflict (id) do update set version = excluded.version, tag = excluded.tag, migrated_at = excluded.migrated_at
       where ${MIGRATIONS_SCHEMA}.register_schema.version is distinct from excluded.version`,
      [after.database.version, after.database.tag],
    );
    return { from: before.database, to: after.database, applied: after.database.version - before.database.version, waitedMs };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * What a node calls before it serves: the database must be at exactly the schema version this
 * code knows. Newer: refuse (a newer register migrated it). Older or never migrated: refuse
 * and say to run migrate, since nodes do not migrate by themselves.
 */
export async function assertPostgresSchemaKnown(client: pg.ClientBase, migrationsFolder: string): Promise<SchemaVersion> {
  const state = await schemaState(client, migrationsFolder);
  if (state.status === 'newer') throw new SchemaVersionError(newerSchemaMessage(state));
  if (state.status === 'older') {
    const at = state.database.version === 0 ? 'has no register schema yet' : `is at schema version ${state.database.version} (${state.database.tag})`;
    throw new SchemaVersionError(`the database ${at}; this register needs version ${state.code.version} (${state.code.tag}). ` + 'Run `npm run register -- migrate --db <url>` first.');
  }
  return state.database;
}
