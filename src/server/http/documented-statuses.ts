import type { RouteOptions } from 'fastify';
import { ErrorBodySchema } from '../../shared/schemas/common.js';

/**
 * Every status the register answers, documented in the served OpenAPI document alongside
 * each route's success schema (contract §1 error envelope). The published list of
 * statuses is the minimum, not the whole truth: a client generated from our document must
 * know about every status it can meet.
 *
 * Most statuses follow from what a route declares, so they are derived here rather than
 * repeated in every route file:
 * - every route: 503 SRV001 while the register starts or stops (see http/readiness.ts), or on
 *   PostgreSQL while the database is unreachable (http/error-handler.ts);
 * - bearer security: 401 (AUTH001 / AUTH002 / AUTH006) and 403 AUTH003;
 * - HTTP Basic security: 401 (AUTH004 / AUTH005 / AUTH006);
 * - a path, query or body schema: 400 VAL001; a body: 413 and 415 too;
 * - a path parameter: 404 NOT001 (unknown, or another Data User's: never revealed).
 * The statuses a route's own rules add (409, 422, 429 and the odd 404) are listed below,
 * keyed by method and path as Fastify writes them.
 */
type Extra = Partial<Record<400 | 403 | 404 | 409 | 422 | 429 | 503, string | null>>;

const TOKEN_REUSE = 'CON001: this reidentification-token has already been used (single use)';
const REID_PRECONDITION = 'VAL003: magic-link needs an e-mail on the identity record; passkey-assert needs a registered passkey';
const REID_RATE = 'RATE001: too many re-identification starts for this meter point (at most 5 in 15 minutes); see Retry-After';
const ANONYMISED = 'CON001: the identity record is anonymised';

export const ROUTE_STATUSES: Record<string, Extra> = {
  // Liveness answers even while the register starts or stops.
  'GET /health': { 503: null },
  'GET /v1/health': { 503: null },
  'GET /v1/auth/token': { 429: 'RATE001: too many failed sign-ins for this account from this client; see Retry-After' },
  'POST /v1/identity-records': { 429: `${REID_RATE} (with initiate-passkey-registration)` },
  'DELETE /v1/identity-records/:ir': { 409: 'CON001: an ACTIVE access record is linked, or the record is already anonymised' },
  'DELETE /v1/admin/identity-records/:ir': { 409: 'CON001: an ACTIVE access record is linked, or the record is already anonymised' },
  'POST /v1/identity-records/:ir/re-identify': { 409: ANONYMISED, 422: REID_PRECONDITION, 429: REID_RATE },
  'POST /v1/identity-records/reidentify': { 404: 'NOT001: no eligible identity record for this MPxN', 409: ANONYMISED, 422: REID_PRECONDITION, 429: REID_RATE },
  'GET /v1/identity-records/reidentify/:tokenRef': { 403: 'AUTH003: role not allowed, or the token was initiated by another account' },
  'POST /v1/admin/reidentifications': {
    404: 'NOT001: no eligible identity record for this MPxN',
    409: 'CON001: the on-behalf-of account is not active, or the identity record is anonymised',
    422: REID_PRECONDITION,
    429: REID_RATE,
  },
  'POST /v1/access-records': {
    403: 'AUTH003: role not allowed, or the reidentification-token was initiated by another account',
    404: 'NOT001: unknown reidentification-token',
    409: `${TOKEN_REUSE}; or ${ANONYMISED}`,
    422: 'VAL002: the reidentification-token is not confirmed yet, or older than 1 hour',
  },
  'PUT /v1/access-records/:ak': { 409: 'CON001: only an ACTIVE record can be replaced (this one is REVOKED or EXPIRED)' },
  'DELETE /v1/access-records/:ak': {
    403: "AUTH003: role not allowed; or a portal without the customer's reidentification-token, reason=customer-request, or on a record it may not withdraw",
    409: 'CON001: the record is already REVOKED or EXPIRED',
    422: "VAL002: a portal's 30-minute withdrawal window for this token has closed",
  },
  'POST /v1/admin/records/:ak/revoke': { 409: 'CON001: the record is already REVOKED or EXPIRED' },
  'GET /v1/meter-points/:mpxn/access-records': {
    403: 'AUTH003: role not allowed; a Data User with no record here; or a portal whose reidentification-token is missing, unconfirmed, expired, already used or for another MPxN',
    404: null,
  },
  'POST /v1/admin/accounts': { 409: 'CON001: the account-id or duid is already taken' },
  'POST /v1/admin/accounts/:id/suspend': { 409: 'CON001: already suspended, terminated, or your own account' },
  'POST /v1/admin/accounts/:id/reactivate': { 409: 'CON001: already active, or terminated' },
  'POST /v1/admin/accounts/:id/terminate': { 409: 'CON001: already terminated, or your own account' },
  'POST /v1/webhooks': { 409: 'CON001: you already have a subscription for this callback-url, or the most subscriptions allowed' },
  'PATCH /v1/webhooks/:wid': { 409: 'CON001: you already have another subscription for this callback-url' },
  'POST /v1/admin/webhooks': { 404: 'NOT001: no Data User with this duid', 409: 'CON001: the Data User already has a subscription for this callback-url, or the most subscriptions allowed' },
  'PATCH /v1/admin/webhooks/:wid': { 409: 'CON001: the Data User already has another subscription for this callback-url' },
  'POST /v1/admin/clock': { 403: 'AUTH003: role not allowed, or a production register (its clock is real time)', 409: "CON001: set is before the register's now (the clock only moves forward), or another change is still running" },
  'POST /v1/admin/deliveries/:eventId/redeliver': { 409: 'CON001: being attempted right now, or its subscription was deleted' },
  'POST /v1/admin/outbox/:id/retry': { 409: 'CON001: no SMTP server configured, or the message is not failed or retrying' },
  'GET /v1/admin/outbox': { 403: 'AUTH003: role not allowed, or q (search) on a production register, refused before q is validated' },
  'GET /v1/admin/sandbox/snapshots': { 403: 'AUTH003: role not allowed, or a production register' },
  'POST /v1/admin/sandbox/snapshots': {
    403: 'AUTH003: role not allowed, or a production register',
    409: 'CON001: a snapshot with this name exists or is being saved, or a reset is still loading its data',
  },
  'POST /v1/admin/sandbox/snapshots/:id/restore': {
    403: 'AUTH003: role not allowed, or a production register',
    409: 'CON001: taken under another key file or database version, damaged or changed since it was saved, or the sandbox clock is moving or a reset is still loading',
  },
  'DELETE /v1/admin/sandbox/snapshots/:id': { 403: 'AUTH003: role not allowed, or a production register' },
  'POST /v1/admin/sandbox/reset': { 403: 'AUTH003: role not allowed, or a production register', 409: 'CON001: the sandbox clock is moving, or another reset is still loading its data' },
};

const err = (description: string) => ({ ...ErrorBodySchema, description });

/** The error responses route `route` documents, by status code. */
export function documentedErrors(route: { method: RouteOptions['method']; url: string; schema?: unknown }): Record<string, unknown> {
  const schema = (route.schema ?? {}) as { security?: Record<string, unknown>[]; body?: unknown; querystring?: unknown; params?: unknown };
  const schemes = new Set((schema.security ?? []).flatMap((s) => Object.keys(s)));
  const out: Record<string, unknown> = { 503: err('SRV001: the register is starting or stopping, or (PostgreSQL) its database is unreachable; retry after Retry-After seconds') };
  if (schema.body || schema.querystring || schema.params) out[400] = err('VAL001: a field is missing or invalid (one entry per problem, naming the field)');
  if (schemes.has('bearer')) {
    out[401] = err('AUTH001: Authorization missing or malformed; AUTH002: bearer token invalid, expired or revoked; AUTH006: account suspended or terminated');
    out[403] = err('AUTH003: your role may not perform this operation');
  }
  if (schemes.has('basic')) out[401] = err('AUTH004: Basic credentials malformed; AUTH005: wrong account id or secret key; AUTH006: account suspended or terminated');
  if (schema.params) out[404] = err('NOT001: not found (another Data User’s resource is reported as not found)');
  if (schema.body) {
    out[413] = err('VAL001: request body too large');
    out[415] = err('VAL001: Content-Type must be application/json');
  }
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  for (const method of methods) {
    for (const [code, description] of Object.entries(ROUTE_STATUSES[`${method} ${route.url}`] ?? {})) {
      if (description === null) delete out[code];
      else out[code] = err(description);
    }
  }
  return out;
}

/**
 * @fastify/swagger's `transform`: adds the documented error statuses to a route's entry in
 * the OpenAPI document only. The route's own response schemas stay as they are ('4xx' and
 * '5xx' serialise every error), so no extra serialisers are compiled.
 */
export function withDocumentedStatuses({ schema, url, route }: { schema: unknown; url: string; route: { method: RouteOptions['method']; url: string } }) {
  const s = schema as { hide?: boolean; response?: Record<string, unknown> } | undefined;
  if (!s || s.hide) return { schema: s, url };
  const response = s.response ?? {};
  return { schema: { ...s, response: { ...documentedErrors({ method: route.method, url: route.url, schema: s }), ...response } }, url };
}
