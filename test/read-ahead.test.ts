/**
 * Whether the register reads its SQLite file through a memory map, decided from its disk's
 * read-ahead (src/server/db/read-ahead.ts; docs/performance.md "Memory and `mmap_size`").
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/server/config.js';
import { openDatabase } from '../src/server/db/open.js';
import { deviceNumbers, heldInMemory, MAX_READ_AHEAD_KB_FOR_MMAP, MMAP_BYTES, readAheadKb, readPlan } from '../src/server/db/read-ahead.js';
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

/** A fake sysfs for `file`'s device; returns its root. */
const fakeSysfs = (file: string, layout: 'bdi' | 'queue' | 'partition' | 'none', value = '8192\n') => {
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

/** An empty database file in a folder of its own. */
const dataFile = () => {
  const f = join(folder(), 'register.sqlite');
  writeFileSync(f, '');
  return f;
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

  it.runIf(linux)('gives the major:minor the kernel names for the filesystem holding a file', (ctx) => {
    const file = join(folder(), 'f');
    writeFileSync(file, 'x');
    // A btrfs subvolume or an overlay reports a device number of its own, not its mount's.
    if ([0x9123683e, 0x794c7630].includes(statfsSync(file).type)) ctx.skip();
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
  it('reads the backing device, the block queue, or a partition’s disk', () => {
    const f = dataFile();
    expect(readAheadKb(f, fakeSysfs(f, 'bdi'))).toBe(8192);
    expect(readAheadKb(f, fakeSysfs(f, 'queue', '128\n'))).toBe(128);
    expect(readAheadKb(f, fakeSysfs(f, 'partition', '4096\n'))).toBe(4096);
  });

  it('is null when sysfs does not tell, or tells something else than a number', () => {
    const f = dataFile();
    expect(readAheadKb(f, fakeSysfs(f, 'none'))).toBeNull();
    expect(readAheadKb(f, fakeSysfs(f, 'bdi', 'max\n'))).toBeNull();
    expect(readAheadKb(join(folder(), 'missing'), '/sys')).toBeNull();
  });
});

describe('the read plan', () => {
  /** A fake sysfs giving `file`'s device a read-ahead (or nothing, for `null`). */
  const sysfsWith = (file: string, kb: number | null) => (kb === null ? fakeSysfs(file, 'none') : fakeSysfs(file, 'bdi', `${kb}\n`));

  const onDisk = { inMemory: () => false };

  it('maps the file up to the kernel’s default read-ahead, not above, and says why', () => {
    expect(MAX_READ_AHEAD_KB_FOR_MMAP).toBe(128);
    const f = dataFile();
    const on = (sysfs: string) => readPlan(f, { sysfs, platform: 'linux', ...onDisk });
    expect(on(sysfsWith(f, 128))).toEqual({ mmapBytes: MMAP_BYTES, readAheadKb: 128, note: null });
    expect(on(sysfsWith(f, 0))).toEqual({ mmapBytes: MMAP_BYTES, readAheadKb: 0, note: null });
    const off = on(sysfsWith(f, 129));
    expect(off).toMatchObject({ mmapBytes: 0, readAheadKb: 129 });
    expect(off.note).toBe('memory-mapped reads off: this disk reads ahead 129 KiB around each page fault, more than the 128 KiB the map is used with (docs/performance.md "Memory and mmap_size")');
    expect(on(sysfsWith(f, 8192)).mmapBytes).toBe(0);
    // A file held in memory with a known, large read-ahead (not a real case) still follows the read-ahead.
    expect(readPlan(f, { sysfs: sysfsWith(f, 8192), platform: 'linux', inMemory: () => true }).mmapBytes).toBe(0);
  });

  it('on Linux without a read-ahead to read (btrfs, overlay), maps a file held in memory only', () => {
    const f = dataFile();
    const plan = readPlan(f, { sysfs: sysfsWith(f, null), platform: 'linux', ...onDisk });
    expect(plan).toMatchObject({ mmapBytes: 0, readAheadKb: null });
    expect(plan.note).toContain('does not show its disk');
    expect(readPlan(f, { sysfs: sysfsWith(f, null), platform: 'linux', inMemory: () => true })).toEqual({ mmapBytes: MMAP_BYTES, readAheadKb: null, note: null });
  });

  it.runIf(linux && existsSync('/dev/shm') && statfsSync('/dev/shm').type === 0x01021994)('tells a file on tmpfs from one on a disk', (ctx) => {
    const dir = mkdtempSync('/dev/shm/dar-read-ahead-');
    folders.push(dir);
    const f = join(dir, 'register.sqlite');
    writeFileSync(f, '');
    expect(heldInMemory(f)).toBe(true);
    expect(readPlan(f, { sysfs: sysfsWith(f, null) })).toEqual({ mmapBytes: MMAP_BYTES, readAheadKb: null, note: null });
    // The repository's own folder: on a disk wherever the tests run from a clone (else skip).
    const here = join(import.meta.dirname, 'read-ahead.test.ts');
    if (statfsSync(here).type === 0x01021994) ctx.skip();
    expect(heldInMemory(here)).toBe(false);
    expect(heldInMemory(join(dir, 'missing'))).toBe(false);
  });

  it('keeps the map on macOS and Windows, where the limit was not measured', () => {
    const f = dataFile();
    for (const platform of ['darwin', 'win32'] as const) expect(readPlan(f, { sysfs: '/nonexistent', platform, ...onDisk })).toEqual({ mmapBytes: MMAP_BYTES, readAheadKb: null, note: null });
  });

  it('the database is opened with the plan’s map, either way', () => {
    for (const plan of [
      { mmapBytes: 0, readAheadKb: 8192, note: 'off' },
      { mmapBytes: MMAP_BYTES, readAheadKb: 128, note: null },
    ]) {
      const file = join(folder(), 'register.sqlite');
      const { sqlite, reads } = openDatabase(file, defaultConfig().migrationsFolder, () => plan);
      try {
        expect(reads).toEqual(plan);
        expect(sqlite.pragma('mmap_size', { simple: true })).toBe(plan.mmapBytes);
      } finally {
        sqlite.close();
      }
    }
    const { sqlite, reads } = openDatabase(':memory:', defaultConfig().migrationsFolder, () => {
      throw new Error('an in-memory database has no disk to plan for');
    });
    expect(reads).toEqual({ mmapBytes: 0, readAheadKb: null, note: null });
    sqlite.close();
  });

  it('the register reads its file as this machine’s disk allows, and its start-up note says so', async () => {
    const dir = folder();
    const running = await createRegister({ ...defaultConfig(), dataDir: dir, port: 0, workers: false });
    try {
      const plan = readPlan(join(dir, 'register.sqlite'));
      expect(running.reg.sqlite!.pragma('mmap_size', { simple: true })).toBe(plan.mmapBytes);
      expect(running.storageNote).toBe(plan.note);
    } finally {
      await running.close();
    }
  });
});
