import { Type } from 'typebox';
import { bearer } from '../../http/auth.js';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { AccessRecordSummary, LEGAL_BASES } from '../../schemas/access-record.js';
import { NextCursor, Ok, PagingQuery } from '../../schemas/common.js';

/** GET /v1/records — a Data User's own records, paged (contract §5). */
const records: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/records',
    {
      preHandler: bearer(reg, svc.accounts, ['data_user']),
      schema: {
        tags: ['access-records'],
        security: [{ bearer: [] }],
        summary: 'Your access records, newest first; page on with cursor=next-cursor',
        querystring: Type.Object(
          { state: Type.Optional(Type.Enum(['ACTIVE', 'EXPIRED', 'REVOKED'])), 'legal-basis': Type.Optional(Type.Enum([...LEGAL_BASES])), ...PagingQuery },
          { additionalProperties: false },
        ),
        response: { 200: Ok({ records: Type.Array(AccessRecordSummary), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      const nowIso = reg.clock.iso();
      const { rows, total, nextCursor } = svc.records.search({
        duid: req.account.duid,
        kind: 'record',
        state: req.query.state,
        legalBasis: req.query['legal-basis'],
        limit: req.query.limit ?? 200,
        cursor: req.query.cursor ? Number(req.query.cursor) : undefined,
      });
      // One lookup for the whole page (issue 7), not one per record.
      const owners = svc.identities.ownersOf([...new Set(rows.flatMap((r) => (r.ir ? [r.ir] : [])))]);
      return {
        response: envelope(req, reg.clock.now()),
        records: rows.map((r) => {
          const s = svc.records.summary(r, nowIso);
          // The owner may see which of its own identity records a record is linked to.
          const own = r.ir ? owners.get(r.ir) : undefined;
          return own === req.account.duid && s['record-metadata'] ? { ...s, 'record-metadata': { ...s['record-metadata'], 'identity-record-ref': r.ir } } : s;
        }),
        total,
        'next-cursor': nextCursor,
      };
    },
  );
};
export default records;
