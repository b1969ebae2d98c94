import type { FastifyRequest } from 'fastify';

/** The `response` block every JSON body carries (contract §1). */
export function envelope(req: FastifyRequest, now: Date) {
  const q = req.url.indexOf('?');
  return {
    resource: q === -1 ? req.url : req.url.slice(0, q),
    timestamp: `${now.toISOString().slice(0, 19)}Z`,
    'transaction-id': req.id,
  };
}
