import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Clock } from '../lib/clock.js';
import { ErrorBodySchema } from '../../shared/schemas/common.js';
import { envelope } from './envelope.js';
import type { App } from './types.js';

/**
 * Whether the register may answer requests yet (contract §10, [ours] `GET /health` and
 * `GET /ready`). The socket may be open before the register is ready: with `--port 0` the
 * demo data's return URLs name the port, so they are seeded after listening. Until ready,
 * every request but the liveness probe answers 503 with `Retry-After`, so an early client
 * retries instead of seeing a 401 for a demo account that is not there yet. Shutting
 * down makes the register not ready again.
 *
 * Ready by default: a register that is never told otherwise (a test using `inject`, an
 * app built without `listen`) has nothing to wait for.
 */
export class Readiness {
  private notReadyBecause: string | null = null;

  get ready(): boolean {
    return this.notReadyBecause === null;
  }

  /** Why the register is not ready, or null when it is. */
  get reason(): string | null {
    return this.notReadyBecause;
  }

  notReady(reason: string): void {
    this.notReadyBecause = reason;
  }

  markReady(): void {
    this.notReadyBecause = null;
  }
}

/** Seconds a client should wait before retrying while the register is not ready. */
export const RETRY_AFTER_SECONDS = 1;

const Probe = Type.Object({
  response: Type.Object({ resource: Type.String(), timestamp: Type.String(), 'transaction-id': Type.String() }),
  status: Type.Union([Type.Literal('live'), Type.Literal('ready')]),
});

/** The readiness gate: an onRequest hook, ahead of any route's own. */
export function installReadiness(app: App, readiness: Readiness, clock: Clock): void {
  const notReady = (req: FastifyRequest, reply: FastifyReply) =>
    reply
      .header('Retry-After', String(RETRY_AFTER_SECONDS))
      .header('Cache-Control', 'no-store')
      .status(503)
      .type('application/json; charset=utf-8')
      .send({
        response: envelope(req, clock.now()),
        errors: [{ 'error-code': 'SRV001', message: `The register is not ready (${readiness.reason}); retry after ${RETRY_AFTER_SECONDS} s` }],
      });
  const isLiveness = (url: string) => /^\/(?:v1\/)?health(?:\?|$)/.test(url);

  app.addHook('onRequest', (req, reply, done) => {
    if (readiness.ready || isLiveness(req.url)) return done();
    notReady(req, reply);
  });
}

/**
 * `GET /health` and `GET /ready`, also under the API's base path; registered after swagger so they are documented.
 * `probe` (PostgreSQL: a `select 1`) makes `/ready` also ask the database: while it is
 * unreachable the probe throws and the error handler answers 503 SRV001, so a load balancer
 * stops sending this node requests it could only fail. `/health` never asks it: the process is
 * alive, and restarting it would not bring the database back.
 */
export function readinessRoutes(app: App, clock: Clock, probe?: () => Promise<unknown>): void {
  for (const prefix of ['', '/v1']) {
    app.get(
      `${prefix}/health`,
      {
        schema: {
          tags: ['health'],
          summary: 'Liveness: 200 while the process answers at all (even while starting or stopping)',
          response: { 200: Probe, '5xx': ErrorBodySchema },
        },
      },
      async (req, reply) => {
        reply.header('Cache-Control', 'no-store');
        return { response: envelope(req, clock.now()), status: 'live' as const };
      },
    );
    app.get(
      `${prefix}/ready`,
      {
        schema: {
          tags: ['health'],
          summary: 'Readiness: 200 once the register serves requests; 503 with Retry-After while it starts (e.g. loads the demo data) or stops, or while its database (PostgreSQL) is unreachable',
          response: { 200: Probe, 503: ErrorBodySchema, '5xx': ErrorBodySchema },
        },
      },
      async (req, reply) => {
        // Reaching here means the gate let the request through, i.e. the register is ready;
        // on PostgreSQL it must reach its database too.
        reply.header('Cache-Control', 'no-store');
        if (probe) await probe();
        return { response: envelope(req, clock.now()), status: 'ready' as const };
      },
    );
  }
}
