import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { Register } from '../context.js';
import type { Services } from '../services/index.js';

/** The Fastify instance type every route module receives (TypeBox-typed). */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** What a route module needs: the register and its services. */
export interface Deps {
  reg: Register;
  svc: Services;
}

export type RouteModule = (app: App, deps: Deps) => void;
