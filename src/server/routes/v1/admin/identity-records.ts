import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { adminPage } from '../../../http/paging.js';
import type { RouteModule } from '../../../http/types.js';
import { invalid, notFound } from '../../../lib/errors.js';
import { AdminIdentity, AdminIdentityDetail } from '../../../../shared/schemas/admin.js';
import { AdminPagingQuery, Email, Id, Mpxn, Ok } from '../../../../shared/schemas/common.js';
import { STAFF_ROLES } from '../../../../shared/vocabulary.js';
import { csvExportSchema, sendCsvExport } from '../../../http/csv-export.js';
import { apiTime } from '../../../lib/clock.js';
import { IDENTITY_SORTS, type AdminIdentityFilters, type IdentitySort } from '../../../services/identity-records.js';
import { adminListResponse, dataUserNameOf, DateQuery } from './lists.js';
import { existsRoute } from '../identity-records.js';
import { IrParams } from '../../../../shared/schemas/identity-record.js';
import { adminTokenViews } from '../../../services/token-views.js';

/** Filters and sort shared by the staff identity list and its CSV export. */
const IdentityQuery = {
  mpxn: Type.Optional(Mpxn),
  email: Type.Optional(Email),
  q: Type.Optional(Type.String({ pattern: '^[0-9]{1,13}$', description: '[ours] a fragment of the MPxN (digits); addresses and e-mails are not searchable by substring' })),
  duid: Type.Optional(Id('duid')),
  from: Type.Optional(DateQuery('[ours] created on or after (date or date-time)')),
  to: Type.Optional(DateQuery('[ours] created on or before (a date includes its whole day)')),
  sort: Type.Optional(Type.Enum([...IDENTITY_SORTS], { description: '[ours] created (default, newest first) or mpxn' })),
  order: AdminPagingQuery.order,
};

function filtersOf(q: { mpxn?: string; email?: string; q?: string; duid?: string; from?: string; to?: string; sort?: IdentitySort; order?: 'asc' | 'desc' }): AdminIdentityFilters {
  // Reading customer data needs a scope: a whole-register dump is not a lookup.
  if (!q.mpxn && !q.email && !q.q && !q.duid && !q.from && !q.to) throw invalid('Give at least one of the query parameters mpxn, email, q, duid, from or to');
  return { mpxn: q.mpxn, email: q.email, q: q.q, duid: q.duid, from: q.from, to: q.to, sort: q.sort, order: q.order };
}

/** What the audit event says was searched (never the e-mail itself: only that one was given). */
function auditSearch(f: AdminIdentityFilters) {
  return { mpxn: f.mpxn, byEmail: !!f.email, filters: { ...(f.q ? { q: f.q } : {}), ...(f.duid ? { duid: f.duid } : {}), ...(f.from ? { from: f.from } : {}), ...(f.to ? { to: f.to } : {}) } };
}

const CSV_HEADER = ['ir', 'mpxn', 'move-in-date', 'duid', 'data-user', 'has-email', 'access-record-count', 'created-at', 'anonymised-at'];

/**
 * /v1/admin/identity-records — support staff find a customer across all Data Users. Every
 * lookup is a person reading customer data, so it is audited (`identity-record.read`), and
 * the address is masked until the person asks to reveal it, which is audited as such.
 */
const adminIdentityRecords: RouteModule = (app, { reg, svc }) => {
  // Reads are open to support staff too; anonymising and removing passkeys stay admin-only.
  const staff = { roles: STAFF_ROLES };

  app.get(
    '/admin/identity-records',
    {
      config: staff,
      schema: {
        summary: 'Find identity records across Data Users: exact MPxN or e-mail (keyed-hash lookup), a fragment of the MPxN, a Data User, a creation date range; sort by creation or MPxN; keyset or offset paging',
        description: 'At least one filter is required. Addresses and e-mails are never searched by substring and are masked in the list. Every call is audited (identity-record.read, with the filters and the records found).',
        querystring: Type.Object({ ...IdentityQuery, ...AdminPagingQuery }, { additionalProperties: false }),
        response: { 200: adminListResponse('identity-records', AdminIdentity) },
      },
    },
    async (req) => {
      const f = filtersOf(req.query);
      const { rows, total, nextCursor } = await svc.identities.adminList(f, adminPage(req.query));
      const counts = await svc.identities.linkedCounts(rows.map((r) => r.ir));
      const nameOf = await dataUserNameOf(reg.store, rows, (r) => r.duid);
      await svc.identities.auditRead(req.account.accountId, req.ip, { ...auditSearch(f), found: rows.map((r) => r.ir) });
      const views = [];
      for (const r of rows) {
        views.push({
          ...svc.identities.masked(await svc.identities.toApi(r)),
          masked: true,
          duid: r.duid,
          'owner-display-name': nameOf(r),
          'access-record-count': counts.get(r.ir) ?? 0,
        });
      }
      return {
        response: envelope(req, reg.clock.now()),
        'identity-records': views,
        total,
        'next-cursor': nextCursor,
      };
    },
  );

  app.get(
    '/admin/identity-records/export.csv',
    {
      config: staff,
      schema: {
        ...csvExportSchema('identity record', Type.Object(IdentityQuery, { additionalProperties: false }), {
          ours: true,
          description: 'No address and no e-mail: only whether an e-mail is on file. Audited as a read (identity-record.read, with the filters and the row count).',
        }),
      },
    },
    async (req, reply) => {
      const f = filtersOf(req.query);
      const { total, chunks } = await svc.identities.adminListAll(f);
      // The export reads customer data (MPxNs, move-in dates), as the list does: one audited
      // read naming the filters and how many records it held (the filters name the set).
      await svc.identities.auditRead(req.account.accountId, req.ip, { ...auditSearch(f), exported: total });
      return sendCsvExport(reply, {
        filename: `identity-records-${reg.clock.iso().slice(0, 10)}.csv`,
        total,
        header: CSV_HEADER,
        chunks,
        rows: async (chunk) => {
          const nameOf = await dataUserNameOf(reg.store, chunk, (r) => r.duid);
          const counts = await svc.identities.linkedCounts(chunk.map((r) => r.ir));
          return chunk.map((r) => [r.ir, r.mpxn, r.moveInDate, r.duid, nameOf(r), r.emailHash !== null, counts.get(r.ir) ?? 0, apiTime(r.createdAt), apiTime(r.anonymisedAt)]);
        },
      });
    },
  );

  existsRoute(app, { reg, svc }, '/admin/identity-records/exists', { config: staff, summary: 'Existence and available re-identification methods for an MPxN' });

  app.get(
    '/admin/identity-records/:ir',
    {
      config: staff,
      schema: {
        summary: 'One identity record with its owner, linked access records and re-identification history',
        description: 'Address and e-mail are masked unless reveal=true. Every call is audited (identity-record.read, with revealed true/false and the client address).',
        params: IrParams,
        querystring: Type.Object({ reveal: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false }),
        response: {
          200: Ok(AdminIdentityDetail.properties),
        },
      },
    },
    async (req) => {
      const row = await svc.identities.find(req.params.ir);
      if (!row) throw notFound(`Identity record ${req.params.ir}`);
      const owner = await svc.accounts.findByDuid(row.duid);
      const nowIso = reg.clock.iso();
      const reveal = req.query.reveal === true;
      await svc.identities.auditRead(req.account.accountId, req.ip, { ir: row.ir, revealed: reveal });
      const view = await svc.identities.toApi(row);
      return {
        response: envelope(req, reg.clock.now()),
        'identity-record': reveal ? view : svc.identities.masked(view),
        email: svc.identities.emailForStaff(row, reveal),
        masked: !reveal,
        owner: owner ? { duid: owner.duid, 'display-name': owner.displayName, 'account-id': owner.accountId } : null,
        'access-records': await svc.records.summariesForIdentity(row.ir, nowIso),
        tokens: await adminTokenViews(reg, svc, await svc.tokens.forIdentity(row.ir)),
      };
    },
  );

  app.delete(
    '/admin/identity-records/:ir',
    {
      schema: {
        summary: 'Anonymise an identity record (409 while a linked ACTIVE access record exists)',
        params: IrParams,
        response: { 200: Ok({ ir: Type.String(), 'anonymised-at': Type.String() }) },
      },
    },
    async (req) => {
      const row = await svc.identities.find(req.params.ir);
      if (!row) throw notFound(`Identity record ${req.params.ir}`);
      const at = await svc.identities.anonymise(req.account.accountId, row, null);
      return { response: envelope(req, reg.clock.now()), ir: row.ir, 'anonymised-at': `${at.slice(0, 19)}Z` };
    },
  );

  app.delete(
    '/admin/identity-records/:ir/credentials/:credentialId',
    {
      schema: { summary: 'Remove a passkey credential', params: Type.Object({ ir: Id('ir'), credentialId: Id('cred') }), response: { 204: Type.Null() } },
    },
    async (req, reply) => {
      if (!(await svc.identities.find(req.params.ir))) throw notFound(`Identity record ${req.params.ir}`);
      await svc.identities.removeCredential(req.account.accountId, req.params.ir, req.params.credentialId);
      return reply.status(204).send(null);
    },
  );
};
export default adminIdentityRecords;
