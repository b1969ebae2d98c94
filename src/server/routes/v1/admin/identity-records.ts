import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { invalid, notFound } from '../../../lib/errors.js';
import { AccessRecordSummary } from '../../../schemas/access-record.js';
import { Email, Id, Mpxn, NextCursor, Nullable, Ok, PagingQuery, STAFF_ROLES } from '../../../schemas/common.js';
import { IdentityRecord, IrParams } from '../../../schemas/identity-record.js';
import { AdminToken } from '../../../schemas/reidentification.js';
import { adminTokenViews } from '../../../services/token-views.js';

const AdminIdentity = Type.Object({
  ...IdentityRecord.properties,
  duid: Type.String(),
  'owner-display-name': Nullable(Type.String()),
  'access-record-count': Type.Integer(),
  masked: Type.Boolean({ description: 'Address lines and postcode are masked; GET /admin/identity-records/{ir}?reveal=true shows them (audited)' }),
});

/**
 * /v1/admin/identity-records — support staff find a customer across all Data Users. Every
 * lookup is a person reading customer data, so it is audited (`identity-record.read`), and
 * the address is masked until the person asks to reveal it, which is audited as such.
 */
const adminIdentityRecords: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['admin'], security: [{ bearer: [] }] };
  // Reads are open to support staff too; anonymising and removing passkeys stay admin-only.
  const staff = { roles: STAFF_ROLES };

  app.get(
    '/admin/identity-records',
    {
      config: staff,
      schema: {
        ...common,
        summary: 'Find identity records by MPxN and/or e-mail (keyed-hash lookup) across Data Users',
        querystring: Type.Object({ mpxn: Type.Optional(Mpxn), email: Type.Optional(Email), ...PagingQuery }, { additionalProperties: false }),
        response: { 200: Ok({ 'identity-records': Type.Array(AdminIdentity), total: Type.Integer(), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      const { mpxn, email } = req.query;
      if (!mpxn && !email) throw invalid('Give at least one of the query parameters mpxn or email');
      const { rows, total, nextCursor } = svc.identities.search(null, { mpxn, email }, req.query.limit ?? 200, req.query.cursor ? Number(req.query.cursor) : undefined);
      const counts = svc.identities.linkedCounts(rows.map((r) => r.ir));
      svc.identities.auditRead(req.account.accountId, req.ip, { mpxn, byEmail: !!email, found: rows.map((r) => r.ir) });
      return {
        response: envelope(req, reg.clock.now()),
        'identity-records': rows.map((r) => ({
          ...svc.identities.masked(svc.identities.toApi(r)),
          masked: true,
          duid: r.duid,
          'owner-display-name': svc.accounts.findByDuid(r.duid)?.displayName ?? null,
          'access-record-count': counts.get(r.ir) ?? 0,
        })),
        total,
        'next-cursor': nextCursor,
      };
    },
  );

  app.get(
    '/admin/identity-records/exists',
    {
      config: staff,
      schema: {
        ...common,
        summary: 'Existence and available re-identification methods for an MPxN',
        querystring: Type.Object({ mpxn: Mpxn }, { additionalProperties: false }),
        response: { 200: Ok({ mpxn: Type.String(), exists: Type.Boolean(), 'available-methods': Type.Array(Type.String()) }) },
      },
    },
    async (req) => {
      const { exists, methods } = svc.identities.availableMethods(req.query.mpxn);
      return { response: envelope(req, reg.clock.now()), mpxn: req.query.mpxn, exists, 'available-methods': methods };
    },
  );

  app.get(
    '/admin/identity-records/:ir',
    {
      config: staff,
      schema: {
        ...common,
        summary: 'One identity record with its owner, linked access records and re-identification history',
        description: 'Address and e-mail are masked unless reveal=true. Every call is audited (identity-record.read, with revealed true/false and the client address).',
        params: IrParams,
        querystring: Type.Object({ reveal: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false }),
        response: {
          200: Ok({
            'identity-record': IdentityRecord,
            email: Nullable(Type.String({ description: 'The e-mail on file: masked unless revealed' })),
            masked: Type.Boolean(),
            owner: Nullable(Type.Object({ duid: Type.String(), 'display-name': Type.String(), 'account-id': Type.String() })),
            'access-records': Type.Array(AccessRecordSummary),
            tokens: Type.Array(AdminToken),
          }),
        },
      },
    },
    async (req) => {
      const row = svc.identities.find(req.params.ir);
      if (!row) throw notFound(`Identity record ${req.params.ir}`);
      const owner = svc.accounts.findByDuid(row.duid);
      const nowIso = reg.clock.iso();
      const reveal = req.query.reveal === true;
      svc.identities.auditRead(req.account.accountId, req.ip, { ir: row.ir, revealed: reveal });
      const view = svc.identities.toApi(row);
      return {
        response: envelope(req, reg.clock.now()),
        'identity-record': reveal ? view : svc.identities.masked(view),
        email: svc.identities.emailForStaff(row, reveal),
        masked: !reveal,
        owner: owner ? { duid: owner.duid, 'display-name': owner.displayName, 'account-id': owner.accountId } : null,
        'access-records': svc.records.summariesForIdentity(row.ir, nowIso),
        tokens: adminTokenViews(reg, svc, svc.tokens.forIdentity(row.ir)),
      };
    },
  );

  app.delete(
    '/admin/identity-records/:ir',
    {
      schema: {
        ...common,
        summary: 'Anonymise an identity record (409 while a linked ACTIVE access record exists)',
        params: IrParams,
        response: { 200: Ok({ ir: Type.String(), 'anonymised-at': Type.String() }) },
      },
    },
    async (req) => {
      const row = svc.identities.find(req.params.ir);
      if (!row) throw notFound(`Identity record ${req.params.ir}`);
      const at = svc.identities.anonymise(req.account.accountId, row, null);
      return { response: envelope(req, reg.clock.now()), ir: row.ir, 'anonymised-at': `${at.slice(0, 19)}Z` };
    },
  );

  app.delete(
    '/admin/identity-records/:ir/credentials/:credentialId',
    {
      schema: { ...common, summary: 'Remove a passkey credential', params: Type.Object({ ir: Id('ir'), credentialId: Id('cred') }), response: { 204: Type.Null() } },
    },
    async (req, reply) => {
      if (!svc.identities.find(req.params.ir)) throw notFound(`Identity record ${req.params.ir}`);
      svc.identities.removeCredential(req.account.accountId, req.params.ir, req.params.credentialId);
      return reply.status(204).send(null);
    },
  );
};
export default adminIdentityRecords;
