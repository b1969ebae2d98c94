import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Register } from '../context.js';
import { newId } from '../lib/ids.js';

export type EventType = 'consent.withdrawal' | 'consent.expiring' | 'tenancy.change';

/**
 * Queues webhook events in the durable outbox. `publish` must be called inside the
 * transaction that makes the state change, so the event commits with it or not at all;
 * the delivery worker picks the rows up afterwards.
 */
export class EventPublisher {
  private readonly subscriptions;

  constructor(private readonly reg: Register) {
    this.subscriptions = reg.store.prepare('events.subscriptions', (db, { webhooks }) =>
      db
        .select()
        .from(webhooks)
        .where(and(eq(webhooks.duid, sql.placeholder('duid')), eq(webhooks.active, true), isNull(webhooks.deletedAt))),
    );
  }

  /** Queues one delivery per active subscription of `duid` that takes `type`. Returns the event ids. */
  async publish(duid: string, type: EventType, payload: Record<string, unknown>, ak: string | null = null): Promise<string[]> {
    const now = this.reg.clock.iso();
    const ids: string[] = [];
    for (const sub of await this.subscriptions.execute({ duid })) {
      if (!sub.eventTypes.includes(type)) continue;
      const eventId = await this.insert(sub.wid, duid, type, payload, ak, now);
      if (eventId) ids.push(eventId);
    }
    if (ids.length) this.wakeDelivery();
    return ids;
  }

  /**
   * Queues one event for one subscription (consent.expiring: the sweeper decides per
   * subscription). Returns null when the outbox already holds that (wid, ak) expiring
   * notice — the partial unique index makes "once per record and subscription" hold.
   */
  async publishTo(sub: { wid: string; duid: string }, type: EventType, payload: Record<string, unknown>, ak: string | null = null): Promise<string | null> {
    const eventId = await this.insert(sub.wid, sub.duid, type, payload, ak, this.reg.clock.iso());
    if (eventId) this.wakeDelivery();
    return eventId;
  }

  private async insert(wid: string, duid: string, type: EventType, payload: Record<string, unknown>, ak: string | null, now: string): Promise<string | null> {
    const { webhookDeliveries } = this.reg.store.tables;
    const eventId = newId('evt');
    const inserted = await this.reg.db
      .insert(webhookDeliveries)
      .values({ eventId, wid, duid, eventType: type, ak, payload, occurredAt: now, status: 'pending', nextAttemptAt: now, createdAt: now })
      .onConflictDoNothing()
      .returning({ eventId: webhookDeliveries.eventId });
    return inserted.length ? eventId : null;
  }

  /** Once the publishing unit has committed, and outside it: the worker's claims are units of their own. */
  private wakeDelivery(): void {
    if (this.onPublished) this.reg.store.afterCommit(() => this.onPublished?.());
  }

  /**
   * Set by the delivery worker to be woken when something is queued; called after the
   * publishing unit has committed.
   */
  onPublished?: () => void;
}
