import type { App, Deps, RouteModule } from '../http/types.js';
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

/** Every /v1 route module. Files mirror the URL they serve. */
const v1: RouteModule[] = [
  auth,
  self,
  identityRecords,
  reidentification,
  accessRecords,
  meterPoints,
  records,
  dataUsers,
  discoveredAccess,
  cotEvents,
  adminAccounts,
  adminRecords,
  adminIdentityRecords,
  adminReidentifications,
  adminOutbox,
  adminDiscovered,
  adminSandbox,
  adminAudit,
  adminStats,
  adminSettings,
  webhooks,
  adminWebhooks,
  adminDeliveries,
  adminClock,
];

export function registerV1(app: App, deps: Deps): void {
  for (const mod of v1) mod(app, deps);
}
