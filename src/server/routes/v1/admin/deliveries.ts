import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { Id, NextCursor, Ok, PagingQuery } from '../../../schemas/common.js';
import { DELIVERY_STATUSES, Delivery } from '../../../schemas/webhook.js';
import { MAX_BULK_REDELIVER } from '../../../services/delivery-worker.js';

/** /v1/admin/deliveries — the webhook outbox with every attempt, and manual redelivery [ours]. */
const adminDeliveries: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['admin'], security: [{ bearer: [] }] };

  app.get(
    '/admin/deliveries',
    {
      schema: {
        ...common,
        summary: 'Webhook deliveries, newest first, with their attempt logs (filter by wid, event type, status)',
        querystring: Type.Object(
          {
            wid: Type.Optional(Id('wid')),
            'event-type': Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
            status: Type.Optional(Type.Enum([...DELIVERY_STATUSES])),
            ...PagingQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Ok({ deliveries: Type.Array(Delivery), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      const q = req.query;
      const { deliveries, total, nextCursor } = svc.delivery.list({
        wid: q.wid,
        eventType: q['event-type'],
        status: q.status,
        limit: q.limit ?? 200,
        cursor: q.cursor ? Number(q.cursor) : undefined,
      });
      return { response: envelope(req, reg.clock.now()), deliveries, total, 'next-cursor': nextCursor };
    },
  );

  app.post(
    '/admin/deliveries/redeliver',
    {
      schema: {
        ...common,
        summary: `Bulk redelivery: queue again every event matching the filter (the list's) that is not already pending and whose subscription exists; same event-ids, fresh retry schedules; at most ${MAX_BULK_REDELIVER} per call`,
        body: Type.Object(
          {
            wid: Type.Optional(Id('wid')),
            'event-type': Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
            status: Type.Optional(Type.Enum(['delivered', 'undelivered'])),
          },
          { additionalProperties: false, minProperties: 1, description: 'At least one filter field, so a stray call cannot resend everything' },
        ),
        response: { 200: Ok({ queued: Type.Integer({ description: 'Events queued by this call' }), 'event-ids': Type.Array(Type.String()) }) },
      },
    },
    async (req) => {
      const { queued, eventIds } = svc.delivery.redeliverMatching(req.account.accountId, { wid: req.body.wid, eventType: req.body['event-type'], status: req.body.status });
      return { response: envelope(req, reg.clock.now()), queued, 'event-ids': eventIds };
    },
  );

  app.post(
    '/admin/deliveries/:eventId/redeliver',
    {
      schema: {
        ...common,
        summary: 'Queue an event again now with the same event-id and a fresh retry schedule',
        params: Type.Object({ eventId: Id('evt') }),
        response: { 200: Ok({ delivery: Delivery }) },
      },
    },
    async (req) => {
      const row = svc.delivery.redeliver(req.account.accountId, req.params.eventId);
      return { response: envelope(req, reg.clock.now()), delivery: svc.delivery.view(row.eventId)! };
    },
  );
};
export default adminDeliveries;
