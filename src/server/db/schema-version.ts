/**
 * Schema versions, the same way on both engines. A migrations folder's journal
 * (meta/_journal.json, written by drizzle-kit) lists its migrations in order; drizzle records
 * each one it applies with the journal's `when` (its `created_at`). A database's schema
 * version is the position (1-based) of the newest migration it has applied, and its tag names
 * it. A register refuses a database that has applied a migration its own journal does not
 * list: that schema is newer than the code, which may misread it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';

export interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
}

export interface SchemaVersion {
  /** 0 = nothing applied yet. */
  version: number;
  tag: string | null;
}

/** Thrown when a database's schema is one this register does not know, or not migrated yet. */
export class SchemaVersionError extends Error {}

export function readJournal(migrationsFolder: string): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: JournalEntry[] };
  return [...journal.entries].sort((a, b) => a.when - b.when);
}

/** The journal's newest migration: the schema version this code is written for. */
export function codeVersion(journal: JournalEntry[]): SchemaVersion {
  const last = journal.at(-1);
  return { version: journal.length, tag: last?.tag ?? null };
}

export type SchemaComparison = { status: 'current' | 'older'; database: SchemaVersion; code: SchemaVersion } | { status: 'newer'; database: SchemaVersion | null; code: SchemaVersion; unknownMigrationAt: number };

/**
 * Places a database's applied migrations (their `created_at` values) against the journal.
 * `recorded` is the version a migrate run wrote down, when the engine keeps one: it names a
 * newer schema that this journal cannot.
 */
export function compareSchema(appliedCreatedAt: number[], journal: JournalEntry[], recorded: SchemaVersion | null = null): SchemaComparison {
  const code = codeVersion(journal);
  const newest = appliedCreatedAt.length === 0 ? null : Math.max(...appliedCreatedAt);
  const known = new Map(journal.map((e, i) => [e.when, i + 1]));
  if (newest !== null && !known.has(newest)) {
    // Without a recorded version, count what drizzle applied (its history is linear).
    return { status: 'newer', database: recorded ?? { version: appliedCreatedAt.length, tag: null }, code, unknownMigrationAt: newest };
  }
  if (recorded && recorded.version > code.version) {
    return { status: 'newer', database: recorded, code, unknownMigrationAt: newest ?? 0 };
  }
  const version = newest === null ? 0 : known.get(newest)!;
  const database: SchemaVersion = { version, tag: version === 0 ? null : journal[version - 1].tag };
  return { status: version === code.version ? 'current' : 'older', database, code };
}

const describe = (v: SchemaVersion | null): string => (v ? `version ${v.version}${v.tag ? ` (${v.tag})` : ''}` : 'an unknown version');

/** The message a register gives when it refuses a schema newer than its own. */
export function newerSchemaMessage(c: Extract<SchemaComparison, { status: 'newer' }>): string {
  const when = c.unknownMigrationAt ? ` (it has a migration from ${new Date(c.unknownMigrationAt).toISOString()} that this register does not know)` : '';
  return `the database's schema is ${describe(c.database)}${when}, newer than this register's ${describe(c.code)}. ` + 'A newer register version migrated it; run that version (or a later one), not this one.';
}

/** SQLite: the `created_at` of each migration drizzle has applied to this database (none when new). */
export function sqliteAppliedMigrations(db: Database.Database): number[] {
  const has = db.prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'").get();
  return has ? (db.prepare('select created_at from __drizzle_migrations').all() as { created_at: number }[]).map((r) => Number(r.created_at)) : [];
}
