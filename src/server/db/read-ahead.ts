import { readFileSync, statfsSync, statSync } from 'node:fs';

/** How much of the database file SQLite reads through a memory map (its compiled-in maximum). */
export const MMAP_BYTES = 2147418112;

/**
 * The largest read-ahead (KiB) of the database's disk at which the register still reads its
 * SQLite file through a memory map: the Linux kernel's default.
 *
 * Why there is a limit (docs/performance.md "the map on a cold page cache"): when a mapped page
 * is not in the page cache, the page fault makes Linux read about `read_ahead_kb` around it,
 * where a `pread()` of a random page reads that page alone. Warm, the map saves about a quarter
 * of a verify's CPU. Cold, on a disk reading ahead 8,192 KiB whose reads were capped at 30 MB/s
 * (a cloud disk's baseline), a 1M-record register read 22–33 MB per verify through the map and
 * answered one verify a second, against 798–849 without it.
 */
export const MAX_READ_AHEAD_KB_FOR_MMAP = 128;

/** statfs(2) `f_type` of the filesystems that keep files in memory: no disk, nothing read ahead. */
const MEMORY_FILESYSTEMS = new Set([0x01021994n /* tmpfs */, 0x858458f6n /* ramfs */]);

/** How the register reads its SQLite file, and why. */
export interface ReadPlan {
  /** `PRAGMA mmap_size`: MMAP_BYTES, or 0 (every page by pread()). */
  mmapBytes: number;
  /** The read-ahead of the file's disk in KiB; null when it cannot be told. */
  readAheadKb: number | null;
  /** Said at start when the map is off (the start-up lines); null when it is on. */
  note: string | null;
}

/**
 * The read plan for the database `file`:
 * - a known read-ahead: the map up to MAX_READ_AHEAD_KB_FOR_MMAP, none above;
 * - not Linux (macOS and Windows, where the desktop app also runs): the map, as the limit is about
 *   Linux's read-around, which is what was measured;
 * - Linux, read-ahead unknown: the map only on a filesystem held in memory (tmpfs, ramfs). btrfs
 *   (its own read-ahead is at least 4 MiB) and a container's overlay layer do not show their
 *   disk's read-ahead under the file's device number, so they read without the map.
 * The options are for tests: a tree laid out like /sys, another platform, another answer to
 * "is this file held in memory".
 */
export function readPlan(file: string, options: { sysfs?: string; platform?: NodeJS.Platform; inMemory?: (file: string) => boolean } = {}): ReadPlan {
  const { sysfs = '/sys', platform = process.platform, inMemory = heldInMemory } = options;
  if (platform !== 'linux') return withMap(null);
  const readAhead = readAheadKb(file, sysfs);
  if (readAhead !== null) {
    if (readAhead <= MAX_READ_AHEAD_KB_FOR_MMAP) return withMap(readAhead);
    return withoutMap(readAhead, `this disk reads ahead ${readAhead} KiB around each page fault, more than the ${MAX_READ_AHEAD_KB_FOR_MMAP} KiB the map is used with`);
  }
  if (inMemory(file)) return withMap(null);
  return withoutMap(null, "this filesystem does not show its disk's read-ahead (btrfs, a container's overlay?), so it may read far ahead around each page fault");
}

const withMap = (readAheadKb: number | null): ReadPlan => ({ mmapBytes: MMAP_BYTES, readAheadKb, note: null });
const withoutMap = (readAheadKb: number | null, why: string): ReadPlan => ({ mmapBytes: 0, readAheadKb, note: `memory-mapped reads off: ${why} (docs/performance.md "Memory and mmap_size")` });

/** Whether `file` is on tmpfs or ramfs. `f_type` as 32 bits: a signed C int on 32-bit Linux. */
export function heldInMemory(file: string): boolean {
  try {
    return MEMORY_FILESYSTEMS.has(BigInt.asUintN(32, statfsSync(file, { bigint: true }).type));
  } catch {
    return false;
  }
}

/**
 * How far Linux reads ahead on the disk holding `file`, in KiB, from sysfs; null when that cannot
 * be told (no sysfs, a filesystem without a block device of its own). Looked up, in this order,
 * for the file's device `major:minor`:
 * - `/sys/class/bdi/<major:minor>/read_ahead_kb`: the filesystem's backing device (a whole
 *   disk, a device-mapper or md volume, or a filesystem such as NFS with a device of its own);
 * - `/sys/dev/block/<major:minor>/queue/read_ahead_kb`: the block device's queue;
 * - `/sys/dev/block/<major:minor>/../queue/read_ahead_kb`: a partition's disk (the kernel
 *   resolves `..` after following the link to the partition's folder inside its disk's).
 */
export function readAheadKb(file: string, sysfs = '/sys'): number | null {
  let dev: bigint;
  try {
    dev = statSync(file, { bigint: true }).dev;
  } catch {
    return null;
  }
  const { major, minor } = deviceNumbers(dev);
  const id = `${major}:${minor}`;
  for (const path of [`${sysfs}/class/bdi/${id}/read_ahead_kb`, `${sysfs}/dev/block/${id}/queue/read_ahead_kb`, `${sysfs}/dev/block/${id}/../queue/read_ahead_kb`]) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch {
      continue;
    }
    if (/^\d+$/.test(text)) return Number(text);
  }
  return null;
}

/** A Linux `dev_t` split into its major and minor numbers (glibc's `major()` and `minor()`). */
export function deviceNumbers(dev: bigint): { major: bigint; minor: bigint } {
  return {
    major: ((dev & 0x00000000000fff00n) >> 8n) | ((dev & 0xfffff00000000000n) >> 32n),
    minor: (dev & 0x00000000000000ffn) | ((dev & 0x00000ffffff00000n) >> 12n),
  };
}
