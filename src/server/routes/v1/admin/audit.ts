import { and, count, eq, sql, type SQL } from 'drizzle-orm';
import { Type } from 'typebox';
import type { Store } from '../../../db/store.js';
import { envelope } from '../../../http/envelope.js';
import { csvExportSchema, sendCsvExport } from '../../../http/csv-export.js';
import { adminPage } from '../../../http/paging.js';
import { adminListResponse, DateQuery } from './lists.js';
import type { RouteModule } from '../../../http/types.js';
import { dateRange, sortedChunks, sortedPage } from '../../../lib/listing.js';
import { apiTime } from '../../../lib/clock.js';
import { AuditEvent, AuditVerify } from '../../../../shared/schemas/admin.js';
import { AdminPagingQuery, Ok } from '../../../../shared/schemas/common.js';
import { STAFF_ROLES } from '../../../../shared/vocabulary.js';

/** An event's chain fields as the API shows them: null until the linker has linked it. */
const chainFields = (e: { linkSeq: number | null; hash: string; prevHash: string }) => (e.linkSeq === null ? { hash: null, prevHash: null } : { hash: e.hash, prevHash: e.prevHash });

/** Filters shared by the audit list and its CSV export. */
const AuditQuery = {
  'account-id': Type.Optional(Type.String({ maxLength: 64 })),
  'event-type': Type.Optional(Type.String({ maxLength: 100 })),
  'event-type-prefix': Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: '[ours] event types starting with this, e.g. access-record.' })),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: '[ours] actors containing this (ignoring ASCII case)' })),
  ak: Type.Optional(Type.String({ maxLength: 40 })),
  from: Type.Optional(DateQuery('[ours] at or after (date or date-time)')),
  to: Type.Optional(DateQuery('[ours] at or before (a date includes its whole day)')),
};

function auditFilters(store: Store, q: { 'account-id'?: string; 'event-type'?: string; 'event-type-prefix'?: string; actor?: string; ak?: string; from?: string; to?: string }): SQL[] {
  const { auditEvents } = store.tables;
  const filters: SQL[] = [];
  // An account's history: what it did (actor) and what was done to it (subject).
  const id = q['account-id'];
  if (id) filters.push(sql`${auditEvents.seq} in (select ${auditEvents.seq} from ${auditEvents} where ${auditEvents.actor} = ${id} union select ${auditEvents.seq} from ${auditEvents} where ${auditEvents.subject} = ${id})`);
  if (q['event-type']) filters.push(eq(auditEvents.eventType, q['event-type']));
  // A prefix is a range on the (event_type, seq) index; a fragment of the actor is a LIKE
  // over the (actor, seq) index, whose distinct actors are few (accounts and the register).
  const prefix = q['event-type-prefix'];
  if (prefix) filters.push(sql`(${auditEvents.eventType} >= ${prefix} and ${auditEvents.eventType} < ${prefix + '\u{10FFFF}'})`);
  if (q.actor) filters.push(store.dialect.likeIgnoringCase(auditEvents.actor, `%${q.actor.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
  if (q.ak) filters.push(eq(auditEvents.ak, q.ak));
  filters.push(...dateRange(auditEvents.at, q.from, q.to));
  return filters;
}

const CSV_HEADER = ['id', 'at', 'actor', 'event-type', 'ak', 'ir', 'subject', 'detail', 'hash', 'prev-hash'];

/** /v1/admin/audit — the hash-chained audit log and its verification. */
const adminAudit: RouteModule = (app, { reg }) => {
  app.get(
    '/admin/audit',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'Audit events, newest first (filter by account — as actor or subject —, event type or its prefix, a fragment of the actor, ak, a date range)',
        querystring: Type.Object({ ...AuditQuery, limit: AdminPagingQuery.limit, cursor: AdminPagingQuery.cursor, offset: AdminPagingQuery.offset }, { additionalProperties: false }),
        response: { 200: adminListResponse('events', AuditEvent) },
      },
    },
    async (req) => {
      const q = req.query;
      const filters = auditFilters(reg.store, q);
      const { auditEvents } = reg.store.tables;
      const { rows, nextCursor, total } = await sortedPage(reg.db, auditEvents, filters, undefined, adminPage(q));
      return {
        response: envelope(req, reg.clock.now()),
        events: rows.map((e) => {
          const { hash, prevHash } = chainFields(e);
          return { id: e.seq, at: apiTime(e.at)!, actor: e.actor, 'event-type': e.eventType, ak: e.ak, ir: e.ir, subject: e.subject, detail: e.detail, hash, 'prev-hash': prevHash };
        }),
        total,
        'next-cursor': nextCursor,
      };
    },
  );

  app.get(
    '/admin/audit/export.csv',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        ...csvExportSchema('audit event', Type.Object(AuditQuery, { additionalProperties: false }), { order: 'newest first', ours: true }),
      },
    },
    async (req, reply) => {
      const filters = auditFilters(reg.store, req.query);
      const { auditEvents } = reg.store.tables;
      const [{ n: total }] = await reg.db
        .select({ n: count() })
        .from(auditEvents)
        .where(filters.length ? and(...filters) : undefined);
      return sendCsvExport(reply, {
        filename: `audit-log-${reg.clock.iso().slice(0, 10)}.csv`,
        total,
        header: CSV_HEADER,
        chunks: sortedChunks(reg.db, auditEvents, filters, undefined, 500, undefined, { count: () => Promise.resolve(total) }),
        rows: (chunk) =>
          chunk.map((e) => {
            const { hash, prevHash } = chainFields(e);
            return [e.seq, apiTime(e.at), e.actor, e.eventType, e.ak, e.ir, e.subject, e.detail, hash, prevHash];
          }),
      });
    },
  );

  app.get(
    '/admin/audit/verify',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: "Check every event's own HMAC, the hash chain over linked events and its anchor; reports the first broken event and how many are not yet linked",
        response: { 200: Ok(AuditVerify.properties) },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), ...(await reg.audit.verify()) }),
  );
};
export default adminAudit;
