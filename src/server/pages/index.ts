import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { App, Deps } from '../http/types.js';
import { CONSOLE_CSP } from './html.js';
import { registerIdPages } from './id/index.js';
import { registerPortal } from './portal/index.js';
import { lazyMount } from './lazy-mount.js';

/**
 * HTML served by the register itself: the operator console (/console), and the
 * customer-facing pages (magic-link landing, passkey ceremonies, portal, sandbox return).
 */
export async function registerPages(app: App, deps: Deps): Promise<void> {
  const { reg } = deps;
  registerPortal(app, deps);
  registerIdPages(app, deps);
  const consoleDir = reg.config.consoleDir;
  // The console's page and files carry its CSP (see html.ts), whichever path serves them.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.url.startsWith('/console')) reply.header('content-security-policy', CONSOLE_CSP);
    done();
  });
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  if (consoleDir && existsSync(join(consoleDir, 'index.html'))) {
    // Start-up time (docs/performance.md): the file server is loaded on the first request for a console file.
    lazyMount(app, ['/console/*'], async (sub) => {
      const { default: fastifyStatic } = await import('@fastify/static');
      await sub.register(fastifyStatic, { root: consoleDir, prefix: '/console/', decorateReply: false, index: false, wildcard: true });
    });
    // The console's entry page. With ignoreTrailingSlash this route answers /console and /console/
    // (a redirect between the two would loop); the app uses hash routing below it.
    app.get('/console', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(await readFile(join(consoleDir, 'index.html'), 'utf8')),
    );
  } else {
    app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.status(503).type('text/plain; charset=utf-8').send('The operator console has not been built. Run `npm run build`, then restart the register.'));
  }
}
