import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startCheckpointer } from '../src/server/db/checkpointer.js';
import { walDatabase } from './support/temp-files.js';

it('copies committed WAL pages into the database file from its own thread, and stops cleanly', async () => {
  const { sqlite, file } = walDatabase('dar-ckpt-', 'create table blobs (b blob)');
  const checkpointer = startCheckpointer(sqlite, file, 20);
  expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_AUTOCHECKPOINT_PAGES);
  const before = statSync(file).size;
  // ~8 MB: far below the backstop (64 MB), so only the worker can have moved it.
  const insert = sqlite.prepare('insert into blobs values (randomblob(65536))');
  sqlite.transaction(() => {
    for (let i = 0; i < 128; i++) insert.run();
  })();
  const deadline = Date.now() + 10_000;
  while (statSync(file).size - before < 8_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(statSync(file).size - before).toBeGreaterThanOrEqual(8_000_000);
  await checkpointer.stop();
  sqlite.close();
  const reopened = new Database(file, { readonly: true });
  expect(reopened.prepare('select count(*) from blobs').pluck().get()).toBe(128);
  expect(reopened.pragma('integrity_check', { simple: true })).toBe('ok');
  reopened.close();
});
