import type { FastifyReply } from 'fastify';

/**
 * A member's JSON text, already written: a string, UTF-8 bytes, or its parts in order (say
 * `['[', items, ']']` around a listing's joined items).
 */
export type RawJson = string | Buffer | readonly (string | Buffer)[];

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends a JSON body some of whose members are already JSON text: access records written
 * by SQLite (services/record-json.ts, docs/performance.md). `plain` members are serialised here; `raw`
 * members are spliced in as they are and must be valid JSON. Fastify sends a string or a
 * Buffer with a JSON content type untouched, so the route's response schema documents this
 * body without serialising it; the API tests check its shape.
 *
 * When a raw member comes as bytes (a whole listing read from SQLite as a blob), the body is
 * sent as one Buffer: a JavaScript string of a 225 KB listing would be built, measured for
 * Content-Length, flattened and encoded again (docs/performance.md, "1 December: listings").
 */
export function sendRawJson(reply: FastifyReply, plain: Record<string, unknown>, raw: Record<string, RawJson>): FastifyReply {
  const head = JSON.stringify(plain);
  const keys = Object.keys(raw);
  if (keys.length === 0) return reply.type(JSON_TYPE).send(head);
  const parts: (string | Buffer)[] = [`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}`];
  keys.forEach((key, i) => {
    parts.push(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`);
    const value = raw[key];
    if (typeof value === 'string' || Buffer.isBuffer(value)) parts.push(value);
    else parts.push(...value);
  });
  parts.push('}');
  if (parts.every((p) => typeof p === 'string')) return reply.type(JSON_TYPE).send(parts.join(''));
  return reply.type(JSON_TYPE).send(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
}
