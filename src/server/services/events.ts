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
      const eventId = newId('evt');
      this.reg.db
        .insert(webhookDeliveries)
        .values({ eventId, wid: sub.wid, duid, eventType: type, ak, payload, occurredAt: now, status: 'pending', nextAttemptAt: now, createdAt: now })
        .run();
      ids.push(eventId);
    }
    this.onPublished?.();
    return ids;
  }

  /** Set by the delivery worker to be woken when something is queued. */
  onPublished?: () => void;
}
