import { readFileSync, statSync } from 'node:fs';

/** How much of the database file SQLite reads through a memory map (its compiled-in maximum). */
export const MMAP_BYTES = 2147418112;

/**
 * The largest read-ahead (KiB) of the database's disk at which the register still reads its
 * SQLite file through a memory map: the Linux kernel's default.
 *
 * Why there is a limit (docs/performance.md "Memory and `mmap_size`"): when a mapped page is not
 * in the page cache, the page fault makes Linux read about `read_ahead_kb` around it, where a
 * `pread()` of a random page reads that page alone. With 128 KiB the map is the faster of the
 * two, warm or cold (a 1M-record register started with an empty page cache answered 581
 * verifies a second with the map, 200 without, in its first five seconds). On a disk set to
 * 8,192 KiB, the same start read 15–17 MB from the disk per verify and answered 9–13 verifies a
 * second with the map, 173–569 without; at 1,024 KiB it read 614 KiB per verify.
 */
export const MAX_READ_AHEAD_KB_FOR_MMAP = 128;

/**
 * How far Linux reads ahead on the disk holding `file`, in KiB, from sysfs; null when that cannot
 * be told (not Linux, no sysfs, a filesystem without a block device of its own). Looked up, in
 * this order, for the file's device `major:minor`:
 * - `/sys/class/bdi/<major:minor>/read_ahead_kb`: the filesystem's backing device (a whole
 *   disk, a device-mapper or md volume, or a filesystem such as NFS with a device of its own);
 * - `/sys/dev/block/<major:minor>/queue/read_ahead_kb`: the block device's queue;
 * - `/sys/dev/block/<major:minor>/../queue/read_ahead_kb`: a partition's disk.
 *
 * `sysfs` is for tests (a tree laid out like /sys).
 */
export function readAheadKb(file: string, sysfs = '/sys'): number | null {
  if (process.platform !== 'linux') return null;
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

/**
 * `PRAGMA mmap_size` for a database on a disk reading ahead `readAheadKb`: the map (MMAP_BYTES)
 * up to MAX_READ_AHEAD_KB_FOR_MMAP, none above it. Where the read-ahead is unknown (macOS and
 * Windows, where the desktop app also runs) the map is kept: the limit is about Linux's
 * read-around, which is what was measured.
 */
export function mmapBytesFor(readAheadKb: number | null): number {
  return readAheadKb === null || readAheadKb <= MAX_READ_AHEAD_KB_FOR_MMAP ? MMAP_BYTES : 0;
}
