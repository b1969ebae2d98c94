import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runKeysCommand } from '../src/server/keys-cli.js';
import { loadKeys } from '../src/server/lib/keys.js';
import { StartupError } from '../src/server/start.js';
import { testRegister, type TestRegister } from './support/register.js';
import { tempDir } from './support/temp-files.js';

/** `keys new <file>` and `--keys-file` (docs/deploying.md "Key files"). */
function capture(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, done) {
      w.text += String(chunk);
      done();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

let open: TestRegister[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
});

describe('key files', () => {
  it('keys new writes a fresh key file, mode 0600, and refuses to overwrite one', () => {
    const file = join(tempDir('dar-keys-'), 'cluster.keys.json');
    const out = capture();
    expect(runKeysCommand(['new', file], out, capture())).toBe(0);
    expect(out.text).toContain(`--keys-file ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const keys = loadKeys(file);
    expect(new Set([keys.jwtSecret, keys.emailHmacKey, keys.encryptionKey, keys.signingKey].map((k) => k.toString('hex'))).size).toBe(4);

    const before = readFileSync(file);
    const err = capture();
    expect(runKeysCommand(['new', file], capture(), err)).toBe(1);
    expect(err.text).toMatch(/already exists; a key file is never overwritten/);
    expect(readFileSync(file).equals(before)).toBe(true);
    // A second file has other keys.
    const other = join(tempDir('dar-keys-'), 'b.keys.json');
    expect(runKeysCommand(['new', other], capture(), capture())).toBe(0);
    expect(loadKeys(other).signingKey.equals(keys.signingKey)).toBe(false);
  });

  it('keys takes exactly "new <file>"', () => {
    for (const args of [[], ['new'], ['old', 'x'], ['new', 'a', 'b'], ['new', '--force']]) {
      const err = capture();
      expect(runKeysCommand(args, capture(), err), args.join(' ')).toBe(2);
      expect(err.text).toMatch(/Usage: npm run register -- keys new <file>/);
    }
  });

  it('the register uses --keys-file instead of <data>/register.keys.json, refuses a missing one, and another one than the database was written with', async () => {
    const dataDir = tempDir('dar-keys-');
    const keysFile = join(tempDir('dar-keys-'), 'cluster.keys.json');
    const missing = testRegister({ dataDir, keysFile }, { seed: false });
    await expect(missing).rejects.toThrow(StartupError);
    await expect(missing).rejects.toThrow(/does not exist \(write one with: npm run register -- keys new/);

    expect(runKeysCommand(['new', keysFile], capture(), capture())).toBe(0);
    const r = await testRegister({ dataDir, keysFile });
    open.push(r);
    expect(existsSync(join(dataDir, 'register.keys.json'))).toBe(false);
    expect(r.reg.keys.signingKey.equals(loadKeys(keysFile).signingKey)).toBe(true);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
    await r.close();
    open = [];

    const otherFile = join(tempDir('dar-keys-'), 'other.keys.json');
    expect(runKeysCommand(['new', otherFile], capture(), capture())).toBe(0);
    await expect(testRegister({ dataDir, keysFile: otherFile }, { seed: false })).rejects.toThrow(/key file does not belong to this database/);
  });

  it('a database written with --keys-file, started without it, is refused without writing a stray key file into the data folder', async () => {
    const dataDir = tempDir('dar-keys-');
    const keysFile = join(tempDir('dar-keys-'), 'cluster.keys.json');
    expect(runKeysCommand(['new', keysFile], capture(), capture())).toBe(0);
    const r = await testRegister({ dataDir, keysFile });
    await r.close();
    await expect(testRegister({ dataDir }, { seed: false })).rejects.toThrow(StartupError);
    // A fresh register.keys.json beside the database would be mistaken for its key file (and backed up as such).
    expect(existsSync(join(dataDir, 'register.keys.json'))).toBe(false);
  });

  it('an unreadable key file is refused without echoing any of its content', async () => {
    const dir = tempDir('dar-keys-');
    const keysFile = join(dir, 'cluster.keys.json');
    writeFileSync(keysFile, 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n', { mode: 0o600 });
    const started = testRegister({ dataDir: join(dir, 'data'), keysFile }, { seed: false });
    await expect(started).rejects.toThrow(/cannot read the key file .*not valid JSON/);
    await expect(started).rejects.not.toThrow(/c2VjcmV0/);
  });
});
