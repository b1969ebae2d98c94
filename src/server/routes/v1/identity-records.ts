import { Type } from 'typebox';
import { ownership } from '../../http/auth.js';
import { envelope } from '../../http/envelope.js';
import type { FastifyContextConfig } from 'fastify';
import { seqPage } from '../../http/paging.js';
import type { App, Deps, RouteModule } from '../../http/types.js';
import { ApiError, invalid } from '../../lib/errors.js';
import { idPattern } from '../../../shared/values.js';
import { Email, Id, Mpxn, NextCursor, Nullable, Ok, PagingQuery } from '../../../shared/schemas/common.js';
import { CreateIdentityRecordBody, IdentityRecord, IrParams, PasskeyRedirect } from '../../../shared/schemas/identity-record.js';
import { ExistsAnswer, ExistsQuery } from '../../../shared/schemas/reidentification.js';

/**
 * GET …/identity-records/exists: whether an identity record exists for an MPxN and which
 * re-identification methods it offers. One handler for the Data User / portal route and the
 * staff one (routes/v1/admin/identity-records.ts); they differ only in who may call them.
 */
export function existsRoute(app: App, { reg, svc }: Deps, url: string, route: { config: FastifyContextConfig; tags?: string[]; summary: string; description?: string }): void {
  const { config, ...doc } = route;
  app.get(url, { config, schema: { ...doc, querystring: ExistsQuery, response: { 200: Ok(ExistsAnswer.properties) } } }, async (req) => {
    const { exists, methods } = await svc.identities.availableMethods(req.query.mpxn);
    return { response: envelope(req, reg.clock.now()), mpxn: req.query.mpxn, exists, 'available-methods': methods };
  });
}

/** /v1/identity-records — the person-property relationship (contract §3). */
const identityRecords: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['identity-records'] };
  // Another Data User's identity record is "not found" before the rest is looked at (http/auth.ts).
  const ownIr = ownership('ir', idPattern('ir'), (account, ir) => svc.identities.getOwned(account.duid, ir));

  app.post(
    '/identity-records',
    {
      schema: {
        ...common,
        summary: 'Create an identity record (optionally start passkey registration)',
        body: CreateIdentityRecordBody,
        response: { 201: Ok({ ir: Type.String(), 'passkey-registration-redirect': Nullable(PasskeyRedirect) }) },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const wantsPasskey = body['initiate-passkey-registration'] === true;
      const returnUrl = body['passkey-return-url'] ?? null;
      if (wantsPasskey) {
        if (!returnUrl) throw invalid('passkey-return-url is required when initiate-passkey-registration is true');
        if (!req.account.returnUrls.includes(returnUrl)) throw invalid('passkey-return-url must exactly match one of your pre-registered return URLs');
        if (!svc.reidentification) throw new ApiError(501, 'SRV001', 'Passkey registration is not available on this register');
      }
      const { row, passkey } = await reg.tx(async () => {
        const row = await svc.identities.create(req.account.accountId, req.account.duid, body);
        const passkey = wantsPasskey ? (await svc.reidentification!.startOnboarding(req.account, row, { returnUrl })).passkey : null;
        return { row, passkey };
      });
      reply.status(201).header('Location', `/v1/identity-records/${row.ir}`);
      return { response: envelope(req, reg.clock.now()), ir: row.ir, 'passkey-registration-redirect': passkey };
    },
  );

  app.get(
    '/identity-records',
    {
      schema: {
        ...common,
        summary: 'Find your identity records by MPxN and/or e-mail (both = AND)',
        querystring: Type.Object({ mpxn: Type.Optional(Mpxn), email: Type.Optional(Email), ...PagingQuery }, { additionalProperties: false }),
        response: { 200: Ok({ 'identity-records': Type.Array(IdentityRecord), 'next-cursor': NextCursor }) },
      },
    },
    async (req) => {
      if (!req.query.mpxn && !req.query.email) throw invalid('Give at least one of the query parameters mpxn or email');
      const { mpxn, email } = req.query;
      const { limit, cursor } = seqPage(req.query);
      const { rows, nextCursor } = await svc.identities.search(req.account.duid, { mpxn, email }, limit, cursor);
      const views = [];
      for (const r of rows) views.push(await svc.identities.toApi(r));
      return { response: envelope(req, reg.clock.now()), 'identity-records': views, 'next-cursor': nextCursor };
    },
  );

  existsRoute(app, { reg, svc }, '/identity-records/exists', {
    config: { roles: ['data_user', 'portal'] },
    tags: ['re-identification'],
    summary: 'Does an identity record exist for this MPxN (any Data User)? Never returns an ir or PII',
    description: '[ours] Answers from the eligible record (see POST /identity-records/reidentify). passkey-register is listed only together with magic-link or passkey-assert; a record with neither factor gives an empty list.',
  });

  app.get('/identity-records/:ir', { schema: { ...common, summary: 'One of your identity records', params: IrParams, response: { 200: Ok({ 'identity-record': IdentityRecord }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    'identity-record': await svc.identities.toApi(await svc.identities.getOwned(req.account.duid, req.params.ir)),
  }));

  app.delete(
    '/identity-records/:ir',
    {
      schema: {
        ...common,
        summary: "Anonymise (GDPR Art. 17): destroys PII, keeps ir and links; 409 while an ACTIVE record is linked (naming only the caller's own access keys [ours])",
        params: IrParams,
        response: { 200: Ok({ ir: Type.String(), 'anonymised-at': Type.String() }) },
      },
    },
    async (req) => {
      const row = await svc.identities.getOwned(req.account.duid, req.params.ir);
      const at = await svc.identities.anonymise(req.account.accountId, row, req.account.duid);
      return { response: envelope(req, reg.clock.now()), ir: row.ir, 'anonymised-at': `${at.slice(0, 19)}Z` };
    },
  );

  app.delete(
    '/identity-records/:ir/credentials/:credentialId',
    {
      onRequest: ownIr,
      schema: {
        ...common,
        summary: 'Remove a passkey credential from your identity record',
        params: Type.Object({ ir: Id('ir'), credentialId: Id('cred') }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await svc.identities.getOwned(req.account.duid, req.params.ir);
      await svc.identities.removeCredential(req.account.accountId, req.params.ir, req.params.credentialId);
      return reply.status(204).send(null);
    },
  );
};
export default identityRecords;
