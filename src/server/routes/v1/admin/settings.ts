import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { Nullable, Ok } from '../../../schemas/common.js';
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
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: "The register's configuration (mode, origin, WebAuthn RP, SMTP target, data folder)",
        response: {
          200: Ok({
            mode: Type.String(),
            origin: Type.String(),
            'rp-id': Type.String(),
            'rp-name': Type.String(),
            smtp: Type.Object({ configured: Type.Boolean(), target: Nullable(Type.String()) }),
            'data-dir': Nullable(Type.String()),
            version: Type.String(),
          }),
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
