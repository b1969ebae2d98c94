import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyServerOptions, type preValidationHookHandler } from 'fastify';
import type { Register } from './context.js';
import { ErrorBodySchema } from '../shared/schemas/common.js';
import { frameworkErrorHandler, installErrorHandler } from './http/error-handler.js';
import { databaseUnavailable } from './db/postgres-store.js';
import { withDocumentedStatuses } from './http/documented-statuses.js';
import { installReadiness, Readiness, readinessRoutes } from './http/readiness.js';
import { lazyCompilers } from './http/schema-compilers.js';
import { OneRecordPerRequest, redactingLogger } from './http/log-redaction.js';
import { helmetHeaders } from './http/static-headers.js';
import type { App } from './http/types.js';
import { newId } from './lib/ids.js';
import { canonicaliser, valueKeywords } from './lib/values.js';
import { registerV1 } from './routes/index.js';
import { registerPages } from './pages/index.js';
import { describeDeviations } from './schemas/deviations.js';
import { lazyMount } from './pages/lazy-mount.js';
import { createServices, type Services } from './services/index.js';

export const BODY_LIMIT = 256 * 1024;

/**
 * Builds the register's HTTP app. It does not listen: `start.ts` does that, and tests
 * call `app.inject()` on it directly.
 */
export async function buildApp(reg: Register, logger: FastifyServerOptions['logger'] = false, readiness: Readiness = new Readiness()): Promise<{ app: App; svc: Services; readiness: Readiness }> {
  // Performance (see docs/performance.md): schemas compile on first use / in the background after listen,
  // and nullable response fields serialise without Ajv. See http/schema-compilers.ts.
  const compilers = lazyCompilers(`values:${reg.config.mode}`);
  const app = Fastify({
    // URLs, headers and error details are redacted before they reach the log (http/log-redaction.ts).
    logger: redactingLogger(logger),
    // One record per request, written when the answer has gone (http/log-redaction.ts).
    logController: new OneRecordPerRequest(),
    schemaController: compilers.schemaController as FastifyServerOptions['schemaController'],
    // Router errors (bad %-escapes, over-long path parameters) answer in the error envelope too.
    frameworkErrors: frameworkErrorHandler(reg.clock),
    genReqId: () => newId('tid'),
    // `req.ip` is the socket address unless the connection comes from a proxy named in
    // --trust-proxy; only then does X-Forwarded-For count (docs/security.md).
    trustProxy: reg.config.trustProxy.length > 0 ? reg.config.trustProxy : false,
    bodyLimit: BODY_LIMIT,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { allErrors: true, removeAdditional: false }, plugins: [[valueKeywords, { mode: reg.config.mode }]] },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // One canonical form for every value (contract §1): fields marked `x-canonical` are
  // rewritten before validation, so handlers, services and storage see only that form.
  // Which parts of a route hold such fields is decided once per route, and only those routes
  // get the hook (as their first own preValidation hook): the others, verify among them,
  // skip it (docs/performance.md).
  app.addHook('onRoute', (route) => {
    const schema = route.schema;
    if (!schema) return;
    const [body, query, params] = [canonicaliser(schema.body), canonicaliser(schema.querystring), canonicaliser(schema.params)];
    if (!body && !query && !params) return;
    const canonical: preValidationHookHandler = (req, _reply, done) => {
      if (body && req.body) body(req.body);
      if (query && req.query) query(req.query);
      if (params && req.params) params(req.params);
      done();
    };
    const own = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    // A new array: a GET route's HEAD twin was copied from the same options before this hook.
    route.preValidation = [canonical, ...own];
  });

  // PostgreSQL unreachable (restarting, failing over): 503 SRV001 + Retry-After, not 500 (docs/deploying.md).
  const onPostgres = reg.store.engine === 'postgres';
  installErrorHandler(app, reg.clock, onPostgres ? databaseUnavailable : undefined);
  // Many HTTP clients send `Content-Type: application/json` on every request, DELETE
  // included, with no body. An empty JSON body therefore parses as no body: a bodyless
  // route just works, and a route that needs a body still answers 400 naming it. Anything
  // else goes to Fastify's own JSON parser (same poisoning rules).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.length === 0) return done(null, undefined);
    // Fastify's own parser answers through `done` (its type also allows a promise-returning parser).
    void jsonParser(req, body as string, done);
  });
  app.addHook('onListen', async () => {
    void compilers.warmUp((err) => app.log.error({ err }, 'a route schema failed to compile'));
  });
  const svc = createServices(reg);

  // Helmet's headers, computed once and set by one hook (see docs/performance.md and http/static-headers.ts).
  const securityHeaders = await helmetHeaders({
    // Pages set their own CSP (see pages/); the JSON API needs none beyond no framing.
    contentSecurityPolicy: false,
    frameguard: { action: 'deny' },
    hsts: reg.config.mode === 'production',
  });
  // Nothing the register answers may be kept by a browser or proxy cache unless its route says
  // so: API answers carry bearer tokens, secrets, token-refs and personal data, or a record's
  // state that must never be served stale after a revocation, and the customer pages show a
  // meter point's records. Only static assets (and the console's entry page, `no-cache`) opt
  // back in to caching, by setting their own Cache-Control.
  securityHeaders['cache-control'] = 'no-store';
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });
  // Until the register is ready, 503 + Retry-After: ahead of every route's own hooks
  // (authentication included), after the security headers so those answers carry them too.
  installReadiness(app, readiness, reg.clock);
  // Group commit (docs/performance.md): no answer leaves before what it acknowledges or shows is on disk.
  // One fsync serves every request that committed meanwhile (db/group-commit.ts). A 5xx
  // acknowledges nothing, and waiting again when the sync itself failed would loop.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (reply.statusCode >= 500 || !reg.durability.pending) return done(null, payload);
    reg.durability.durable().then(
      () => done(null, payload),
      (err: Error) => done(err),
    );
  });
  await app.register(formbody, { bodyLimit: 16 * 1024 });

  await app.register(swagger, {
    // Every status each route can answer, in the document (http/documented-statuses.ts).
    transform: withDocumentedStatuses as never,
    // The contract's deliberate deviations, summarised in info and repeated per operation.
    transformObject: (doc) => describeDeviations((doc as { openapiObject: Parameters<typeof describeDeviations>[0] }).openapiObject) as never,
    openapi: {
      info: {
        title: 'Data Access Register API',
        version: '1.0.0',
        description: 'Which organisations hold lawful access to a UK smart meter point, under which UK GDPR basis. Errors use the envelope {response, errors[{error-code, message}]}.',
      },
      servers: [{ url: reg.origin }],
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
  });

  await app.register(
    async (v1) => {
      // The API speaks JSON only: anything else is 415, not a confusing schema error.
      v1.removeContentTypeParser(['text/plain', 'application/x-www-form-urlencoded']);
      // Every route documents the error envelope for 4xx/5xx alongside its success schema.
      v1.addHook('onRoute', (route) => {
        if (!route.schema || route.schema.hide) return;
        const response = (route.schema.response ?? {}) as Record<string, unknown>;
        route.schema.response = { ...response, '4xx': response['4xx'] ?? ErrorBodySchema, '5xx': response['5xx'] ?? ErrorBodySchema };
      });
      registerV1(v1 as App, { reg, svc });
      v1.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/v1' },
  );
  // Start-up time (docs/performance.md): the documentation UI is loaded on its first visit (see pages/lazy-mount.ts).
  // It shows this app's OpenAPI document, complete once the app is ready, served as is.
  lazyMount(app, ['/docs', '/docs/*'], async (sub) => {
    const { default: swaggerUi } = await import('@fastify/swagger-ui');
    // (`app.swagger()` is typed as any OpenAPI version; static mode's option names 2.0 and 3.0 only.)
    await sub.register(swagger, { mode: 'static', specification: { document: app.swagger() as never } });
    await sub.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { docExpansion: 'list', deepLinking: true } });
  });
  readinessRoutes(app, reg.clock, onPostgres ? () => reg.store.rows(sql`select 1`) : undefined);
  // The pages, in a scope of their own: only they read or set cookies, so the cookie plugin's
  // hooks (and the console's CSP hook) do not run for every API request (docs/performance.md,
  // "Per-request hooks").
  await app.register(async (pages) => {
    await pages.register(cookie, { secret: reg.keys.signingKey.toString('base64') });
    await registerPages(pages as App, { reg, svc });
  });
  return { app, svc, readiness };
}
