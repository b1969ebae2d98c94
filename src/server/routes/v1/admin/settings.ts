import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { AdminSettings } from '../../../../shared/schemas/admin.js';
import { Ok } from '../../../../shared/schemas/common.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../config.js';

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** GET /v1/admin/settings — how this register is configured (no secrets). */
const adminSettings: RouteModule = (app, { reg }) => {
  app.get(
    '/admin/settings',
    {
      schema: {
        summary: "The register's configuration (mode, origin, WebAuthn RP, SMTP target, data folder)",
        response: {
          200: Ok(AdminSettings.properties),
        },
      },
    },
    async (req) => {
      const smtp = reg.config.smtpUrl ? new URL(reg.config.smtpUrl) : null;
      return {
        response: envelope(req, reg.clock.now()),
        mode: reg.config.mode,
        origin: reg.origin,
        'rp-id': reg.config.rpId ?? new URL(reg.origin).hostname,
        'rp-name': reg.config.rpName,
        // Host and port only: an SMTP URL may carry credentials.
        smtp: { configured: smtp !== null, target: smtp ? `${smtp.protocol}//${smtp.host}` : null },
        'data-dir': reg.config.dataDir,
        version: VERSION,
      };
    },
  );
};
export default adminSettings;
