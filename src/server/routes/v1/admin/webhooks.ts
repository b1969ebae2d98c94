import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { seqPage } from '../../../http/paging.js';
import { adminListResponse } from './lists.js';
import type { RouteModule } from '../../../http/types.js';
import { Id, Ok, PagingQuery } from '../../../../shared/schemas/common.js';
import { AdminWebhookSubscription, CreateWebhookBody, SigningSecret, TestEventBody, TestEventResult, UpdateWebhookBody, WidParams } from '../../../../shared/schemas/webhook.js';
import { testResultToApi } from '../../../services/delivery-worker.js';
import type { WebhookRow } from '../../../services/webhooks.js';

const AdminCreateWebhookBody = Type.Object({ duid: { ...Id('duid'), description: 'The Data User the subscription is for' }, ...CreateWebhookBody.properties }, { additionalProperties: false });

/**
 * /v1/admin/webhooks — every live webhook subscription (contract §10), and an
 * administrator managing a chosen Data User's subscriptions for it [ours]: the same rules
 * as the Data User's own /v1/webhooks routes, audited with the administrator as actor and
 * the Data User as `for-duid`.
 */
const adminWebhooks: RouteModule = (app, { reg, svc }) => {
  const view = (w: WebhookRow) => ({ ...svc.webhooks.toApi(w), duid: w.duid });

  app.get(
    '/admin/webhooks',
    {
      schema: {
        summary: 'Webhook subscriptions of all Data Users, newest first (never their signing secrets)',
        querystring: Type.Object({ duid: Type.Optional(Id('duid')), ...PagingQuery }, { additionalProperties: false }),
        response: { 200: adminListResponse('webhooks', AdminWebhookSubscription) },
      },
    },
    async (req) => {
      const { rows, total, nextCursor } = await svc.webhooks.adminList({
        duid: req.query.duid,
        ...seqPage(req.query),
      });
      return { response: envelope(req, reg.clock.now()), webhooks: rows.map(view), total, 'next-cursor': nextCursor };
    },
  );

  app.post(
    '/admin/webhooks',
    {
      schema: {
        summary: 'Create a webhook subscription for a Data User (duid); the signing-secret is returned once',
        body: AdminCreateWebhookBody,
        response: { 201: Ok({ webhook: AdminWebhookSubscription, 'signing-secret': SigningSecret }) },
      },
    },
    async (req, reply) => {
      const { duid, ...body } = req.body;
      const { row, secret } = await svc.webhooks.create(await svc.webhooks.dataUserAccount(duid), body, req.account.accountId);
      reply.status(201).header('Location', `/v1/admin/webhooks/${row.wid}`);
      return { response: envelope(req, reg.clock.now()), webhook: view(row), 'signing-secret': secret };
    },
  );

  app.get('/admin/webhooks/:wid', { schema: { summary: "One Data User's webhook subscription", params: WidParams, response: { 200: Ok({ webhook: AdminWebhookSubscription }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    webhook: view((await svc.webhooks.getForAdmin(req.params.wid)).row),
  }));

  app.patch(
    '/admin/webhooks/:wid',
    {
      schema: {
        summary: "Edit, pause (active: false), resume or rotate (rotate-secret: true, the new secret returned once) a Data User's subscription",
        params: WidParams,
        body: UpdateWebhookBody,
        response: { 200: Ok({ webhook: AdminWebhookSubscription, 'signing-secret': Type.Optional(SigningSecret) }) },
      },
    },
    async (req) => {
      const { account } = await svc.webhooks.getForAdmin(req.params.wid);
      const { row, secret } = await svc.webhooks.update(account, req.params.wid, req.body, req.account.accountId);
      return { response: envelope(req, reg.clock.now()), webhook: view(row), ...(secret ? { 'signing-secret': secret } : {}) };
    },
  );

  app.delete('/admin/webhooks/:wid', { schema: { summary: "Delete a Data User's subscription (its queued events are not sent)", params: WidParams, response: { 204: Type.Null() } } }, async (req, reply) => {
    const { account } = await svc.webhooks.getForAdmin(req.params.wid);
    await svc.webhooks.remove(account, req.params.wid, req.account.accountId);
    return reply.status(204).send(null);
  });

  app.post(
    '/admin/webhooks/:wid/test',
    {
      schema: {
        summary: "Send a test event of a chosen type to a Data User's subscription now (signed like a delivery, X-DAR-Test: true, never queued or retried)",
        params: WidParams,
        body: Type.Union([TestEventBody, Type.Null()]),
        response: { 200: TestEventResult },
      },
    },
    async (req) => {
      const { row } = await svc.webhooks.getForAdmin(req.params.wid);
      const result = await svc.delivery.sendTest(row, req.body?.['event-type']);
      await reg.tx(() =>
        reg.audit.append({ actor: req.account.accountId, eventType: 'webhook.test-sent', subject: row.wid, detail: { 'event-id': result.eventId, 'event-type': result.eventType, 'for-duid': row.duid, delivered: result.ok } }),
      );
      return { response: envelope(req, reg.clock.now()), ...testResultToApi(result) };
    },
  );
};
export default adminWebhooks;
