/**
 * A database's schema as plain data, read from each engine's catalogue and normalised so the
 * two can be compared: table and column names, nullability, a type class, primary keys,
 * indexes (unique or not, by columns or expressions, partial predicate) and triggers.
 *
 * Type classes follow SQLite's storage classes: PostgreSQL bigint/integer → integer,
 * text/json → text, bytea → blob, boolean → integer (SQLite stores 0/1). Finer differences
 * (json versus text, boolean versus integer) are the row types' business, which
 * src/server/db/schema-parity.ts checks at compile time.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';

export interface ColumnShape {
  name: string;
  type: string;
  notNull: boolean;
}
export interface IndexShape {
  name: string;
  unique: boolean;
  /** Column names, or normalised expressions such as lower(display_name). */
  columns: string[];
  /** Normalised partial-index predicate, or null. */
  where: string | null;
}
export interface TableShape {
  name: string;
  columns: ColumnShape[];
  primaryKey: string[];
  indexes: IndexShape[];
  triggers: string[];
}

const PG_TYPES: Record<string, string> = {
  bigint: 'integer',
  integer: 'integer',
  smallint: 'integer',
  boolean: 'integer',
  text: 'text',
  json: 'text',
  jsonb: 'text',
  bytea: 'blob',
};

/** Lower case, no quotes, no table qualifiers, no casts, no parentheses, single spaces. */
export function normaliseExpr(expr: string): string {
  return expr
    .toLowerCase()
    .replace(/["`]/g, '')
    .replace(/\b[a-z_][a-z0-9_]*\.(?=[a-z_])/g, '')
    .replace(/::[a-z ]+/g, '')
    .replace(/[()]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Keeps a function call readable after normaliseExpr strips its parentheses: lower(x). */
const normaliseKey = (expr: string): string => {
  const m = /^\s*lower\s*\((.*)\)\s*$/i.exec(expr);
  return m ? `lower(${normaliseExpr(m[1])})` : normaliseExpr(expr);
};

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * SQLite's virtual tables (the admin search's FTS5 trigram index, docs/api.md "Admin lists"),
 * their shadow tables and the triggers that keep them are engine-specific machinery, not part of
 * the data model: PostgreSQL gets its own search index (pg_trgm) when the register serves from
 * it. They are named here and left out of the comparison; anything else new still counts.
 */
export const SQLITE_ONLY_SEARCH_INDEXES = ['access_records_search'];

/**
 * Ordinary SQLite tables that belong to that machinery: the queue of records waiting for the
 * trigram index (migration `admin_search_queue`, services/search-index.ts). It is derived data,
 * kept by the SQLite triggers and drained by the SQLite indexer; PostgreSQL's pg_trgm index is
 * maintained by PostgreSQL itself and needs no queue.
 */
export const SQLITE_ONLY_SEARCH_TABLES = ['access_records_search_queue'];

/**
 * PostgreSQL's side of that machinery: the pg_trgm index over the searchable names (drizzle-pg
 * migration `admin_search_trigrams`), which SQLite's FTS5 table does the work of.
 */
export const POSTGRES_ONLY_SEARCH_INDEXES = ['access_records_search_trgm'];

export function sqliteShape(db: Database.Database): TableShape[] {
  const virtual = db.prepare("select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%'").pluck().all() as string[];
  const unexpected = virtual.filter((v) => !SQLITE_ONLY_SEARCH_INDEXES.includes(v));
  if (unexpected.length) throw new Error(`virtual tables not modelled by this comparison: ${unexpected.join(', ')}`);
  // FTS5's own shadow tables are named after their virtual table (`<name>_data`, `_idx`, ...).
  const shadow = ['data', 'idx', 'content', 'docsize', 'config'];
  const searchMachinery = (name: string) => SQLITE_ONLY_SEARCH_TABLES.includes(name) || virtual.some((v) => name === v || shadow.some((s) => name === `${v}_${s}`));
  // The triggers that keep it are named after the index (`access_records_search_insert`, ...).
  const searchTrigger = (name: string) => virtual.some((v) => name.startsWith(`${v}_`));
  const tables = (db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name <> '__drizzle_migrations' order by name").all() as { name: string }[]).filter((t) => !searchMachinery(t.name));
  return tables.map(({ name }) => {
    const info = db.prepare(`pragma table_info("${name}")`).all() as { name: string; type: string; notnull: number; pk: number }[];
    const indexes = (db.prepare(`pragma index_list("${name}")`).all() as { name: string; unique: number; origin: string }[])
      .filter((i) => i.origin !== 'pk')
      .map((i) => {
        const cols = (db.prepare(`pragma index_xinfo("${i.name}")`).all() as { cid: number; name: string | null; coll: string; key: number }[])
          .filter((c) => c.key === 1)
          .map((c) => {
            if (c.name === null) throw new Error(`index ${i.name}: expression keys are not modelled by this comparison yet`);
            // collate nocase folds case: PostgreSQL's equivalent is an index on lower(col).
            return c.coll.toUpperCase() === 'NOCASE' ? `lower(${c.name})` : c.name;
          });
        const sql = (db.prepare("select sql from sqlite_master where type = 'index' and name = ?").get(i.name) as { sql: string | null }).sql ?? '';
        const where = /\bwhere\b([\s\S]*)$/i.exec(sql);
        return { name: i.name, unique: i.unique === 1, columns: cols, where: where ? normaliseExpr(where[1]) : null };
      })
      .sort(byName);
    const triggers = (db.prepare("select name from sqlite_master where type = 'trigger' and tbl_name = ? order by name").all(name) as { name: string }[]).map((t) => t.name).filter((t) => !searchTrigger(t));
    return {
      name,
      // An INTEGER PRIMARY KEY cannot hold NULL even though SQLite reports notnull = 0.
      columns: info.map((c) => ({ name: c.name, type: c.type.toLowerCase(), notNull: c.notnull === 1 || c.pk > 0 })),
      primaryKey: info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      indexes,
      triggers,
    };
  });
}

export async function postgresShape(client: pg.ClientBase, schema = 'public'): Promise<TableShape[]> {
  const tables = (await client.query<{ name: string }>("select table_name as name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' order by table_name", [schema])).rows;
  const out: TableShape[] = [];
  for (const { name } of tables) {
    const columns = (
      await client.query<{ name: string; type: string; nullable: string }>(
        'select column_name as name, data_type as type, is_nullable as nullable from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position',
        [schema, name],
      )
    ).rows.map((c) => {
      const type = PG_TYPES[c.type];
      if (!type) throw new Error(`${name}.${c.name}: PostgreSQL type ${c.type} has no SQLite counterpart in this comparison`);
      return { name: c.name, type, notNull: c.nullable === 'NO' };
    });
    const idx = (
      await client.query<{ name: string; unique: boolean; primary: boolean; keys: string[]; where: string | null }>(
        `select i.relname as name, x.indisunique as unique, x.indisprimary as primary,
                array(select pg_get_indexdef(x.indexrelid, k, true) from generate_series(1, x.indnkeyatts) k) as keys,
                pg_get_expr(x.indpred, x.indrelid, true) as where
           from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
           join pg_namespace n on n.oid = t.relnamespace
          where n.nspname = $1 and t.relname = $2`,
        [schema, name],
      )
    ).rows;
    const triggers = (
      await client.query<{ name: string }>(
        `select tg.tgname as name from pg_trigger tg join pg_class t on t.oid = tg.tgrelid join pg_namespace n on n.oid = t.relnamespace
          where not tg.tgisinternal and n.nspname = $1 and t.relname = $2 order by tg.tgname`,
        [schema, name],
      )
    ).rows.map((t) => t.name);
    out.push({
      name,
      columns,
      primaryKey: idx.find((i) => i.primary)?.keys.map(normaliseKey) ?? [],
      indexes: idx
        .filter((i) => !i.primary && !POSTGRES_ONLY_SEARCH_INDEXES.includes(i.name))
        .map((i) => ({ name: i.name, unique: i.unique, columns: i.keys.map(normaliseKey), where: i.where === null ? null : normaliseExpr(i.where) }))
        .sort(byName),
      triggers,
    });
  }
  return out;
}
