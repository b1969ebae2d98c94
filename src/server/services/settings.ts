import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Register } from '../context.js';
import { hmacHex } from '../lib/crypto.js';
import type { RegisterKeys } from '../lib/keys.js';

const CLOCK_OFFSET = 'sandbox-clock-offset-ms';
const KEY_FINGERPRINT = 'key-fingerprint';
/** How often a register re-reads the sandbox clock offset another node may have moved. */
export const CLOCK_FOLLOW_MS = 500;

/** Per register: when it last wrote the offset itself (the row's updatedAt), for followClockOffset. */
const ownWrites = new WeakMap<Register, string>();

/** The stored offset row (value and when it was written), or null. */
async function storedOffset(reg: Register): Promise<{ value: string; updatedAt: string } | null> {
  const { settings } = reg.store.tables;
  const [row] = await reg.db.select({ value: settings.value, updatedAt: settings.updatedAt }).from(settings).where(eq(settings.key, CLOCK_OFFSET));
  return row ?? null;
}

/**
 * Applies the stored sandbox clock offset to this register's clock: the one place the offset is
 * read (start-up, after a snapshot restore or reset, and by `followClockOffset`, which is how
 * the other nodes learn of a change, on either engine).
 */
export async function loadSettings(reg: Register): Promise<void> {
  if (reg.config.mode !== 'sandbox') return;
  const row = await storedOffset(reg);
  reg.clock.setOffset(row ? Number(row.value) || 0 : 0);
}

/**
 * Several nodes share one database, and so one sandbox clock: a node that moves it writes the
 * offset (saveClockOffset); every other node re-reads the row every CLOCK_FOLLOW_MS and applies
 * it when it has changed, so all agree within about half a second. (Only a change is applied:
 * the row is the clock's history, not a lock on it.) Reading one settings row by its key costs
 * microseconds. Returns the stop function.
 */
export async function followClockOffset(reg: Register): Promise<() => void> {
  if (reg.config.mode !== 'sandbox') return () => undefined;
  const seen = (row: { value: string; updatedAt: string } | null) => (row ? `${row.value}@${row.updatedAt}` : '');
  let last = seen(await storedOffset(reg));
  let stopped = false;
  const follow = async () => {
    const row = await storedOffset(reg);
    const now = seen(row);
    if (now === last || stopped) return;
    last = now;
    // A row older than this register's own last write was read before that write committed
    // (PostgreSQL's other connections see it only then): applying it would take the clock back
    // over the change this register just made. The next read finds the new row.
    if (row && row.updatedAt < (ownWrites.get(reg) ?? '')) return;
    reg.clock.setOffset(row ? Number(row.value) || 0 : 0);
  };
  const timer = setInterval(() => {
    // SQLite: the file is closed (the register is stopping). PostgreSQL: a failed read is caught below.
    if (reg.sqlite && !reg.sqlite.open) return;
    follow().catch(() => {
      // The database is closing or briefly unreachable: the next tick tries again.
    });
  }, CLOCK_FOLLOW_MS);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** Sandbox only: moves the register's "now" and remembers it across restarts (and for the other nodes). */
export async function saveClockOffset(reg: Register, offsetMs: number): Promise<void> {
  reg.clock.setOffset(offsetMs);
  const { settings } = reg.store.tables;
  const now = new Date().toISOString();
  ownWrites.set(reg, now);
  await reg.db
    .insert(settings)
    .values({ key: CLOCK_OFFSET, value: String(offsetMs), updatedAt: now })
    .onConflictDoUpdate({ target: settings.key, set: { value: String(offsetMs), updatedAt: now } });
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
export async function checkKeyFingerprint(reg: Register): Promise<void> {
  const { settings } = reg.store.tables;
  const mine = keyFingerprint(reg.keys);
  await reg.db.insert(settings).values({ key: KEY_FINGERPRINT, value: mine, updatedAt: new Date().toISOString() }).onConflictDoNothing();
  const [{ value: stored }] = await reg.db.select({ value: settings.value }).from(settings).where(eq(settings.key, KEY_FINGERPRINT));
  if (stored !== mine) throw new KeyMismatchError(`the key file does not belong to this database: the database was written with a key file whose fingerprint starts ${stored.slice(0, 12)}, this one's starts ${mine.slice(0, 12)}`);
}
