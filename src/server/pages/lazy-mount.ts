import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../http/types.js';

/**
 * Start-up time (docs/performance.md): the API documentation (/docs, @fastify/swagger-ui) and the console's
 * static files (/console/*, @fastify/static) are plugins that pull in dozens of files from
 * node_modules (glob, send, mime, yaml, …). Loading them cost ~0.1–0.3 s of every start, yet
 * no API request needs them, and Fastify cannot add routes once it listens.
 *
 * So the app gets plain GET (and HEAD) routes for those paths, and the plugins are loaded on
 * the first request that reaches one, into a separate bare Fastify instance. Each request is
 * handed to that instance with `inject` and its answer (status, headers, body) is sent by the
 * app's own reply, so the app's hooks (security headers, logging) apply exactly as before.
 * "Not found" and errors inside the plugin go back to the app's own 404 and error handlers,
 * so those answers keep the API's error envelope.
 */
export function lazyMount(app: App, urls: string[], setup: (sub: FastifyInstance) => Promise<void>): void {
  let loading: Promise<FastifyInstance> | null = null;
  // Errors raised inside the sub-app, by request, for the app's error handler.
  const failures = new Map<string, unknown>();
  let nextId = 0;

  const load = () =>
    (loading ??= (async () => {
      // Same router behaviour as the app (trailing slashes, parameter length).
      const sub = Fastify({ logger: false, routerOptions: app.initialConfig.routerOptions });
      sub.setNotFoundHandler((_req, reply) => reply.code(404).header(NOT_FOUND, '1').send());
      sub.setErrorHandler((err, req, reply) => {
        failures.set(String(req.headers[REQUEST_ID]), err);
        return reply.code(500).header(FAILED, '1').send();
      });
      await setup(sub);
      await sub.ready();
      return sub;
    })().catch((err: unknown) => {
      loading = null; // try again on the next request
      throw err;
    }));

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const sub = await load();
    const id = String(++nextId);
    // HEAD is answered by Fastify from the GET answer (it sets content-length and drops the
    // body), as it did when the plugins were registered on the app itself.
    const res = await sub.inject({ method: 'GET', url: req.url, headers: { ...req.headers, [REQUEST_ID]: id }, remoteAddress: req.ip });
    const notFound = res.headers[NOT_FOUND] !== undefined;
    const failed = res.headers[FAILED] !== undefined;
    // Headers the plugin's own hooks added (e.g. the docs' CSP) are kept on its 404s and
    // errors too; the app's handlers write the body and its type.
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || NOT_RELAYED.has(name) || ((notFound || failed) && name === 'content-type')) continue;
      reply.header(name, value);
    }
    if (notFound) return reply.callNotFound();
    if (failed) {
      const err = failures.get(id);
      failures.delete(id);
      throw err;
    }
    reply.code(res.statusCode);
    // An empty answer (a redirect) is sent without a body, so it gets no content-type either.
    return res.rawPayload.length > 0 ? reply.send(res.rawPayload) : reply.send();
  };
  for (const url of urls) app.get(url, { schema: { hide: true } }, handler);

  app.addHook('onClose', async () => {
    if (loading) await (await loading.catch(() => null))?.close();
  });
}

const REQUEST_ID = 'x-dar-lazy-mount-id';
const NOT_FOUND = 'x-dar-lazy-mount-not-found';
const FAILED = 'x-dar-lazy-mount-failed';
/** Set by the app's own reply (length of the body it sends) or per connection. */
const NOT_RELAYED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', REQUEST_ID, NOT_FOUND, FAILED]);
