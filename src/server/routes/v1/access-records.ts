import { Type } from 'typebox';
import { ownership } from '../../http/auth.js';
import { envelope } from '../../http/envelope.js';
import { sendRawJson } from '../../http/raw-json.js';
import type { RouteModule } from '../../http/types.js';
import { apiTime } from '../../lib/clock.js';
import { idPattern } from '../../../shared/values.js';
import { forbidden, notFound } from '../../lib/errors.js';
import { AccessRecordInput, AccessRecordOutput } from '../../../shared/schemas/access-record.js';
import { CONSENT_BASES, REVOKE_REASONS } from '../../../shared/vocabulary.js';
import { Id, Nullable, Ok } from '../../../shared/schemas/common.js';

const AkParams = Type.Object({ ak: Id('ak') });
const AccessToken = Type.Object({ key: Type.String(), expiry: Nullable(Type.String()) });

/** /v1/access-records — create, replace, revoke, verify (contract §5). */
const accessRecords: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['access-records'] };
  // Another Data User's record is "not found" before its input is looked at (http/auth.ts).
  // A portal's right to withdraw depends on its token, in the query: checked in the handler.
  const ownAk = ownership('ak', idPattern('ak'), async (account, ak) => {
    if (account.role === 'data_user') await svc.records.getOwned(account.duid, ak);
  });

  app.post(
    '/access-records',
    {
      schema: {
        ...common,
        summary: 'Register an access record (identity-record-ref, or reidentification-token for a customer re-identified from another Data User)',
        body: AccessRecordInput,
        response: { 201: Ok({ 'access-token': AccessToken }) },
      },
    },
    async (req, reply) => {
      const row = await svc.records.create(req.account, req.body, {
        resolveToken: async (tokenRef) => (await svc.identities.find((await svc.tokens.consume(req.account.accountId, tokenRef, 'access-record')).ir))!,
      });
      reply.status(201).header('Location', `/v1/access-records/${row.ak}`);
      return { response: envelope(req, reg.clock.now()), 'access-token': { key: row.ak, expiry: row.expiry } };
    },
  );

  app.put(
    '/access-records/:ak',
    {
      onRequest: ownAk,
      schema: {
        ...common,
        summary: 'Replace one of your ACTIVE access records (ak, duid, created-at preserved)',
        params: AkParams,
        body: AccessRecordInput,
        response: { 200: Ok({ 'access-token': AccessToken }) },
      },
    },
    async (req) => {
      const row = await svc.records.replace(req.account, req.params.ak, req.body);
      return { response: envelope(req, reg.clock.now()), 'access-token': { key: row.ak, expiry: row.expiry } };
    },
  );

  app.delete(
    '/access-records/:ak',
    {
      config: { roles: ['data_user', 'portal'] },
      onRequest: ownAk,
      schema: {
        ...common,
        summary: "Revoke an ACTIVE record (owner; or a portal with the customer's re-identification token)",
        params: AkParams,
        querystring: Type.Object({ reason: Type.Optional(Type.Enum([...REVOKE_REASONS])), 'reidentification-token': Type.Optional(Id('mlr')) }, { additionalProperties: false }),
        response: { 200: Ok({ ak: Type.String(), 'revoked-at': Type.String() }) },
      },
    },
    async (req) => {
      const account = req.account;
      // Optional, as published: the consent.withdrawal payload then carries reason null.
      const reason = req.query.reason ?? null;
      const row = await svc.records.revoke(
        account.accountId,
        req.params.ak,
        reason,
        async (r) => {
          if (account.role === 'data_user') {
            if (r.duid !== account.duid) throw notFound(`Access record ${req.params.ak}`);
            return;
          }
          // Portal: on the customer's behalf only, with the token that opened this meter point.
          const tokenRef = req.query['reidentification-token'];
          if (!tokenRef) throw forbidden('A portal must pass the reidentification-token that opened this meter point');
          if (reason !== 'customer-request') throw forbidden('A portal may only withdraw with reason=customer-request');
          await svc.tokens.checkWithdrawal(account.accountId, tokenRef, r.mpxn);
          if (!CONSENT_BASES.includes(r.legalBasis ?? '')) throw forbidden('A portal may only withdraw consent-based records (uk-consent, uk-explicit-consent)');
        },
        async (revoked) => {
          // [ours] A withdrawal for the customer: a receipt to the address they proved (if any).
          if (account.role === 'portal') await svc.reidentification.withdrawalReceipt(req.query['reidentification-token']!, revoked);
        },
      );
      return { response: envelope(req, reg.clock.now()), ak: row.ak, 'revoked-at': apiTime(row.revokedAt)! };
    },
  );

  app.get(
    '/access-records/:ak',
    {
      config: { roles: 'public' },
      schema: {
        tags: ['access-records'],
        summary: 'Verify an access key (unauthenticated, for Data Providers). No PII.',
        params: AkParams,
        response: { 200: Ok({ 'access-record': AccessRecordOutput }) },
      },
    },
    async (req, reply) => {
      // Written by the database (services/record-json.ts): the register's hottest read (docs/performance.md).
      const record = await svc.records.recordJson(req.params.ak);
      if (record === undefined) throw notFound(`Access record ${req.params.ak}`);
      return sendRawJson(reply, { response: envelope(req, reg.clock.now()) }, { 'access-record': record });
    },
  );
};
export default accessRecords;
