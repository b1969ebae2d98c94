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
  return sendJsonText(reply, members === '' ? head : `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}${members}}`);
}

/**
 * The text of a JSON body around one last member that is already JSON text, written by the
 * database (sendRawJson's body, with that member between `before` and `after`). `plain` is
 * serialised here and must be an object.
 */
export function aroundRawJson(plain: Record<string, unknown>, key: string): { before: string; after: string } {
  const head = JSON.stringify(plain);
  return { before: `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}${JSON.stringify(key)}:`, after: '}' };
}

/** Sends a whole JSON body that is already text (see sendRawJson). */
export function sendJsonText(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body);
}
