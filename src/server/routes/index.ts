import { guardRoutes } from '../http/auth.js';
import type { App, Deps, RouteModule } from '../http/types.js';
import { ROLES, type Role } from '../../shared/vocabulary.js';
import accessRecords from './v1/access-records.js';
import adminAccounts from './v1/admin/accounts.js';
import adminAudit from './v1/admin/audit.js';
import adminClock from './v1/admin/clock.js';
import adminDeliveries from './v1/admin/deliveries.js';
import adminDiscovered from './v1/admin/discovered-access.js';
import adminIdentityRecords from './v1/admin/identity-records.js';
import adminOutbox from './v1/admin/outbox.js';
import adminRecords from './v1/admin/records.js';
import adminReidentifications from './v1/admin/reidentifications.js';
import adminSandbox from './v1/admin/sandbox.js';
import adminSnapshots from './v1/admin/snapshots.js';
import adminSettings from './v1/admin/settings.js';
import adminStats from './v1/admin/stats.js';
import adminWebhooks from './v1/admin/webhooks.js';
import auth from './v1/auth.js';
import cotEvents from './v1/cot-events.js';
import dataUsers from './v1/data-users.js';
import discoveredAccess from './v1/discovered-access.js';
import identityRecords from './v1/identity-records.js';
import meterPoints from './v1/meter-points.js';
import records from './v1/records.js';
import reidentification from './v1/reidentification.js';
import self from './v1/self.js';
import webhooks from './v1/webhooks.js';

/**
 * Every /v1 route module, grouped by who may call it. Files mirror the URL they serve. Each
 * group is one Fastify scope whose routes each get the `onRequest` auth hook (http/auth.ts
 * `guardRoutes`): it answers 401/403 before the body or query is even parsed, so a caller who may not use a
 * route learns nothing about its input rules. A route that admits other roles than its
 * scope says so in its own `config.roles` ('public' for none). The scope also states each
 * route's OpenAPI security (and, for /v1/admin, its tag), so route modules do not repeat them.
 */
const scopes: { roles: readonly Role[] | null; tag?: string; modules: RouteModule[] }[] = [
  // Basic credentials, checked by the route itself.
  { roles: null, modules: [auth] },
  { roles: ROLES, modules: [self] },
  { roles: ['data_user'], modules: [identityRecords, reidentification, accessRecords, records, webhooks] },
  { roles: ['data_user', 'portal'], modules: [meterPoints] },
  { roles: ['data_provider', 'data_user', 'admin'], modules: [dataUsers] },
  { roles: ['dcc'], modules: [discoveredAccess, cotEvents] },
  // Every /v1/admin route: one scope, one auth hook, one OpenAPI tag.
  {
    roles: ['admin'],
    tag: 'admin',
    modules: [adminAccounts, adminRecords, adminIdentityRecords, adminReidentifications, adminOutbox, adminDiscovered, adminSandbox, adminSnapshots, adminAudit, adminStats, adminSettings, adminWebhooks, adminDeliveries, adminClock],
  },
];

export function registerV1(app: App, deps: Deps): void {
  for (const { roles, tag, modules } of scopes) {
    void app.register(async (scope: App) => {
      if (roles) {
        guardRoutes(scope, deps.reg, deps.svc.accounts, roles);
        // The OpenAPI document states each route's authentication from the same source.
        scope.addHook('onRoute', (route) => {
          if (!route.schema || route.schema.hide) return;
          if (tag) route.schema.tags ??= [tag];
          if (route.config?.roles === 'public') delete route.schema.security;
          else route.schema.security ??= [{ bearer: [] }];
        });
      }
      for (const mod of modules) mod(scope, deps);
    });
  }
}
