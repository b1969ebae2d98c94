import { desc, eq } from 'drizzle-orm';
import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { csvExportSchema, sendCsvExport } from '../../../http/csv-export.js';
import { adminPage } from '../../../http/paging.js';
import { adminListResponse, dataUserNameOf, DateQuery } from './lists.js';
import type { RouteModule } from '../../../http/types.js';
import { apiTime } from '../../../lib/clock.js';
import { notFound } from '../../../lib/errors.js';
import { literalLimit } from '../../../lib/sql.js';
import { AdminRecord, AdminRecordDetail } from '../../../../shared/schemas/admin.js';
import { LEGAL_BASES, RECORD_STATES, REVOKE_REASONS, STAFF_ROLES, type LegalBasis } from '../../../../shared/vocabulary.js';
import { AdminPagingQuery, Id, Ok } from '../../../../shared/schemas/common.js';
import { RECORD_SORTS, type AccessRow, type AdminRecordFilters } from '../../../services/access-records/index.js';

/** Filters and sort shared by the admin record list and its CSV export. */
export const AdminRecordQuery = {
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'substring of MPxN, access key, purpose, controller or organisation name (3+ characters; shorter: prefix); or an exact DUID or organisation reference' })),
  state: Type.Optional(Type.Enum([...RECORD_STATES])),
  'legal-basis': Type.Optional(Type.Enum([...LEGAL_BASES])),
  duid: Type.Optional(Id('duid')),
  from: Type.Optional(DateQuery('created on or after (date or date-time)')),
  to: Type.Optional(DateQuery('created on or before (a date includes its whole day)')),
  sort: Type.Optional(Type.Enum([...RECORD_SORTS], { description: 'created (default, newest first), expiry, mpxn, state or organisation' })),
  order: AdminPagingQuery.order,
};

const CSV_HEADER = ['ak', 'mpxn', 'state', 'legal-basis', 'purpose', 'data-types', 'controller', 'organisation-name', 'data-user', 'duid', 'expiry', 'created-at', 'revoked-at'];

/** /v1/admin/records — search every record; detail with a state timeline; revoke. */
const adminRecords: RouteModule = (app, { reg, svc }) => {
  const row = (r: AccessRow, nowIso: string, nameOf: (r: AccessRow) => string | null) => ({
    ak: r.ak,
    duid: r.duid,
    mpxn: r.mpxn,
    state: svc.records.effectiveState(r, nowIso),
    'legal-basis': r.legalBasis as LegalBasis | null,
    purpose: r.purpose,
    'data-types': r.dataTypes,
    'lead-controller-name': r.leadControllerName,
    'arrangement-type': r.arrangementType,
    'controller-count': r.controllerCount ?? 0,
    expiry: r.expiry,
    'created-at': apiTime(r.createdAt)!,
    'revoked-at': apiTime(r.revokedAt),
    'organisation-name': r.organisationName,
    'data-user-name': nameOf(r),
  });
  const filtersOf = (q: { q?: string; state?: string; 'legal-basis'?: string; duid?: string; from?: string; to?: string; sort?: AdminRecordFilters['sort']; order?: 'asc' | 'desc' }): AdminRecordFilters => ({
    q: q.q,
    state: q.state,
    legalBasis: q['legal-basis'],
    duid: q.duid,
    from: q.from,
    to: q.to,
    sort: q.sort,
    order: q.order,
  });

  app.get(
    '/admin/records',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'Search all records: substring search, filters, a creation date range, sort by a main column, keyset or offset paging',
        querystring: Type.Object({ ...AdminRecordQuery, ...AdminPagingQuery }, { additionalProperties: false }),
        response: { 200: adminListResponse('records', AdminRecord) },
      },
    },
    async (req) => {
      const nowIso = reg.clock.iso();
      const { rows, total, nextCursor } = await svc.records.adminList(filtersOf(req.query), adminPage(req.query));
      const nameOf = await dataUserNameOf(reg.store, rows, (r) => r.duid);
      return { response: envelope(req, reg.clock.now()), records: rows.map((r) => row(r, nowIso, nameOf)), total, 'next-cursor': nextCursor };
    },
  );

  app.get(
    '/admin/records/export.csv',
    {
      config: { roles: STAFF_ROLES },
      schema: {
        ...csvExportSchema('record', Type.Object(AdminRecordQuery, { additionalProperties: false })),
      },
    },
    async (req, reply) => {
      const nowIso = reg.clock.iso();
      const { total, chunks } = await svc.records.adminListAll(filtersOf(req.query));
      // Rows are read a chunk (500) at a time as the client takes them, never all at once.
      return sendCsvExport(reply, {
        filename: `access-records-${nowIso.slice(0, 10)}.csv`,
        total,
        header: CSV_HEADER,
        chunks,
        rows: async (chunk) => {
          const nameOf = await dataUserNameOf(reg.store, chunk, (r) => r.duid);
          return chunk.map((r) => [
            r.ak,
            r.mpxn,
            svc.records.effectiveState(r, nowIso),
            r.legalBasis,
            r.purpose,
            r.dataTypes,
            r.leadControllerName,
            r.organisationName,
            nameOf(r),
            r.duid,
            r.expiry,
            apiTime(r.createdAt),
            apiTime(r.revokedAt),
          ]);
        },
      });
    },
  );

  app.get(
    '/admin/records/:ak',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'One record: every section, its owner and its state timeline',
        params: Type.Object({ ak: Id('ak') }),
        response: {
          200: Ok({
            record: AdminRecordDetail,
          }),
        },
      },
    },
    async (req) => {
      const r = await svc.records.find(req.params.ak);
      if (!r) throw notFound(`Access record ${req.params.ak}`);
      const nowIso = reg.clock.iso();
      const owner = r.duid ? await svc.accounts.findByDuid(r.duid) : undefined;
      const { auditEvents } = reg.store.tables;
      const events = await reg.db.select().from(auditEvents).where(eq(auditEvents.ak, r.ak)).orderBy(desc(auditEvents.seq)).limit(literalLimit(200));
      const timeline = events.reverse().map((e) => ({ at: apiTime(e.at)!, 'event-type': e.eventType, actor: e.actor, detail: e.detail }));
      if (svc.records.effectiveState(r, nowIso) === 'EXPIRED' && r.state === 'ACTIVE') timeline.push({ at: apiTime(r.expiresAt)!, 'event-type': 'access-record.expired', actor: 'register', detail: { note: 'expiry passed' } });
      return {
        response: envelope(req, reg.clock.now()),
        record: {
          ...row(r, nowIso, await dataUserNameOf(reg.store, [r], (x) => x.duid)),
          ir: r.ir,
          'access-record': (await svc.records.apiRecord(r.ak, nowIso))!,
          owner: owner ? { duid: owner.duid, 'display-name': owner.displayName, 'account-id': owner.accountId } : null,
          timeline,
        },
      };
    },
  );

  app.post(
    '/admin/records/:ak/revoke',
    {
      schema: {
        summary: 'Revoke a record as the register operator (fires consent.withdrawal to its owner)',
        params: Type.Object({ ak: Id('ak') }),
        body: Type.Object({ reason: Type.Enum([...REVOKE_REASONS]) }, { additionalProperties: false }),
        response: { 200: Ok({ ak: Type.String(), 'revoked-at': Type.String() }) },
      },
    },
    async (req) => {
      const r = await svc.records.revoke(req.account.accountId, req.params.ak, req.body.reason, () => undefined);
      return { response: envelope(req, reg.clock.now()), ak: r.ak, 'revoked-at': apiTime(r.revokedAt)! };
    },
  );
};
export default adminRecords;
