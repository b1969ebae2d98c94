import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { Ok, STAFF_ROLES } from '../../../schemas/common.js';
import { registerStats } from '../../../services/stats.js';

const Counts = Type.Record(Type.String(), Type.Integer());

/** GET /v1/admin/stats — the overview's numbers. */
const adminStats: RouteModule = (app, { reg }) => {
  app.get(
    '/admin/stats',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: 'Counts by state, legal basis, role; tokens; webhooks; audit',
        response: {
          200: Ok({
            accounts: Type.Object({ 'by-role': Counts, 'by-status': Counts }),
            'access-records': Type.Object({ total: Type.Integer(), 'by-state': Counts, 'by-legal-basis': Counts }),
            'identity-records': Type.Object({ total: Type.Integer(), anonymised: Type.Integer() }),
            reidentifications: Type.Object({ pending: Type.Integer(), confirmed: Type.Integer(), expired: Type.Integer(), consumed: Type.Integer() }),
            webhooks: Type.Object({ subscriptions: Type.Integer(), pending: Type.Integer(), undelivered: Type.Integer(), delivered: Type.Integer() }),
            discovered: Type.Object({ total: Type.Integer(), superseded: Type.Integer() }),
            'audit-events': Type.Integer(),
            mode: Type.String(),
            now: Type.String(),
          }),
        },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), ...registerStats(reg) }),
  );
};
export default adminStats;
