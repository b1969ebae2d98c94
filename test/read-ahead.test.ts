/**
 * Whether the register reads its SQLite file through a memory map, decided from its disk's
 * read-ahead (src/server/db/read-ahead.ts; docs/performance.md "Memory and `mmap_size`").
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/server/config.js';
import { openDatabase } from '../src/server/db/open.js';
import { deviceNumbers, MAX_READ_AHEAD_KB_FOR_MMAP, MMAP_BYTES, mmapBytesFor, readAheadKb } from '../src/server/db/read-ahead.js';
import { createRegister } from '../src/server/start.js';

const linux = process.platform === 'linux';
const folders: string[] = [];
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'dar-read-ahead-'));
  folders.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** glibc's makedev(), written out independently of deviceNumbers. */
const makedev = (major: bigint, minor: bigint) => ((major & 0xfffn) << 8n) | ((major & 0xfffff000n) << 32n) | (minor & 0xffn) | ((minor & 0xffffff00n) << 12n);

/** The file's device as "major:minor". */
const deviceOf = (file: string) => {
  const { major, minor } = deviceNumbers(statSync(file, { bigint: true }).dev);
  return `${major}:${minor}`;
};

describe('device numbers', () => {
  it('splits a dev_t as glibc does, large majors and minors included', () => {
    for (const [major, minor] of [
      [254n, 0n],
      [8n, 1n],
      [259n, 3n],
      [0n, 52n],
      [4095n, 255n],
      [4096n, 256n],
      [70000n, 1048575n],
      [0xfffffn, 0xffffffffn],
    ]) {
      expect(deviceNumbers(makedev(major, minor))).toEqual({ major, minor });
    }
    expect(deviceNumbers(65024n)).toEqual({ major: 254n, minor: 0n });
  });

  it.runIf(linux)('gives the major:minor the kernel names for the filesystem holding a file', () => {
    const file = join(folder(), 'f');
    writeFileSync(file, 'x');
    // /proc/self/mountinfo: "id parent major:minor root mountpoint …"; the file's filesystem is
    // one of the mounts with that device.
    const devices = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[2]);
    expect(devices).toContain(deviceOf(file));
  });
});

describe.runIf(linux)('the read-ahead of a file’s disk, from sysfs', () => {
  /** A fake sysfs for `file`'s device; returns its root. */
  const sysfs = (file: string, layout: 'bdi' | 'queue' | 'partition' | 'none', value = '8192\n') => {
    const root = join(folder(), 'sys');
    const id = deviceOf(file);
    if (layout === 'bdi') {
      mkdirSync(join(root, 'class', 'bdi', id), { recursive: true });
      writeFileSync(join(root, 'class', 'bdi', id, 'read_ahead_kb'), value);
    } else if (layout === 'queue') {
      mkdirSync(join(root, 'dev', 'block', id, 'queue'), { recursive: true });
      writeFileSync(join(root, 'dev', 'block', id, 'queue', 'read_ahead_kb'), value);
    } else if (layout === 'partition') {
      // /sys/dev/block/<partition> links to the partition's folder inside its disk's.
      mkdirSync(join(root, 'devices', 'vdb', 'queue'), { recursive: true });
      mkdirSync(join(root, 'devices', 'vdb', 'vdb1'), { recursive: true });
      writeFileSync(join(root, 'devices', 'vdb', 'queue', 'read_ahead_kb'), value);
      mkdirSync(join(root, 'dev', 'block'), { recursive: true });
      symlinkSync('../../devices/vdb/vdb1', join(root, 'dev', 'block', id));
    } else mkdirSync(root, { recursive: true });
    return root;
  };

  const file = () => {
    const f = join(folder(), 'register.sqlite');
    writeFileSync(f, '');
    return f;
  };

  it('reads the backing device, the block queue, or a partition’s disk', () => {
    const f = file();
    expect(readAheadKb(f, sysfs(f, 'bdi'))).toBe(8192);
    expect(readAheadKb(f, sysfs(f, 'queue', '128\n'))).toBe(128);
    expect(readAheadKb(f, sysfs(f, 'partition', '4096\n'))).toBe(4096);
  });

  it('is null when sysfs does not tell, or tells something else than a number', () => {
    const f = file();
    expect(readAheadKb(f, sysfs(f, 'none'))).toBeNull();
    expect(readAheadKb(f, sysfs(f, 'bdi', 'max\n'))).toBeNull();
    expect(readAheadKb(join(folder(), 'missing'), '/sys')).toBeNull();
  });

  it('on this machine, agrees with /sys when the file’s device is listed there', () => {
    const f = file();
    const listed = join('/sys/class/bdi', deviceOf(f), 'read_ahead_kb');
    // A filesystem without a backing device of its own (tmpfs, overlay) has nothing to compare.
    if (!existsSync(listed)) return;
    expect(readAheadKb(f)).toBe(Number(readFileSync(listed, 'utf8').trim()));
  });
});

describe('the memory map', () => {
  it('is used up to the kernel’s default read-ahead and not above, and kept when unknown', () => {
    expect(MAX_READ_AHEAD_KB_FOR_MMAP).toBe(128);
    expect(mmapBytesFor(null)).toBe(MMAP_BYTES);
    expect(mmapBytesFor(0)).toBe(MMAP_BYTES);
    expect(mmapBytesFor(128)).toBe(MMAP_BYTES);
    expect(mmapBytesFor(129)).toBe(0);
    expect(mmapBytesFor(8192)).toBe(0);
  });

  it('the register opens its database file with the map its disk allows, and says so when it is off', async () => {
    const dir = folder();
    const file = join(dir, 'register.sqlite');
    const { sqlite, reads } = openDatabase(file, defaultConfig().migrationsFolder);
    try {
      expect(reads.readAheadKb).toBe(readAheadKb(file));
      expect(reads.mmapBytes).toBe(mmapBytesFor(reads.readAheadKb));
      expect(sqlite.pragma('mmap_size', { simple: true })).toBe(reads.mmapBytes);
    } finally {
      sqlite.close();
    }
    // The register itself, on a data folder of its own.
    const other = folder();
    const running = await createRegister({ ...defaultConfig(), dataDir: other, port: 0, workers: false });
    try {
      const expected = mmapBytesFor(readAheadKb(join(other, 'register.sqlite')));
      expect(running.reg.sqlite!.pragma('mmap_size', { simple: true })).toBe(expected);
      if (expected > 0) expect(running.storageNote).toBeNull();
      else expect(running.storageNote).toContain(`reads ahead ${readAheadKb(join(other, 'register.sqlite'))} KiB around each page fault`);
    } finally {
      await running.close();
    }
  });

  it('an in-memory database has none', () => {
    const { sqlite, reads } = openDatabase(':memory:', defaultConfig().migrationsFolder);
    expect(reads).toEqual({ mmapBytes: 0, readAheadKb: null });
    sqlite.close();
  });
});
