import { Type } from 'typebox';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { apiTime } from '../../lib/clock.js';
import { notFound } from '../../lib/errors.js';
import { Id, Nullable, Ok } from '../../schemas/common.js';

export const DataUser = Type.Object({
  duid: Type.String(),
  'display-name': Type.String(),
  status: Type.String(),
  'registered-at': Type.String(),
  'suspended-at': Nullable(Type.String()),
  'contact-url': Nullable(Type.String()),
  'data-types-supported': Type.Array(Type.String()),
});

/** GET /v1/data-users/{duid} — the directory Data Providers check (contract §6). */
const dataUsers: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/data-users/:duid',
    {
      schema: {
        tags: ['directory'],
        security: [{ bearer: [] }],
        summary: 'A Data User in the directory',
        params: Type.Object({ duid: Id('duid') }),
        response: { 200: Ok({ 'data-user': DataUser }) },
      },
    },
    async (req) => {
      const row = svc.accounts.findByDuid(req.params.duid);
      if (!row || row.role !== 'data_user') throw notFound(`Data User ${req.params.duid}`);
      return {
        response: envelope(req, reg.clock.now()),
        'data-user': {
          duid: row.duid,
          'display-name': row.displayName,
          status: row.status,
          'registered-at': apiTime(row.registeredAt)!,
          'suspended-at': apiTime(row.suspendedAt),
          'contact-url': row.contactUrl,
          'data-types-supported': row.dataTypesSupported,
        },
      };
    },
  );
};
export default dataUsers;
