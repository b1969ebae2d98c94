import type { Register } from '../context.js';
import { conflict } from '../lib/errors.js';
import type { DeliveryWorker } from './delivery-worker.js';
import { saveClockOffset } from './settings.js';
import type { Sweeper } from './sweeper.js';

/**
 * Due instants one clock change steps through at most. Each step is one sweep plus the
 * deliveries due then; past the bound the clock jumps to the target and everything still
 * due runs there at once (the outcome is the same, only coarser in time).
 */
export const MAX_CLOCK_STEPS = 1000;

export interface CatchUp {
  /** Due instants the clock stopped at on its way to the target. */
  steps: number;
  'webhook-attempts': number;
  'records-expired': number;
  'expiring-notices-queued': number;
  /** True when MAX_CLOCK_STEPS was reached before the target. */
  capped: boolean;
}

/**
 * The sandbox clock moving forward [ours]. A real register meets every due moment as it
 * comes: a retry 1 minute after a failure, the next one 5 minutes after that, a consent
 * entering its notice window, an expiry. Jumping the clock must not squash those into one
 * moment (six attempts would need six jumps), so the clock is stepped through each due
 * instant up to the target in order: set the clock there, sweep, deliver until nothing is
 * due or in flight, find the next due instant, repeat.
 */
export class SandboxClock {
  private moving = false;

  constructor(
    private readonly reg: Register,
    private readonly sweeper: Sweeper,
    private readonly delivery: DeliveryWorker,
  ) {}

  /** True while a clock change is catching up (a snapshot restore must wait for it). */
  get busy(): boolean {
    return this.moving;
  }

  /**
   * Moves the clock forward to the offset `targetOffsetMs` from real time, running
   * everything due on the way. The offset (not an instant) is the target so the clock ends
   * exactly where an advance of N seconds puts it, however long the steps took.
   */
  async moveTo(targetOffsetMs: number): Promise<CatchUp> {
    if (this.moving) throw conflict('The sandbox clock is already moving; try again when that change has finished');
    this.moving = true;
    const out: CatchUp = { steps: 0, 'webhook-attempts': 0, 'records-expired': 0, 'expiring-notices-queued': 0, capped: false };
    try {
      await this.runDueNow(out);
      for (;;) {
        const next = [await this.delivery.nextDueAt(), await this.sweeper.nextDueAt()].filter((t): t is string => !!t).sort()[0];
        if (!next) break;
        const at = Date.parse(next);
        if (at >= Date.now() + targetOffsetMs) break;
        // Nothing due now is left undone after runDueNow, so a due time not after now means
        // no progress can be made here (e.g. a delivery still leased): go on to the target.
        if (at <= this.reg.clock.now().getTime()) break;
        if (out.steps >= MAX_CLOCK_STEPS) {
          out.capped = true;
          break;
        }
        await this.setAt(at);
        out.steps++;
        await this.runDueNow(out);
      }
      await this.reg.tx(() => saveClockOffset(this.reg, targetOffsetMs));
      await this.runDueNow(out);
      return out;
    } finally {
      this.moving = false;
    }
  }

  /** Back to real time (a sandbox may go back only this way); then runs what is due. */
  async reset(): Promise<CatchUp> {
    const out: CatchUp = { steps: 0, 'webhook-attempts': 0, 'records-expired': 0, 'expiring-notices-queued': 0, capped: false };
    await this.reg.tx(() => saveClockOffset(this.reg, 0));
    await this.runDueNow(out);
    return out;
  }

  private async setAt(ms: number): Promise<void> {
    await this.reg.tx(() => saveClockOffset(this.reg, ms - Date.now()));
  }

  private async runDueNow(out: CatchUp): Promise<void> {
    const s = await this.sweeper.run();
    out['records-expired'] += s.expired + s.discoveredExpired;
    out['expiring-notices-queued'] += s.expiringQueued;
    out['webhook-attempts'] += await this.delivery.runDue();
  }
}
