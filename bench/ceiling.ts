/**
 * The ceiling: a bare Fastify app on the same machine that answers GET /c/<i> with the
 * i-th body from a JSON file (a real response body captured from the register), so it
 * returns a same-size, same-shape JSON body with no database, auth or validation work.
 * Fastify serialises it with JSON.stringify (no response schema), like any plain route.
 *
 * Usage: tsx bench/ceiling.ts <bodies.json>; prints "port <n>" once listening.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const bodies = JSON.parse(readFileSync(process.argv[2], 'utf8')) as unknown[];
const app = Fastify({ logger: false });
app.get<{ Params: { i: string } }>('/c/:i', async (req) => bodies[Number(req.params.i)] ?? {});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`port ${new URL(address).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
