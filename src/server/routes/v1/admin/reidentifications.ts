import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { adminPage } from '../../../http/paging.js';
import type { RouteModule } from '../../../http/types.js';
import { ApiError, notFound } from '../../../lib/errors.js';
import { csvExportSchema, sendCsvExport } from '../../../http/csv-export.js';
import { apiTime } from '../../../lib/clock.js';
import { AdminPagingQuery, Id, Mpxn, Ok } from '../../../../shared/schemas/common.js';
import { dataUserNameOf, DateQuery } from './lists.js';
import { AdminReIdentifyBody, AdminReIdentifyResponse, AdminToken, AdminTokenList, TokenRefParams } from '../../../../shared/schemas/reidentification.js';
import { adminTokenViews } from '../../../services/token-views.js';
import { STAFF_ROLES, TOKEN_STATUSES } from '../../../../shared/vocabulary.js';
import { TOKEN_SORTS, type AdminTokenFilters, type TokenRow } from '../../../services/reid-tokens.js';

/** Filters and sort shared by the token list and its CSV export. */
const AdminTokenQuery = {
  status: Type.Optional(Type.Enum([...TOKEN_STATUSES])),
  mpxn: Type.Optional(Mpxn),
  q: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,60}$', description: 'prefix of an MPxN or of a token-ref' })),
  duid: Type.Optional(Id('duid')),
  from: Type.Optional(DateQuery('created on or after (date or date-time)')),
  to: Type.Optional(DateQuery('created on or before (a date includes its whole day)')),
  sort: Type.Optional(Type.Enum([...TOKEN_SORTS], { description: 'created (default, newest first), expiry or status' })),
  order: AdminPagingQuery.order,
};

const CSV_HEADER = ['token-ref', 'mpxn', 'status', 'method', 'flow', 'data-user', 'initiator-duid', 'initiator-account-id', 'created-at', 'expires-at', 'confirmed-at', 'consumed-at', 'consumed-for'];

const filtersOf = (q: { status?: string; mpxn?: string; q?: string; duid?: string; from?: string; to?: string; sort?: AdminTokenFilters['sort']; order?: 'asc' | 'desc' }): AdminTokenFilters => ({
  status: q.status,
  mpxn: q.mpxn,
  q: q.q,
  duid: q.duid,
  from: q.from,
  to: q.to,
  sort: q.sort,
  order: q.order,
});

/** /v1/admin/reidentifications — the operator's view of re-identification tokens. */
const adminReidentifications: RouteModule = (app, { reg, svc }) => {
  const views = (rows: TokenRow[]) => adminTokenViews(reg, svc, rows);
  const view = async (row: TokenRow) => (await views([row]))[0];

  app.get(
    '/admin/reidentifications',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'Re-identification tokens: filter by status, MPxN, an MPxN or token-ref prefix, initiator (DUID) and creation date range; sort by created, expiry or status; keyset or offset paging',
        querystring: Type.Object({ ...AdminTokenQuery, ...AdminPagingQuery }, { additionalProperties: false }),
        response: { 200: AdminTokenList },
      },
    },
    async (req) => {
      const { rows, total, nextCursor } = await svc.tokens.adminList(filtersOf(req.query), adminPage(req.query));
      return { response: envelope(req, reg.clock.now()), tokens: await views(rows), total, 'next-cursor': nextCursor };
    },
  );

  app.get(
    '/admin/reidentifications/export.csv',
    {
      config: { roles: STAFF_ROLES },
      schema: {
        ...csvExportSchema('token', Type.Object(AdminTokenQuery, { additionalProperties: false })),
      },
    },
    async (req, reply) => {
      const nowIso = reg.clock.iso();
      const { total, chunks } = await svc.tokens.adminListAll(filtersOf(req.query));
      return sendCsvExport(reply, {
        filename: `reidentifications-${nowIso.slice(0, 10)}.csv`,
        total,
        header: CSV_HEADER,
        chunks,
        rows: async (chunk: TokenRow[]) => {
          const nameOf = await dataUserNameOf(reg.db, chunk, (r) => r.initiatorDuid);
          const out = [];
          for (const r of chunk) {
            const v = await svc.tokens.adminView(r, nowIso);
            out.push([r.tokenRef, r.mpxn, v.status, r.method, r.flow, nameOf(r), r.initiatorDuid, r.initiatorAccountId, apiTime(r.createdAt), v['expires-at'], v['confirmed-at'], v['consumed-at'], v['consumed-for']]);
          }
          return out;
        },
      });
    },
  );

  app.get(
    '/admin/reidentifications/:tokenRef',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: { summary: 'One re-identification token', params: TokenRefParams, response: { 200: Ok({ token: AdminToken }) } },
    },
    async (req) => {
      const row = await svc.tokens.find(req.params.tokenRef);
      if (!row) throw notFound(`Re-identification token ${req.params.tokenRef}`);
      return { response: envelope(req, reg.clock.now()), token: await view(row) };
    },
  );

  app.post(
    '/admin/reidentifications/:tokenRef/cancel',
    {
      // The desk's own action: support staff too.
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'Cancel a pending (or confirmed, unused) re-identification: it can no longer be confirmed or used',
        description:
          'The token becomes cancelled: its magic link and passkey pages say so and change nothing, and the initiator sees status expired (POST /access-records and meter-point listings answer as for an expired token). A consumed, expired or already cancelled token → 409 CON001. Audited (reidentification.cancelled).',
        params: TokenRefParams,
        response: { 200: Ok({ token: AdminToken }) },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), token: await view(await svc.tokens.cancel(req.account.accountId, req.params.tokenRef)) }),
  );

  app.post(
    '/admin/reidentifications',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'Start a re-identification on behalf of a data_user or portal account (support staff)',
        description:
          'Same rules as POST /v1/identity-records/reidentify, with the on-behalf-of account as the initiator (its display-name is shown to the customer; its return URLs apply; it can poll and use the token). ' +
          'In sandbox mode the response adds customer-url: the magic-link landing page or passkey page, so support staff can open it directly.',
        body: AdminReIdentifyBody,
        response: { 200: AdminReIdentifyResponse },
      },
    },
    async (req) => {
      const onBehalfOf = await svc.accounts.find(req.body['on-behalf-of']);
      if (!onBehalfOf) throw new ApiError(400, 'VAL001', `on-behalf-of: account "${req.body['on-behalf-of']}" does not exist`);
      if (onBehalfOf.role !== 'data_user' && onBehalfOf.role !== 'portal') throw new ApiError(400, 'VAL001', `on-behalf-of must be a data_user or portal account ("${onBehalfOf.accountId}" is ${onBehalfOf.role})`);
      if (onBehalfOf.status !== 'active') throw new ApiError(409, 'CON001', `on-behalf-of account "${onBehalfOf.accountId}" is ${onBehalfOf.status}`);
      const { result, customerUrl } = await svc.reidentification.startForMpxn(onBehalfOf, req.body.mpxn, req.body.method, {
        redirectUrl: req.body['redirect-url'] ?? null,
        returnUrl: req.body['passkey-return-url'] ?? null,
        actor: req.account.accountId,
      });
      return {
        response: envelope(req, reg.clock.now()),
        ...result,
        ...(reg.config.mode === 'sandbox' ? { 'customer-url': customerUrl } : {}),
      };
    },
  );
};
export default adminReidentifications;
