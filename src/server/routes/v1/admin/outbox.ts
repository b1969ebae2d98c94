import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { NextCursor, Ok, PagingQuery } from '../../../schemas/common.js';
import { OutboxMessage } from '../../../schemas/reidentification.js';
import { MAIL_STATUSES } from '../../../services/mail.js';

/** /v1/admin/outbox — every e-mail the register sent or captured, newest first. */
const adminOutbox: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['admin'], security: [{ bearer: [] }] };

  app.get(
    '/admin/outbox',
    {
      schema: {
        ...common,
        summary: 'E-mails the register sent or captured, newest first (status, attempts and last error for SMTP delivery)',
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Enum([...MAIL_STATUSES])),
            ref: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'what the message is about, e.g. a token-ref' })),
            purpose: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            ...PagingQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Ok({ messages: Type.Array(OutboxMessage), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      const { rows, total, nextCursor } = svc.mail.list({
        status: req.query.status,
        ref: req.query.ref,
        purpose: req.query.purpose,
        limit: req.query.limit ?? 200,
        cursor: req.query.cursor ? Number(req.query.cursor) : undefined,
      });
      return { response: envelope(req, reg.clock.now()), messages: rows.map((r) => svc.mail.view(r)), total, 'next-cursor': nextCursor };
    },
  );

  app.post(
    '/admin/outbox/:id/retry',
    {
      schema: {
        ...common,
        summary: 'Try a failed (or retrying) message again now, with a fresh set of attempts',
        params: Type.Object({ id: Type.String({ pattern: '^msg_[0-9a-f]{24}$' }) }),
        response: { 200: Ok({ message: OutboxMessage }) },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), message: svc.mail.view(svc.mail.retryNow(req.account.accountId, req.params.id)) }),
  );
};
export default adminOutbox;
