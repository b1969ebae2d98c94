import type { App, Deps } from '../../http/types.js';
import { registerReturnPage } from '../return.js';
import { ID_CSS, PASSKEY_JS, STEP_UP_WAIT_JS, simpleWebAuthnBrowser } from './assets.js';
import { registerMagicLinkPages } from './magic-link.js';
import { registerPasskeyPages } from './passkey.js';

/**
 * The customer-facing re-identification pages on the register's own origin:
 * /id/magic/<secret>, /id/passkey/{register,assert,done}, their assets under /id/assets/,
 * and the sandbox /return page.
 */
export function registerIdPages(app: App, deps: Deps): void {
  const asset = (type: string, body: () => string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-type', type).header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').send(body());
  app.get(
    '/id/assets/id.css',
    { schema: { hide: true } },
    asset('text/css; charset=utf-8', () => ID_CSS),
  );
  app.get(
    '/id/assets/passkey.js',
    { schema: { hide: true } },
    asset('text/javascript; charset=utf-8', () => PASSKEY_JS),
  );
  app.get(
    '/id/assets/step-up-wait.js',
    { schema: { hide: true } },
    asset('text/javascript; charset=utf-8', () => STEP_UP_WAIT_JS),
  );
  app.get('/id/assets/webauthn.js', { schema: { hide: true } }, asset('text/javascript; charset=utf-8', simpleWebAuthnBrowser));
  registerMagicLinkPages(app, deps);
  registerPasskeyPages(app, deps);
  registerReturnPage(app, deps);
}
