import { Type } from 'typebox';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { apiTime } from '../../lib/clock.js';
import { notFound } from '../../lib/errors.js';
import { DataUser } from '../../../shared/schemas/account.js';
import { Id, Ok } from '../../../shared/schemas/common.js';
import type { AccountStatus } from '../../../shared/vocabulary.js';

/** GET /v1/data-users/{duid} — the directory Data Providers check (contract §6). */
const dataUsers: RouteModule = (app, { reg, svc }) => {
  app.get(
    '/data-users/:duid',
    {
      schema: {
        tags: ['directory'],
        summary: 'A Data User in the directory',
        params: Type.Object({ duid: Id('duid') }),
        response: { 200: Ok({ 'data-user': DataUser }) },
      },
    },
    async (req) => {
      const row = await svc.accounts.findByDuid(req.params.duid);
      if (!row || row.role !== 'data_user') throw notFound(`Data User ${req.params.duid}`);
      return {
        response: envelope(req, reg.clock.now()),
        'data-user': {
          duid: row.duid,
          'display-name': row.displayName,
          status: row.status as AccountStatus,
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
