import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';

/**
 * Temporary folders for tests that need real files (fsync, WAL, a data folder). Each one is
 * removed after the test that made it.
 */
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A SQLite file in WAL mode in a fresh temporary folder, with the tables `ddl` creates. */
export function walDatabase(prefix: string, ddl: string): { sqlite: Database.Database; file: string; dir: string } {
  const dir = tempDir(prefix);
  const file = join(dir, 'db.sqlite');
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.exec(ddl);
  return { sqlite, file, dir };
}
