import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';

/** The `response` block every JSON body carries (contract §1). */
export function envelope(req: FastifyRequest, now: Date) {
  const q = req.url.indexOf('?');
  return {
    resource: q === -1 ? req.url : req.url.slice(0, q),
    timestamp: `${now.toISOString().slice(0, 19)}Z`,
    'transaction-id': req.id,
  };
}

export const EnvelopeSchema = Type.Object({
  resource: Type.String(),
  timestamp: Type.String(),
  'transaction-id': Type.String(),
});

export const ErrorBodySchema = Type.Object({
  response: EnvelopeSchema,
  errors: Type.Array(Type.Object({ 'error-code': Type.String(), message: Type.String() })),
});
