import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { newestFirstPage } from '../../../lib/paging.js';
import { apiTime } from '../../../lib/clock.js';
import { NextCursor, Nullable, Ok, PagingQuery, STAFF_ROLES } from '../../../schemas/common.js';
import { DiscoveredAccess } from '../../../schemas/access-record.js';
import { eq, isNotNull, isNull, type SQL } from 'drizzle-orm';
import { accessRecords } from '../../../db/schema.js';
import { discoveredJson } from '../../../services/record-json.js';

const AdminDiscovered = Type.Object({
  ak: Type.String(),
  state: Type.String(),
  ...DiscoveredAccess.properties,
  'superseded-at': Nullable(Type.String()),
  'created-at': Type.String(),
});

/** GET /v1/admin/discovered-access — what the DCC saw, and what superseded it. */
const adminDiscovered: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/admin/discovered-access',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: 'DISCOVERED access (q matches MPxN, organisation reference or name prefix; superseded=true|false)',
        querystring: Type.Object(
          { q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), superseded: Type.Optional(Type.Boolean()), ...PagingQuery },
          { additionalProperties: false },
        ),
        response: { 200: Ok({ records: Type.Array(AdminDiscovered), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 200;
      const filters: SQL[] = [eq(accessRecords.kind, 'discovered')];
      if (q.superseded === true) filters.push(isNotNull(accessRecords.supersededBy));
      if (q.superseded === false) filters.push(isNull(accessRecords.supersededBy));
      if (q.q) filters.push(svc.records.matching(q.q));
      const { rows, nextCursor, total } = newestFirstPage(reg.db, accessRecords, filters, { limit, cursor: q.cursor ? Number(q.cursor) : undefined }, { discovered: discoveredJson as SQL<string> });
      return {
        response: envelope(req, reg.clock.now()),
        records: rows.map((r) => ({ ak: r.ak, state: r.state, ...JSON.parse(r.discovered), 'superseded-at': apiTime(r.supersededAt), 'created-at': apiTime(r.createdAt)! })),
        total,
        'next-cursor': nextCursor,
      };
    },
  );
};
export default adminDiscovered;
