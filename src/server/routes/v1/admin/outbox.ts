import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { seqPage } from '../../../http/paging.js';
import { adminListResponse } from './lists.js';
import type { RouteModule } from '../../../http/types.js';
import { ApiError, notFound } from '../../../lib/errors.js';
import { idPattern } from '../../../../shared/values.js';
import { Ok, PagingQuery } from '../../../../shared/schemas/common.js';
import { OutboxMessage } from '../../../../shared/schemas/reidentification.js';
import { MAIL_STATUSES } from '../../../../shared/vocabulary.js';

/**
 * /v1/admin/outbox — every e-mail the register sent or captured, newest first. The mail
 * catcher's tools (search, delete, raw source) are sandbox only [ours]: a production outbox
 * holds real customers' mail, kept as sent (one-time links redacted).
 */
const adminOutbox: RouteModule = (app, { reg, svc }) => {
  const refuse = () => new ApiError(403, 'AUTH003', "The outbox's search, delete and raw source are only available on a sandbox register");
  const sandboxOnly = async () => {
    if (reg.config.mode !== 'sandbox') throw refuse();
  };
  const IdParams = Type.Object({ id: Type.String({ pattern: idPattern('msg') }) }, { additionalProperties: false });

  // Search is sandbox only: refused before the query string is validated (an invalid q on a
  // production register is 403 AUTH003, like every other sandbox tool, not 400).
  const searchSandboxOnly = async (req: { query: unknown }) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (reg.config.mode !== 'sandbox' && q && Object.hasOwn(q, 'q')) throw refuse();
  };

  app.get(
    '/admin/outbox',
    {
      onRequest: searchSandboxOnly,
      schema: {
        summary: 'E-mails the register sent or captured, newest first (status, attempts and last error for SMTP delivery)',
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Enum([...MAIL_STATUSES])),
            ref: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'what the message is about, e.g. a token-ref' })),
            purpose: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Sandbox only: messages whose recipient, subject or body (text or HTML) contains this, ignoring case' })),
            ...PagingQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: adminListResponse('messages', OutboxMessage) },
      },
    },
    async (req) => {
      const filter = {
        status: req.query.status,
        ref: req.query.ref,
        purpose: req.query.purpose,
        ...seqPage(req.query),
      };
      const { rows, total, nextCursor } = req.query.q !== undefined ? await svc.mail.search({ ...filter, text: req.query.q }) : await svc.mail.list(filter);
      return { response: envelope(req, reg.clock.now()), messages: rows.map((r) => svc.mail.view(r)), total, 'next-cursor': nextCursor };
    },
  );

  app.post(
    '/admin/outbox/:id/retry',
    {
      schema: {
        summary: 'Try a failed (or retrying) message again now, with a fresh set of attempts',
        params: Type.Object({ id: Type.String({ pattern: '^msg_[0-9a-f]{24}$' }) }),
        response: { 200: Ok({ message: OutboxMessage }) },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), message: svc.mail.view(await svc.mail.retryNow(req.account.accountId, req.params.id)) }),
  );

  const Header = Type.Object({ name: Type.String(), value: Type.String() });
  app.get(
    '/admin/outbox/:id/source',
    {
      onRequest: sandboxOnly,
      schema: {
        summary: "Sandbox: a message's From:, its header lines and its raw RFC 822 source (composed by nodemailer, as SMTP would carry it)",
        params: IdParams,
        response: { 200: Ok({ id: Type.String(), from: Type.String(), headers: Type.Array(Header), source: Type.String() }) },
      },
    },
    async (req) => {
      const row = await svc.mail.find(req.params.id);
      if (!row) throw notFound(`Message ${req.params.id}`);
      return { response: envelope(req, reg.clock.now()), id: row.messageId, ...(await svc.mail.source(row)) };
    },
  );

  app.get(
    '/admin/outbox/:id/raw',
    {
      onRequest: sandboxOnly,
      schema: {
        summary: 'Sandbox: the raw RFC 822 source as message/rfc822 (e.g. `curl … > message.eml`)',
        params: IdParams,
        produces: ['message/rfc822'],
        response: { 200: Type.String({ description: 'message/rfc822' }) },
      },
    },
    async (req, reply) => {
      const row = await svc.mail.find(req.params.id);
      if (!row) throw notFound(`Message ${req.params.id}`);
      const { source } = await svc.mail.source(row);
      return reply.type('message/rfc822').header('content-disposition', `attachment; filename="${row.messageId}.eml"`).send(source);
    },
  );

  app.delete('/admin/outbox/:id', { onRequest: sandboxOnly, schema: { summary: 'Sandbox: delete one message (audited)', params: IdParams, response: { 200: Ok({ deleted: Type.Integer() }) } } }, async (req) => {
    await svc.mail.remove(req.account.accountId, req.params.id);
    return { response: envelope(req, reg.clock.now()), deleted: 1 };
  });

  app.delete('/admin/outbox', { onRequest: sandboxOnly, schema: { summary: 'Sandbox: delete every message in the outbox (audited, with how many)', response: { 200: Ok({ deleted: Type.Integer() }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    deleted: await svc.mail.removeAll(req.account.accountId),
  }));
};
export default adminOutbox;
