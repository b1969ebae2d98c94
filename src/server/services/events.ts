import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Register } from '../context.js';
import { webhookDeliveries, webhooks } from '../db/schema.js';
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
    this.subscriptions = reg.db
      .select()
      .from(webhooks)
      .where(and(eq(webhooks.duid, sql.placeholder('duid')), eq(webhooks.active, true), isNull(webhooks.deletedAt)))
      .prepare();
  }

  /** Queues one delivery per active subscription of `duid` that takes `type`. Returns the event ids. */
  publish(duid: string, type: EventType, payload: Record<string, unknown>, ak: string | null = null): string[] {
    const now = this.reg.clock.iso();
    const ids: string[] = [];
    for (const sub of this.subscriptions.all({ duid })) {
      if (!sub.eventTypes.includes(type)) continue;
      const eventId = this.insert(sub.wid, duid, type, payload, ak, now);
      if (eventId) ids.push(eventId);
    }
    if (ids.length) this.onPublished?.();
    return ids;
  }

  /**
   * Queues one event for one subscription (consent.expiring: the sweeper decides per
   * subscription). Returns null when the outbox already holds that (wid, ak) expiring
   * notice — the partial unique index makes "once per record and subscription" hold.
   */
  publishTo(sub: { wid: string; duid: string }, type: EventType, payload: Record<string, unknown>, ak: string | null = null): string | null {
    const eventId = this.insert(sub.wid, sub.duid, type, payload, ak, this.reg.clock.iso());
    if (eventId) this.onPublished?.();
    return eventId;
  }

  private insert(wid: string, duid: string, type: EventType, payload: Record<string, unknown>, ak: string | null, now: string): string | null {
    const eventId = newId('evt');
    const inserted = this.reg.db
      .insert(webhookDeliveries)
      .values({ eventId, wid, duid, eventType: type, ak, payload, occurredAt: now, status: 'pending', nextAttemptAt: now, createdAt: now })
      .onConflictDoNothing()
      .returning({ eventId: webhookDeliveries.eventId })
      .all();
    return inserted.length ? eventId : null;
  }

  /**
   * Set by the delivery worker to be woken when something is queued. Called inside the
   * publishing transaction, so the listener must defer its work until after commit.
   */
  onPublished?: () => void;
}
