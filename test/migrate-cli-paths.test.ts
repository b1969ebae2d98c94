/**
 * `migrate --db <SQLite file>` given a careless path: a folder, or a file in a folder that
 * does not exist, is refused with a plain message (exit 1), never SQLite's own wording.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMigrateCommand } from '../src/server/migrate-cli.js';
import { tempDir } from './support/temp-files.js';

async function run(db: string) {
  let out = '';
  let err = '';
  const code = await runMigrateCommand(['--db', db], { write: (s: string) => ((out += s), true) } as never, { write: (s: string) => ((err += s), true) } as never);
  return { code, out, err };
}

describe('migrate --db with a path that is not a database file', () => {
  it('a directory is refused as a directory, and nothing is written into it', async () => {
    const dir = join(tempDir('dar-migrate-paths-'), 'data');
    mkdirSync(dir);
    const res = await run(dir);
    expect(res.code).toBe(1);
    expect(res.err).toContain('is a directory');
    expect(res.err).not.toContain('disk I/O error');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a file in a folder that does not exist names the missing folder', async () => {
    const base = tempDir('dar-migrate-paths-');
    const res = await run(join(base, 'no-such-folder', 'register.sqlite'));
    expect(res.code).toBe(1);
    expect(res.err).toContain(`there is no folder ${join(base, 'no-such-folder')}`);
    expect(readdirSync(base)).toEqual([]);
  });
});
