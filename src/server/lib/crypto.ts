import { availableParallelism } from 'node:os';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// scrypt parameters: N=2^15 costs ~50 ms and 32 MiB per hash on this class of machine.
const SCRYPT_N = 1 << 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SCRYPT_KEYLEN = 32;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

/**
 * Memory (docs/performance.md): each scrypt hash holds 32 MiB while it runs, and libuv's 4 threads let
 * four run at once (+128 MiB RSS under a burst of logins). Hashes are CPU-bound, so running
 * more of them at once than there are cores adds memory but no throughput, and the event
 * loop needs a core of its own to keep answering everything else meanwhile: at most
 * cores − 1 (at least 1, at most 4) run together and the rest wait their turn, in order.
 * Same results. On 2 cores that is one hash at a time: a burst of logins peaked at 64 MiB
 * of scrypt memory with two.
 */
const SCRYPT_PARALLEL = Math.max(1, Math.min(availableParallelism() - 1, 4));
let scryptRunning = 0;
const scryptQueue: (() => void)[] = [];

async function scryptAsync(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  if (scryptRunning >= SCRYPT_PARALLEL) await new Promise<void>((go) => scryptQueue.push(go));
  else scryptRunning++;
  try {
    return await new Promise<Buffer>((resolve, reject) => scrypt(secret, salt, SCRYPT_KEYLEN, { N: n, r, p, maxmem: SCRYPT_MAXMEM }, (err, key) => (err ? reject(err) : resolve(key))));
  } finally {
    const next = scryptQueue.shift();
    // Hand the slot straight to the next waiter (the running count stays the same).
    if (next) next();
    else scryptRunning--;
  }
}

/** Slow salted hash of an account secret: `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P);
  return ['scrypt', SCRYPT_N, SCRYPT_R, SCRYPT_P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash of a secret that has no stored counterpart, so unknown accounts cost the same time. */
export const DUMMY_SECRET_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function hmacHex(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex');
}

/** AES-256-GCM: `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export function encrypt(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

export function decrypt(key: Buffer, sealed: string): string {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== 'v1') throw new Error('unknown ciphertext version');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
