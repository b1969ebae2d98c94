import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { AdminStats } from '../../../../shared/schemas/admin.js';
import { Ok } from '../../../../shared/schemas/common.js';
import { STAFF_ROLES } from '../../../../shared/vocabulary.js';
import { registerStats } from '../../../services/stats.js';

/** GET /v1/admin/stats — the overview's numbers. */
const adminStats: RouteModule = (app, { reg }) => {
  app.get(
    '/admin/stats',
    {
      // Read-only, or the re-identification desk: support staff too (docs/security.md "Roles").
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'Counts by state, legal basis, role; tokens; webhooks; audit',
        response: {
          200: Ok(AdminStats.properties),
        },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), ...(await registerStats(reg)) }),
  );
};
export default adminStats;
