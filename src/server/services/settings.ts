import { eq } from 'drizzle-orm';
import type { Register } from '../context.js';
import { settings } from '../db/schema.js';

const CLOCK_OFFSET = 'sandbox-clock-offset-ms';

/** Applies persisted settings at start-up (e.g. a sandbox clock that was advanced). */
export function loadSettings(reg: Register): void {
  const row = reg.db.select().from(settings).where(eq(settings.key, CLOCK_OFFSET)).get();
  if (row && reg.config.mode === 'sandbox') reg.clock.setOffset(Number(row.value) || 0);
}

/** Sandbox only: moves the register's "now" and remembers it across restarts. */
export function saveClockOffset(reg: Register, offsetMs: number): void {
  reg.clock.setOffset(offsetMs);
  const now = new Date().toISOString();
  reg.db
    .insert(settings)
    .values({ key: CLOCK_OFFSET, value: String(offsetMs), updatedAt: now })
    .onConflictDoUpdate({ target: settings.key, set: { value: String(offsetMs), updatedAt: now } })
    .run();
}
