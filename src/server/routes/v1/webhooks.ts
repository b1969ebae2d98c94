import { Type } from 'typebox';
import { ownership } from '../../http/auth.js';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { testResultToApi } from '../../services/delivery-worker.js';
import { idPattern } from '../../../shared/values.js';
import { Ok } from '../../../shared/schemas/common.js';
import { CreateWebhookBody, SigningSecret, TestEventBody, TestEventResult, UpdateWebhookBody, WebhookSubscription, WidParams } from '../../../shared/schemas/webhook.js';

/** /v1/webhooks — a Data User's webhook subscriptions (contract §9). */
const webhooksRoutes: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['webhooks'] };
  // Another Data User's subscription is "not found" before the body is looked at (http/auth.ts).
  const ownWid = ownership('wid', idPattern('wid'), (account, wid) => svc.webhooks.getOwned(account.duid, wid));

  app.post(
    '/webhooks',
    {
      schema: {
        ...common,
        summary: 'Subscribe to consent.expiring, tenancy.change and consent.withdrawal events (signing-secret returned once)',
        body: CreateWebhookBody,
        response: { 201: Ok({ webhook: WebhookSubscription, 'signing-secret': SigningSecret }) },
      },
    },
    async (req, reply) => {
      const { row, secret } = await svc.webhooks.create(req.account, req.body);
      reply.status(201).header('Location', `/v1/webhooks/${row.wid}`);
      return { response: envelope(req, reg.clock.now()), webhook: svc.webhooks.toApi(row), 'signing-secret': secret };
    },
  );

  app.get('/webhooks', { schema: { ...common, summary: 'Your webhook subscriptions', response: { 200: Ok({ webhooks: Type.Array(WebhookSubscription) }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    webhooks: (await svc.webhooks.list(req.account.duid)).map((w) => svc.webhooks.toApi(w)),
  }));

  app.get('/webhooks/:wid', { schema: { ...common, summary: 'One of your webhook subscriptions', params: WidParams, response: { 200: Ok({ webhook: WebhookSubscription }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    webhook: svc.webhooks.toApi(await svc.webhooks.getOwned(req.account.duid, req.params.wid)),
  }));

  app.patch(
    '/webhooks/:wid',
    {
      onRequest: ownWid,
      schema: {
        ...common,
        summary: 'Partial update; "rotate-secret": true returns a new signing-secret. For 15 minutes X-DAR-Signature stays under the old secret and X-DAR-Signature-New carries the new one',
        params: WidParams,
        body: UpdateWebhookBody,
        response: { 200: Ok({ webhook: WebhookSubscription, 'signing-secret': Type.Optional(SigningSecret) }) },
      },
    },
    async (req) => {
      const { row, secret } = await svc.webhooks.update(req.account, req.params.wid, req.body);
      return { response: envelope(req, reg.clock.now()), webhook: svc.webhooks.toApi(row), ...(secret ? { 'signing-secret': secret } : {}) };
    },
  );

  app.delete('/webhooks/:wid', { schema: { ...common, summary: 'Delete a subscription (its queued events are not sent)', params: WidParams, response: { 204: Type.Null() } } }, async (req, reply) => {
    await svc.webhooks.remove(req.account, req.params.wid);
    return reply.status(204).send(null);
  });

  app.post(
    '/webhooks/:wid/test',
    {
      onRequest: ownWid,
      schema: {
        ...common,
        summary: 'Send a test event of a chosen type (default webhook.test) to the subscription now and report the outcome: a sample payload, signed like a real delivery, with X-DAR-Test: true; never queued or retried',
        params: WidParams,
        // No body at all (Fastify validates it as null) means webhook.test, as before.
        body: Type.Union([TestEventBody, Type.Null()]),
        response: { 200: TestEventResult },
      },
    },
    async (req) => {
      const sub = await svc.webhooks.getOwned(req.account.duid, req.params.wid);
      return { response: envelope(req, reg.clock.now()), ...testResultToApi(await svc.delivery.sendTest(sub, req.body?.['event-type'])) };
    },
  );
};
export default webhooksRoutes;
