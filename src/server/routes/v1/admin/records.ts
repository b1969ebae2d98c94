import { desc, eq } from 'drizzle-orm';
import { Type } from 'typebox';
import { auditEvents } from '../../../db/schema.js';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { apiTime } from '../../../lib/clock.js';
import { notFound } from '../../../lib/errors.js';
import { AccessRecordOutput, LEGAL_BASES, REVOKE_REASONS, STATES } from '../../../schemas/access-record.js';
import { Id, NextCursor, Nullable, Ok, PagingQuery, STAFF_ROLES } from '../../../schemas/common.js';
import type { AccessRow } from '../../../services/access-records.js';

const AdminRecord = Type.Object({
  ak: Type.String(),
  duid: Nullable(Type.String()),
  mpxn: Type.String(),
  state: Type.String(),
  'legal-basis': Nullable(Type.String()),
  purpose: Nullable(Type.String()),
  'data-types': Type.Array(Type.String()),
  'lead-controller-name': Nullable(Type.String()),
  'arrangement-type': Nullable(Type.String()),
  'controller-count': Type.Integer(),
  expiry: Nullable(Type.String()),
  'created-at': Type.String(),
  'revoked-at': Nullable(Type.String()),
  'organisation-name': Nullable(Type.String()),
});

const TimelineEntry = Type.Object({ at: Type.String(), 'event-type': Type.String(), actor: Type.String(), detail: Type.Record(Type.String(), Type.Unknown()) });

/** /v1/admin/records — search every record; detail with a state timeline; revoke. */
const adminRecords: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['admin'], security: [{ bearer: [] }] };
  const row = (r: AccessRow, nowIso: string) => ({
    ak: r.ak,
    duid: r.duid,
    mpxn: r.mpxn,
    state: svc.records.effectiveState(r, nowIso),
    'legal-basis': r.legalBasis,
    purpose: r.purpose,
    'data-types': r.dataTypes,
    'lead-controller-name': r.leadControllerName,
    'arrangement-type': r.arrangementType,
    'controller-count': r.controllerCount ?? 0,
    expiry: r.expiry,
    'created-at': apiTime(r.createdAt)!,
    'revoked-at': apiTime(r.revokedAt),
    'organisation-name': r.organisationName,
  });

  app.get(
    '/admin/records',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        ...common,
        summary: 'Search all records (q matches ak, MPxN, duid, organisation reference or organisation-name prefix)',
        querystring: Type.Object(
          {
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            state: Type.Optional(Type.Enum([...STATES])),
            'legal-basis': Type.Optional(Type.Enum([...LEGAL_BASES])),
            ...PagingQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Ok({ records: Type.Array(AdminRecord), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      const nowIso = reg.clock.iso();
      const { rows, total, nextCursor } = svc.records.search({
        q: req.query.q,
        state: req.query.state,
        legalBasis: req.query['legal-basis'],
        limit: req.query.limit ?? 200,
        cursor: req.query.cursor ? Number(req.query.cursor) : undefined,
      });
      return { response: envelope(req, reg.clock.now()), records: rows.map((r) => row(r, nowIso)), total, 'next-cursor': nextCursor };
    },
  );

  app.get(
    '/admin/records/:ak',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        ...common,
        summary: 'One record: every section, its owner and its state timeline',
        params: Type.Object({ ak: Id('ak') }),
        response: {
          200: Ok({
            record: Type.Object({
              ...AdminRecord.properties,
              ir: Nullable(Type.String()),
              'access-record': AccessRecordOutput,
              owner: Nullable(Type.Object({ duid: Type.String(), 'display-name': Type.String(), 'account-id': Type.String() })),
              timeline: Type.Array(TimelineEntry),
            }),
          }),
        },
      },
    },
    async (req) => {
      const r = svc.records.find(req.params.ak);
      if (!r) throw notFound(`Access record ${req.params.ak}`);
      const nowIso = reg.clock.iso();
      const owner = r.duid ? svc.accounts.findByDuid(r.duid) : undefined;
      const events = reg.db.select().from(auditEvents).where(eq(auditEvents.ak, r.ak)).orderBy(desc(auditEvents.seq)).limit(200).all();
      const timeline = events.reverse().map((e) => ({ at: apiTime(e.at)!, 'event-type': e.eventType, actor: e.actor, detail: e.detail }));
      if (svc.records.effectiveState(r, nowIso) === 'EXPIRED' && r.state === 'ACTIVE')
        timeline.push({ at: apiTime(r.expiresAt)!, 'event-type': 'access-record.expired', actor: 'register', detail: { note: 'expiry passed' } });
      return {
        response: envelope(req, reg.clock.now()),
        record: {
          ...row(r, nowIso),
          ir: r.ir,
          'access-record': svc.records.apiRecord(r.ak, nowIso)!,
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
        ...common,
        summary: 'Revoke a record as the register operator (fires consent.withdrawal to its owner)',
        params: Type.Object({ ak: Id('ak') }),
        body: Type.Object({ reason: Type.Enum([...REVOKE_REASONS]) }, { additionalProperties: false }),
        response: { 200: Ok({ ak: Type.String(), 'revoked-at': Type.String() }) },
      },
    },
    async (req) => {
      const r = svc.records.revoke(req.account.accountId, req.params.ak, req.body.reason, () => undefined);
      return { response: envelope(req, reg.clock.now()), ak: r.ak, 'revoked-at': apiTime(r.revokedAt)! };
    },
  );
};
export default adminRecords;
