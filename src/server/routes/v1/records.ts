import { Type } from 'typebox';
import { envelope } from '../../http/envelope.js';
import { sendRawJson } from '../../http/raw-json.js';
import { seqPage } from '../../http/paging.js';
import type { RouteModule } from '../../http/types.js';
import { AccessRecordSummary } from '../../../shared/schemas/access-record.js';
import { LEGAL_BASES } from '../../../shared/vocabulary.js';
import { NextCursor, Ok, PagingQuery } from '../../../shared/schemas/common.js';

/** GET /v1/records — a Data User's own records, paged (contract §5). */
const records: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/records',
    {
      schema: {
        tags: ['access-records'],
        summary: 'Your access records, newest first; page on with cursor=next-cursor',
        querystring: Type.Object({ state: Type.Optional(Type.Enum(['ACTIVE', 'EXPIRED', 'REVOKED'])), 'legal-basis': Type.Optional(Type.Enum([...LEGAL_BASES])), ...PagingQuery }, { additionalProperties: false }),
        response: { 200: Ok({ records: Type.Array(AccessRecordSummary), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req, reply) => {
      // Summaries written by the database (services/record-json.ts, docs/performance.md); the owner sees which of
      // its own identity records each record is linked to.
      const { rows, total, nextCursor } = await svc.records.ownSummaries({
        duid: req.account.duid,
        state: req.query.state,
        legalBasis: req.query['legal-basis'],
        ...seqPage(req.query),
      });
      return sendRawJson(reply, { response: envelope(req, reg.clock.now()), total, 'next-cursor': nextCursor }, { records: `[${rows.map((r) => r.json).join(',')}]` });
    },
  );
};
export default records;
