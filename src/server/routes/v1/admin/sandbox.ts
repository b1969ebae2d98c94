import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { ApiError } from '../../../lib/errors.js';
import { Ok } from '../../../../shared/schemas/common.js';
import { CotEventBody, DiscoveredAccessBody } from '../../../../shared/schemas/dcc.js';

/**
 * /v1/admin/sandbox/* — in sandbox mode, an operator can act as the DCC to try out
 * DISCOVERED access and change-of-tenancy handling. Refused in production.
 */
const adminSandbox: RouteModule = (app, { reg, svc }) => {
  const sandboxOnly = async () => {
    if (reg.config.mode !== 'sandbox') throw new ApiError(403, 'AUTH003', 'Only available in sandbox mode');
  };

  app.post(
    '/admin/sandbox/discovered-access',
    {
      onRequest: sandboxOnly,
      schema: {
        summary: 'Sandbox: record DISCOVERED access as the DCC would',
        body: DiscoveredAccessBody,
        response: { 200: Ok({ ak: Type.String(), state: Type.String() }), 201: Ok({ ak: Type.String(), state: Type.String() }) },
      },
    },
    async (req, reply) => {
      const { ak, created } = await svc.dcc.recordDiscovered(req.account.accountId, req.body);
      reply.status(created ? 201 : 200);
      return { response: envelope(req, reg.clock.now()), ak, state: 'DISCOVERED' };
    },
  );

  const CotResponse = Ok({ mpxn: Type.String(), 'effective-date': Type.String(), 'source-reference': Type.String(), 'active-records-affected': Type.Integer(), 'data-users-notified': Type.Array(Type.String()) });
  app.post('/admin/sandbox/cot-events', { onRequest: sandboxOnly, schema: { summary: 'Sandbox: record a change of tenancy as the DCC would', body: CotEventBody, response: { 200: CotResponse, 201: CotResponse } } }, async (req, reply) => {
    const r = await svc.dcc.changeOfTenancy(req.account.accountId, req.body);
    reply.status(r.created ? 201 : 200);
    return { response: envelope(req, reg.clock.now()), ...req.body, 'active-records-affected': r.affected, 'data-users-notified': r.notified };
  });
};
export default adminSandbox;
