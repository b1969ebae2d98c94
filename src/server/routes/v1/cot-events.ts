import { Type } from 'typebox';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { Ok } from '../../../shared/schemas/common.js';
import { CotEventBody } from '../../../shared/schemas/dcc.js';

const CotResponse = Ok({
  mpxn: Type.String(),
  'effective-date': Type.String(),
  'source-reference': Type.String(),
  'active-records-affected': Type.Integer(),
  'data-users-notified': Type.Array(Type.String()),
});

/** POST /v1/cot-events — change of tenancy from the DCC (contract §8). */
const cotEvents: RouteModule = (app, { reg, svc }) => {
  app.post(
    '/cot-events',
    {
      schema: {
        tags: ['dcc'],
        summary: 'Record a change of tenancy; notifies each affected Data User of only its own ACTIVE keys. Same triple again → 200, no new webhooks',
        body: CotEventBody,
        response: { 200: CotResponse, 201: CotResponse },
      },
    },
    async (req, reply) => {
      const result = await svc.dcc.changeOfTenancy(req.account.accountId, req.body);
      reply.status(result.created ? 201 : 200);
      return {
        response: envelope(req, reg.clock.now()),
        ...req.body,
        'active-records-affected': result.affected,
        'data-users-notified': result.notified,
      };
    },
  );
};
export default cotEvents;
