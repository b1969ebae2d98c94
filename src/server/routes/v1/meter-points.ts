import { Type } from 'typebox';
import { envelope } from '../../http/envelope.js';
import { aroundRawJson, sendJsonText } from '../../http/raw-json.js';
import { seqPage } from '../../http/paging.js';
import type { RouteModule } from '../../http/types.js';
import { forbidden } from '../../lib/errors.js';
import { AccessRecordSummary } from '../../../shared/schemas/access-record.js';
import { LEGAL_BASES, RECORD_STATES } from '../../../shared/vocabulary.js';
import { Id, Mpxn, NextCursor, Ok } from '../../../shared/schemas/common.js';
import { canonicalMpxn } from '../../../shared/values.js';

const NOT_LISTABLE = 'You hold no access record on this meter point that is or has been ACTIVE';

/** The MPxN a Data User's request was found allowed to list in onRequest, so the handler does not look again. */
const allowedMpxn = new WeakMap<object, string>();

/** GET /v1/meter-points/{mpxn}/access-records (contract §5, §7). */
const meterPoints: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/meter-points/:mpxn/access-records',
    {
      // A Data User with no record on the meter point is refused before its query is looked
      // at (http/auth.ts); a portal's right depends on its token, checked in the handler.
      // The MPxN is put in canonical form first (spaces, hyphens, the bill's S-box number), as
      // validation will, so every spelling of a meter point gets the same answer.
      onRequest: async (req) => {
        const mpxn = canonicalMpxn((req.params as { mpxn?: string }).mpxn ?? '');
        if (!mpxn || req.account.role !== 'data_user') return;
        if (!(await svc.records.mayListMeterPoint(req.account.duid, mpxn))) throw forbidden(NOT_LISTABLE);
        allowedMpxn.set(req, mpxn);
      },
      schema: {
        tags: ['access-records'],
        summary:
          'Every record and DISCOVERED access on a meter point (data_user with a record there that is or has been ACTIVE; portal with a confirmed token for this MPxN, consumed). [ours] Every listing is audited as meter-point.viewed and shown to the customer in /portal; a data_user sees only its own access keys (ak null on other records)',
        params: Type.Object({ mpxn: Mpxn }),
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Enum([...RECORD_STATES])),
            'legal-basis': Type.Optional(Type.Enum([...LEGAL_BASES])),
            'reidentification-token': Type.Optional(Id('mlr')),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
            cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'next-cursor from the previous page' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Ok({ mpxn: Type.String(), 'access-records': Type.Array(AccessRecordSummary), 'next-cursor': NextCursor }) },
      },
    },
    async (req, reply) => {
      const { mpxn } = req.params;
      const account = req.account;
      if (account.role === 'portal') {
        const tokenRef = req.query['reidentification-token'];
        if (!tokenRef) throw forbidden('A portal needs a confirmed reidentification-token for this meter point');
        // 403 for every token problem here: the portal may not see this meter point.
        // The first page consumes the token; further pages ([ours]) need that same consumed
        // token, for this MPxN, while its 30-minute window is open.
        await reg.tx(async () => {
          try {
            if (req.query.cursor) await svc.tokens.checkWithdrawal(account.accountId, tokenRef, mpxn);
            else await svc.tokens.consume(account.accountId, tokenRef, 'meter-point', { mpxn, withdrawWindow: true });
          } catch (err) {
            const e = err as { entries?: { message: string }[] };
            throw forbidden(e.entries?.[0]?.message ?? 'reidentification-token is not valid for this meter point');
          }
          await svc.records.recordView(account, mpxn, 'api');
        });
      } else {
        // Already checked in onRequest for this same MPxN (one lookup less per listing).
        if (allowedMpxn.get(req) !== mpxn && !(await svc.records.mayListMeterPoint(account.duid, mpxn))) throw forbidden(NOT_LISTABLE);
        // Audited in the group commit like any write (contract §5): one insert per listing.
        await reg.tx(() => svc.records.recordView(account, mpxn, 'api'));
      }
      // A meter point's listing is one page of up to 1000 by default (its schema's default).
      const { limit, cursor } = seqPage(req.query, 1000);
      // Summaries written by the database (services/record-json.ts, docs/performance.md), and
      // the whole body with them, around the page (queries.ts meterPointPage).
      const response = envelope(req, reg.clock.now());
      const around = (nextCursor: string | null) => {
        const { before, after } = aroundRawJson({ response, mpxn, 'next-cursor': nextCursor }, 'access-records');
        return { before: `${before}[`, after: `]${after}` };
      };
      const body = await svc.records.meterPointPage(
        mpxn,
        {
          // A Data User is not shown other Data Users' access keys; a portal acts for the customer.
          viewerDuid: account.role === 'data_user' ? account.duid : undefined,
          state: req.query.state,
          legalBasis: req.query['legal-basis'],
          limit,
          cursor,
        },
        around,
      );
      return sendJsonText(reply, body);
    },
  );
};
export default meterPoints;
