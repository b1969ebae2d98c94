import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { adminPage } from '../../../http/paging.js';
import type { RouteModule } from '../../../http/types.js';
import { AdminDelivery } from '../../../../shared/schemas/admin.js';
import { AdminPagingQuery, Id, Ok } from '../../../../shared/schemas/common.js';
import { csvExportSchema, sendCsvExport } from '../../../http/csv-export.js';
import { adminListResponse, dataUserNameOf, DateQuery } from './lists.js';
import { Delivery } from '../../../../shared/schemas/webhook.js';
import { DELIVERY_STATUSES } from '../../../../shared/vocabulary.js';
import { DELIVERY_SORTS, MAX_BULK_REDELIVER, type AdminDeliveryFilters } from '../../../services/delivery-worker.js';

/** Filters and sort shared by the delivery list and its CSV export. */
const AdminDeliveryQuery = {
  wid: Type.Optional(Id('wid')),
  duid: Type.Optional(Id('duid')),
  'event-type': Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
  status: Type.Optional(Type.Enum([...DELIVERY_STATUSES])),
  from: Type.Optional(DateQuery('created on or after (date or date-time)')),
  to: Type.Optional(DateQuery('created on or before (a date includes its whole day)')),
  sort: Type.Optional(Type.Enum([...DELIVERY_SORTS], { description: 'created (default, newest first), next-attempt or status' })),
  order: AdminPagingQuery.order,
};

const filtersOf = (q: { wid?: string; duid?: string; 'event-type'?: string; status?: string; from?: string; to?: string; sort?: AdminDeliveryFilters['sort']; order?: 'asc' | 'desc' }): AdminDeliveryFilters => ({
  wid: q.wid,
  duid: q.duid,
  eventType: q['event-type'],
  status: q.status,
  from: q.from,
  to: q.to,
  sort: q.sort,
  order: q.order,
});

const CSV_HEADER = ['event-id', 'event-type', 'status', 'data-user', 'duid', 'wid', 'attempts', 'next-attempt-at', 'last-status-code', 'last-error', 'occurred-at', 'delivered-at'];

/** /v1/admin/deliveries — the webhook outbox with every attempt, and manual redelivery [ours]. */
const adminDeliveries: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/admin/deliveries',
    {
      schema: {
        summary: 'Webhook deliveries with their attempt logs: filter by wid, Data User (DUID), event type, status and creation date range; sort by created, next-attempt or status; keyset or offset paging',
        querystring: Type.Object({ ...AdminDeliveryQuery, ...AdminPagingQuery }, { additionalProperties: false }),
        response: { 200: adminListResponse('deliveries', AdminDelivery) },
      },
    },
    async (req) => {
      const q = req.query;
      const { deliveries, total, nextCursor } = await svc.delivery.list(filtersOf(q), adminPage(q));
      const nameOf = await dataUserNameOf(reg.db, deliveries, (d) => d.duid);
      return { response: envelope(req, reg.clock.now()), deliveries: deliveries.map((d) => ({ ...d, 'data-user-name': nameOf(d) })), total, 'next-cursor': nextCursor };
    },
  );

  app.get(
    '/admin/deliveries/export.csv',
    {
      schema: {
        ...csvExportSchema('delivery', Type.Object(AdminDeliveryQuery, { additionalProperties: false })),
      },
    },
    async (req, reply) => {
      const { total, chunks } = await svc.delivery.listAll(filtersOf(req.query));
      return sendCsvExport(reply, {
        filename: `webhook-deliveries-${reg.clock.iso().slice(0, 10)}.csv`,
        total,
        header: CSV_HEADER,
        chunks,
        rows: async (chunk) => {
          const nameOf = await dataUserNameOf(reg.db, chunk, (d) => d.duid);
          return chunk.map((d) => [d['event-id'], d['event-type'], d.status, nameOf(d), d.duid, d.wid, d.attempts, d['next-attempt-at'], d['last-status-code'], d['last-error'], d['occurred-at'], d['delivered-at']]);
        },
      });
    },
  );

  app.post(
    '/admin/deliveries/redeliver',
    {
      schema: {
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
      const { queued, eventIds } = await svc.delivery.redeliverMatching(req.account.accountId, { wid: req.body.wid, eventType: req.body['event-type'], status: req.body.status });
      return { response: envelope(req, reg.clock.now()), queued, 'event-ids': eventIds };
    },
  );

  app.post(
    '/admin/deliveries/:eventId/redeliver',
    {
      schema: {
        summary: 'Queue an event again now with the same event-id and a fresh retry schedule',
        params: Type.Object({ eventId: Id('evt') }),
        response: { 200: Ok({ delivery: Delivery }) },
      },
    },
    async (req) => {
      const row = await svc.delivery.redeliver(req.account.accountId, req.params.eventId);
      return { response: envelope(req, reg.clock.now()), delivery: (await svc.delivery.view(row.eventId))! };
    },
  );
};
export default adminDeliveries;
