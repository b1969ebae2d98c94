import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { Id, NextCursor, Ok, PagingQuery } from '../../../schemas/common.js';
import { AdminWebhookSubscription } from '../../../schemas/webhook.js';

/** GET /v1/admin/webhooks — every live webhook subscription, optionally for one Data User (contract §10). */
const adminWebhooks: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/admin/webhooks',
    {
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: 'Webhook subscriptions of all Data Users, newest first (never their signing secrets)',
        querystring: Type.Object({ duid: Type.Optional(Id('duid')), ...PagingQuery }, { additionalProperties: false }),
        response: { 200: Ok({ webhooks: Type.Array(AdminWebhookSubscription), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      const { rows, total, nextCursor } = svc.webhooks.adminList({
        duid: req.query.duid,
        limit: req.query.limit ?? 200,
        cursor: req.query.cursor ? Number(req.query.cursor) : undefined,
      });
      return {
        response: envelope(req, reg.clock.now()),
        webhooks: rows.map((w) => ({ ...svc.webhooks.toApi(w), duid: w.duid })),
        total,
        'next-cursor': nextCursor,
      };
    },
  );
};
export default adminWebhooks;
