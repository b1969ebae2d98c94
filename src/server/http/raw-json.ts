import type { FastifyReply } from 'fastify';

/**
 * Sends a JSON body some of whose members are already JSON text: access records written
 * by SQLite (services/record-json.ts, docs/performance.md). `plain` members are serialised here; `raw`
 * members are spliced in as they are and must be valid JSON. Fastify sends a string with a
 * JSON content type untouched, so the route's response schema documents this body without
 * serialising it; the API tests check its shape.
 */
export function sendRawJson(reply: FastifyReply, plain: Record<string, unknown>, raw: Record<string, string>): FastifyReply {
  const head = JSON.stringify(plain);
  const members = Object.keys(raw)
    .map((key) => `${JSON.stringify(key)}:${raw[key]}`)
    .join(',');
  const body = members === '' ? head : `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}${members}}`;
  return reply.type('application/json; charset=utf-8').send(body);
}
