import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/server/config.js';
import { createRegister } from '../src/server/start.js';
import { tempDir } from './support/temp-files.js';
import { DbProbe } from './support/db-probe.js';

const mode = (f: string) => statSync(f).mode & 0o777;

describe('the database, WAL and SHM files are readable by the register only (0600)', () => {
  const umask = process.umask();
  afterEach(() => {
    process.umask(umask);
  });

  for (const [label, mask] of [
    ['umask 000', 0o000],
    ['umask 022', 0o022],
    ['umask 077', 0o077],
  ] as const) {
    it(`${label}, data folder mode 0777`, async () => {
      const dir = tempDir('dar-modes-');
      chmodSync(dir, 0o777);
      process.umask(mask);
      const running = await createRegister(defaultConfig({ dataDir: dir, port: 0, workers: false, consoleDir: null }), false);
      try {
        // A write, so the WAL and SHM files certainly exist.
        const res = await running.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}` } });
        expect(res.statusCode).toBe(401);
        await DbProbe.of(running.reg).writeScratchRow();
        const db = join(dir, 'register.sqlite');
        for (const f of [db, `${db}-wal`, `${db}-shm`]) {
          expect(existsSync(f), f).toBe(true);
          expect(mode(f).toString(8), f).toBe('600');
        }
        expect(mode(join(dir, 'register.keys.json')).toString(8)).toBe('600');
      } finally {
        await running.close();
      }
    });
  }

  it('tightens a database, WAL and key file left world-readable by an earlier run', async () => {
    const dir = tempDir('dar-modes-');
    process.umask(0);
    const first = await createRegister(defaultConfig({ dataDir: dir, port: 0, workers: false, consoleDir: null }), false);
    await first.close();
    const db = join(dir, 'register.sqlite');
    const keyFile = join(dir, 'register.keys.json');
    writeFileSync(`${db}-wal`, '');
    for (const f of [db, `${db}-wal`, keyFile]) chmodSync(f, 0o644);
    const again = await createRegister(defaultConfig({ dataDir: dir, port: 0, workers: false, consoleDir: null }), false);
    try {
      for (const f of [db, `${db}-wal`, `${db}-shm`, keyFile]) expect(mode(f).toString(8), f).toBe('600');
    } finally {
      await again.close();
    }
  });
});
