import { Type } from 'typebox';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { Ok } from '../../../shared/schemas/common.js';
import { DiscoveredAccessBody } from '../../../shared/schemas/dcc.js';

/** POST /v1/discovered-access — the DCC reports unregistered access (contract §8). */
const discoveredAccess: RouteModule = (app, { reg, svc }) => {
  app.post(
    '/discovered-access',
    {
      schema: {
        tags: ['dcc'],
        summary: 'Record DISCOVERED access (201); the same mpxn + organisation-reference again updates it (200)',
        body: DiscoveredAccessBody,
        response: { 200: Ok({ ak: Type.String(), state: Type.String() }), 201: Ok({ ak: Type.String(), state: Type.String() }) },
      },
    },
    async (req, reply) => {
      const { ak, created } = await svc.dcc.recordDiscovered(req.account.accountId, req.body);
      reply.status(created ? 201 : 200);
      if (created) reply.header('Location', `/v1/access-records/${ak}`);
      return { response: envelope(req, reg.clock.now()), ak, state: 'DISCOVERED' };
    },
  );
};
export default discoveredAccess;
