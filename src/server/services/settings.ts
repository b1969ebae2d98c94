import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Register } from '../context.js';
import { settings } from '../db/schema.js';
import { hmacHex } from '../lib/crypto.js';
import type { RegisterKeys } from '../lib/keys.js';

const CLOCK_OFFSET = 'sandbox-clock-offset-ms';
const KEY_FINGERPRINT = 'key-fingerprint';
/** How often a register re-reads the sandbox clock offset another node may have moved. */
export const CLOCK_FOLLOW_MS = 500;

/** The stored offset row (value and when it was written), or null. */
function storedOffset(reg: Register): { value: string; updatedAt: string } | null {
  return reg.db.select({ value: settings.value, updatedAt: settings.updatedAt }).from(settings).where(eq(settings.key, CLOCK_OFFSET)).get() ?? null;
}

/**
 * Applies the stored sandbox clock offset to this register's clock: the one place the offset is
 * read (start-up, after a snapshot restore or reset, and by `followClockOffset`). On PostgreSQL
 * a NOTIFY from the node that moved it will call this too.
 */
export function loadSettings(reg: Register): void {
  if (reg.config.mode !== 'sandbox') return;
  const row = storedOffset(reg);
  reg.clock.setOffset(row ? Number(row.value) || 0 : 0);
}

/**
 * Several nodes share one database, and so one sandbox clock: a node that moves it writes the
 * offset (saveClockOffset); every other node re-reads the row every CLOCK_FOLLOW_MS and applies
 * it when it has changed, so all agree within about half a second. (Only a change is applied:
 * the row is the clock's history, not a lock on it.) Reading one settings row by its key costs
 * microseconds. Returns the stop function.
 */
export function followClockOffset(reg: Register): () => void {
  if (reg.config.mode !== 'sandbox') return () => undefined;
  const seen = (row: { value: string; updatedAt: string } | null) => (row ? `${row.value}@${row.updatedAt}` : '');
  let last = seen(storedOffset(reg));
  const timer = setInterval(() => {
    if (!reg.sqlite.open) return;
    const now = seen(storedOffset(reg));
    if (now === last) return;
    last = now;
    loadSettings(reg);
  }, CLOCK_FOLLOW_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Sandbox only: moves the register's "now" and remembers it across restarts (and for the other nodes). */
export function saveClockOffset(reg: Register, offsetMs: number): void {
  reg.clock.setOffset(offsetMs);
  const now = new Date().toISOString();
  reg.db
    .insert(settings)
    .values({ key: CLOCK_OFFSET, value: String(offsetMs), updatedAt: now })
    .onConflictDoUpdate({ target: settings.key, set: { value: String(offsetMs), updatedAt: now } })
    .run();
}

/** A fingerprint of the key file's keys: HMACs of a constant, hashed together (reveals no key). */
export function keyFingerprint(keys: RegisterKeys): string {
  const h = createHash('sha256');
  for (const k of [keys.jwtSecret, keys.emailHmacKey, keys.encryptionKey, keys.signingKey]) h.update(hmacHex(k, 'dar-key-fingerprint'));
  return h.digest('hex');
}

export class KeyMismatchError extends Error {}

/**
 * The database remembers the fingerprint of the key file it was first written with; a register
 * (a node) started with another key file refuses it, rather than writing audit events, e-mail
 * hashes and encrypted fields no other node could read. Several nodes starting at once: the
 * first insert wins (insert-or-ignore), and every node then compares with what is stored.
 * Also re-recorded after a sandbox reset or restore, which replace the settings table.
 */
export function checkKeyFingerprint(reg: Register): void {
  const mine = keyFingerprint(reg.keys);
  reg.db.insert(settings).values({ key: KEY_FINGERPRINT, value: mine, updatedAt: new Date().toISOString() }).onConflictDoNothing().run();
  const stored = reg.db.select({ value: settings.value }).from(settings).where(eq(settings.key, KEY_FINGERPRINT)).get()!.value;
  if (stored !== mine) throw new KeyMismatchError(`the key file does not belong to this database: the database was written with a key file whose fingerprint starts ${stored.slice(0, 12)}, this one's starts ${mine.slice(0, 12)}`);
}
