import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOCK_FOLLOW_MS } from '../src/server/services/settings.js';
import { testRegister, type TestRegister } from './support/register.js';

/**
 * A register follows the sandbox clock offset other nodes write (services/settings.ts
 * followClockOffset), but never takes its own newer change back: on PostgreSQL its follower can
 * read the row just before its own write commits, and applying that stale row once set an
 * advanced clock back to an earlier step (seen in CI as offset 29377584 instead of 3 days).
 */
const DAY = 86_400_000;
let r: TestRegister | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

const writeRow = (reg: TestRegister['reg'], value: number, updatedAt: string) => {
  const { settings } = reg.store.tables;
  return reg.tx(() =>
    reg.db
      .update(settings)
      .set({ value: String(value), updatedAt })
      .where(eq(settings.key, 'sandbox-clock-offset-ms')),
  );
};
const pollOnce = () => new Promise((resolve) => setTimeout(resolve, CLOCK_FOLLOW_MS * 2 + 100));

describe('following the sandbox clock offset', () => {
  it('ignores a row older than its own last change, and follows a newer one', async () => {
    r = await testRegister();
    const moved = await r.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 3 * 86400 });
    expect(moved.status).toBe(200);
    expect(r.reg.clock.offset).toBe(3 * DAY);

    // What a read from before that change committed sees: an earlier value, written earlier.
    await writeRow(r.reg, 5 * 60_000, new Date(Date.now() - 60_000).toISOString());
    await pollOnce();
    expect(r.reg.clock.offset).toBe(3 * DAY);

    // Another node's later change is followed.
    await writeRow(r.reg, 4 * DAY, new Date(Date.now() + 1000).toISOString());
    await pollOnce();
    expect(r.reg.clock.offset).toBe(4 * DAY);
  });
});
