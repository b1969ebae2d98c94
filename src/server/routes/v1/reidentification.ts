import { ownership } from '../../http/auth.js';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { notFound } from '../../lib/errors.js';
import { idPattern } from '../../../shared/values.js';
import { IrParams } from '../../../shared/schemas/identity-record.js';
import { IrTokenParams, ReIdentifyBody, ReIdentifyByMpxnBody, ReIdentifyResponse, TokenRefParams, TokenStatusResponse } from '../../../shared/schemas/reidentification.js';

/**
 * Re-identification (contract §4): start a magic-link or passkey ceremony and poll its
 * token. The ceremonies themselves run on the register's own pages (pages/id/).
 */
const reidentification: RouteModule = (app, { reg, svc }) => {
  const dataUserOrPortal = { roles: ['data_user', 'portal'] as const };
  const common = { tags: ['re-identification'] };
  // Another Data User's identity record is "not found" before the body is looked at (http/auth.ts).
  const ownIr = ownership('ir', idPattern('ir'), async (account, ir) => {
    await svc.identities.getOwned(account.duid, ir);
  });

  app.post(
    '/identity-records/:ir/re-identify',
    {
      onRequest: ownIr,
      schema: {
        ...common,
        summary: 'Re-identify the customer behind one of your identity records (magic link or passkey)',
        description:
          'magic-link needs an e-mail on the record (else 422 VAL003); passkey-assert needs a registered passkey (else 422 VAL003). ' +
          '[ours] A record with neither an e-mail nor a passkey cannot be re-identified (422 VAL003, every method); passkey-register first makes the customer prove the e-mail or an existing passkey. ' +
          'redirect-url / passkey-return-url must exactly match one of your pre-registered return URLs (else 400). ' +
          'Anonymised record → 409; not yours → 404. At most 5 starts per meter point per 15 minutes (429 RATE001).',
        params: IrParams,
        body: ReIdentifyBody,
        response: { 200: ReIdentifyResponse },
      },
    },
    async (req) => {
      const identity = await svc.identities.getOwned(req.account.duid, req.params.ir);
      const result = await svc.reidentification.startForRecord(req.account, identity, req.body.method, {
        redirectUrl: req.body['redirect-url'] ?? null,
        returnUrl: req.body['passkey-return-url'] ?? null,
      });
      return { response: envelope(req, reg.clock.now()), ...result };
    },
  );

  app.get(
    '/identity-records/:ir/re-identify/:tokenRef',
    {
      config: dataUserOrPortal,
      schema: {
        ...common,
        summary: 'Status of a re-identification you started on an identity record',
        params: IrTokenParams,
        response: { 200: TokenStatusResponse },
      },
    },
    async (req) => {
      const row = await svc.tokens.find(req.params.tokenRef);
      if (!row || row.ir !== req.params.ir) throw notFound(`Re-identification token ${req.params.tokenRef}`);
      const mine = await svc.tokens.getInitiatedBy(req.account.accountId, req.params.tokenRef);
      return { response: envelope(req, reg.clock.now()), ...(await svc.tokens.statusBody(mine)) };
    },
  );

  app.post(
    '/identity-records/reidentify',
    {
      config: dataUserOrPortal,
      schema: {
        ...common,
        summary: 'Cross-Data-User / portal: re-identify the customer at an MPxN without learning the ir',
        description:
          "The register picks the eligible identity record for the MPxN (404 if none), never reveals its ir, and shows the customer the initiating account's display-name. " +
          '[ours] Eligible = the newest record that is not anonymised, has an e-mail or a passkey, and whose move-in-date is on or after the latest change-of-tenancy effective-date for the MPxN; ' +
          'records of the current occupant without either factor → 422 VAL003. passkey-register first makes the customer prove the e-mail or an existing passkey. ' +
          'The challenge names the organisation that registered the contact details used. At most 5 e-mail-sending starts (magic-link, passkey-register) per account and meter point per 15 minutes (429 RATE001); passkey-assert is counted apart.',
        body: ReIdentifyByMpxnBody,
        response: { 200: ReIdentifyResponse },
      },
    },
    async (req) => {
      const { result } = await svc.reidentification.startForMpxn(req.account, req.body.mpxn, req.body.method, {
        redirectUrl: req.body['redirect-url'] ?? null,
        returnUrl: req.body['passkey-return-url'] ?? null,
      });
      return { response: envelope(req, reg.clock.now()), ...result };
    },
  );

  app.get(
    '/identity-records/reidentify/:tokenRef',
    {
      config: dataUserOrPortal,
      schema: {
        ...common,
        summary: 'Status of a cross-Data-User / portal re-identification (another account’s token → 403, unknown → 404)',
        params: TokenRefParams,
        response: { 200: TokenStatusResponse },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), ...(await svc.tokens.statusBody(await svc.tokens.getInitiatedBy(req.account.accountId, req.params.tokenRef))) }),
  );
};
export default reidentification;
