/**
 * Performance (see docs/performance.md): the security headers @fastify/helmet adds are the same on every
 * response of a register (its options are fixed at start-up), yet the plugin recomputes them
 * per request (two onRequest hooks and a chain of eleven middlewares): about 30 % of a bare
 * route's throughput on the benchmark machine. Here helmet runs once, with the same options,
 * on a throwaway app; the headers it added are captured and then set by one onRequest hook.
 * Every response carries exactly the headers helmet would have set, and a route or page can
 * still override any of them afterwards, as before.
 */
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify from 'fastify';

export async function helmetHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = async (withHelmet: boolean) => {
    const app = Fastify({ logger: false });
    if (withHelmet) await app.register(helmet, options);
    app.get('/', async () => 'probe');
    const res = await app.inject({ method: 'GET', url: '/' });
    await app.close();
    return res.headers;
  };
  const [bare, withHelmet] = [await probe(false), await probe(true)];
  const added: Record<string, string> = {};
  for (const [name, value] of Object.entries(withHelmet)) {
    if (bare[name] === undefined && value !== undefined) added[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return added;
}
