import { randomBytes } from 'node:crypto';
import type { IdPrefix } from '../../shared/values.js';

// Performance (see docs/performance.md): every request gets a transaction id, and a randomBytes() call per id
// (a synchronous trip into OpenSSL) showed up in profiles. Ids are cut from a pool of CSPRNG
// bytes refilled 3 KiB at a time; each byte is used once, so ids are exactly as random as before.
const POOL_IDS = 256;
let pool = Buffer.alloc(0);
let offset = 0;

/** A public identifier: prefix + '_' + 24 random lowercase hex characters. */
export function newId(prefix: IdPrefix): string {
  if (offset + 12 > pool.length) {
    pool = randomBytes(12 * POOL_IDS);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + 12);
  offset += 12;
  return `${prefix}_${hex}`;
}

/** A random URL-safe secret of `bytes` bytes of entropy. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
