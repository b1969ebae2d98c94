import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { adminPage } from '../../../http/paging.js';
import { adminListResponse } from './lists.js';
import type { RouteModule } from '../../../http/types.js';
import { apiTime } from '../../../lib/clock.js';
import { AdminPagingQuery } from '../../../../shared/schemas/common.js';
import { STAFF_ROLES } from '../../../../shared/vocabulary.js';
import { AdminRecordQuery } from './records.js';
import { AdminDiscovered } from '../../../../shared/schemas/admin.js';
import type { SQL } from 'drizzle-orm';
import { recordJsonOf } from '../../../services/record-json.js';

/** GET /v1/admin/discovered-access — what the DCC saw, and what superseded it. */
const adminDiscovered: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/admin/discovered-access',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'DISCOVERED access (q: substring of MPxN or organisation name, or an organisation reference; superseded=true|false; creation date range; sort)',
        querystring: Type.Object(
          {
            q: AdminRecordQuery.q,
            superseded: Type.Optional(Type.Boolean()),
            from: AdminRecordQuery.from,
            to: AdminRecordQuery.to,
            sort: Type.Optional(Type.Enum(['created', 'mpxn', 'organisation'], { description: 'created (default, newest first), mpxn or organisation' })),
            ...AdminPagingQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: adminListResponse('records', AdminDiscovered) },
      },
    },
    async (req) => {
      const q = req.query;
      const { rows, nextCursor, total } = await svc.records.adminList({ kind: 'discovered', q: q.q, superseded: q.superseded, from: q.from, to: q.to, sort: q.sort, order: q.order }, adminPage(q), {
        discovered: recordJsonOf(reg.store.tables, reg.store.dialect).discoveredJson as SQL<string>,
      });
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
