import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorCode, type ErrorEntry } from '../lib/errors.js';
import { envelope } from './envelope.js';
import type { Clock } from '../lib/clock.js';
import { RETRY_AFTER_SECONDS } from './readiness.js';

interface AjvError {
  instancePath?: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/a/b/1/c` → `a.b[1].c` (the field-path style the contract uses). */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const part of parts) {
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

const CONTEXT_LABEL: Record<string, string> = {
  body: 'body',
  querystring: 'query parameter',
  params: 'path parameter',
  headers: 'header',
};

function describe(e: AjvError, context: string): string | null {
  const params = e.params ?? {};
  const where = (extra?: string) => {
    const path = fieldPath(e.instancePath ?? '', extra);
    return path ? `${CONTEXT_LABEL[context] ?? context} field "${path}"` : `${CONTEXT_LABEL[context] ?? context}`;
  };
  switch (e.keyword) {
    case 'required':
      return `${where(String(params.missingProperty))} is required`;
    case 'additionalProperties':
      return `${where(String(params.additionalProperty))} is not a recognised field`;
    case 'enum':
      return `${where()} must be one of: ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${where()} must be ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
      return `${where()} has an invalid format (expected ${params.pattern})`;
    case 'format':
      return `${where()} must be a valid ${params.format}`;
    case 'type':
      return `${where()} must be ${params.type}`;
    case 'maxLength':
    case 'minLength':
    case 'maxItems':
    case 'minItems':
    case 'maximum':
    case 'minimum':
    case 'uniqueItems':
      return `${where()} ${e.message}`;
    case 'anyOf':
    case 'oneOf':
    case 'if':
      // Branch errors are reported individually; the summary adds nothing.
      return null;
    default:
      return `${where()} ${e.message ?? 'is invalid'}`;
  }
}

/**
 * Turns any thrown error into the contract's error envelope, and never leaks a stack.
 * `unavailable` names the errors that mean the database is unreachable (PostgreSQL restarting,
 * say: db/postgres-store.ts databaseUnavailable): those answer 503 SRV001 with Retry-After, as
 * while the register starts, since the same request may succeed once it is back; anything else
 * unexpected stays a 500.
 */
export function installErrorHandler(app: FastifyInstance, clock: Clock, unavailable: (err: unknown) => boolean = () => false): void {
  const send = (req: FastifyRequest, reply: FastifyReply, status: number, entries: ErrorEntry[]) =>
    reply
      .status(status)
      .type('application/json; charset=utf-8')
      .send({ response: envelope(req, clock.now()), errors: entries });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      return send(req, reply, err.statusCode, err.entries);
    }
    const fe = err as FastifyError & { validationContext?: string };
    if (fe.validation) {
      const seen = new Set<string>();
      const entries: ErrorEntry[] = [];
      // A value with a canonical form (`x-canonical`, lib/values.ts) gets one message saying
      // what it must be; the pattern / format of its canonical form would only repeat it.
      const all = fe.validation as AjvError[];
      const canonicalPaths = new Set(all.filter((v) => v.keyword === 'x-canonical').map((v) => v.instancePath));
      // A nullable field (anyOf [X, null]) with an invalid value fails both branches. The null
      // branch's "must be null" is a companion, not a second problem: it is dropped when a more
      // specific error exists for the same field, and a wrong type says "must be X or null".
      const isNullBranch = (v: AjvError) => v.keyword === 'type' && v.params?.type === 'null';
      // (Specific: any other error on the field itself or inside it, e.g. an address's postcode.)
      const specific = all.filter((v) => !isNullBranch(v) && v.keyword !== 'anyOf' && v.keyword !== 'oneOf').map((v) => v.instancePath ?? '');
      const hasSpecific = (path = '') => specific.some((p) => p === path || p.startsWith(`${path}/`));
      const nullablePaths = new Set(all.filter((v) => isNullBranch(v) && hasSpecific(v.instancePath)).map((v) => v.instancePath));
      for (const v of all) {
        if (canonicalPaths.has(v.instancePath) && (v.keyword === 'format' || v.keyword === 'pattern' || v.keyword === 'maxLength')) continue;
        if (isNullBranch(v) && nullablePaths.has(v.instancePath)) continue;
        const orNull = v.keyword === 'type' && nullablePaths.has(v.instancePath) ? { ...v, params: { ...v.params, type: `${String(v.params?.type)} or null` } } : v;
        const message = describe(orNull, fe.validationContext ?? 'body');
        if (message && !seen.has(message)) {
          seen.add(message);
          entries.push({ 'error-code': 'VAL001', message });
        }
      }
      if (entries.length === 0) entries.push({ 'error-code': 'VAL001', message: `invalid ${fe.validationContext ?? 'request'}` });
      return send(req, reply, 400, entries);
    }
    if (unavailable(err)) {
      // Logged without the stack: during an outage every request fails the same way.
      req.log.warn({ reason: err.message }, 'database unavailable');
      reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
      return send(req, reply, 503, [{ 'error-code': 'SRV001', message: `The database is not available right now; retry after ${RETRY_AFTER_SECONDS} s` }]);
    }
    const status = fe.statusCode ?? 500;
    if (status === 429) return send(req, reply, 429, [{ 'error-code': 'RATE001', message: 'Too many requests; try again later' }]);
    if (status >= 400 && status < 500) {
      const code: ErrorCode = status === 401 ? 'AUTH001' : status === 404 ? 'NOT001' : 'VAL001';
      const message =
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'Request body is too large'
          : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'Content-Type must be application/json'
            : fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
              ? 'Request body is empty but Content-Type is application/json'
              : fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.name === 'SyntaxError'
                ? 'Request body is not valid JSON'
                : /prototype/i.test(fe.message)
                  ? 'Request body contains a forbidden key (__proto__ or constructor.prototype)'
                  : fe.message.replace(/\n[\s\S]*$/, '');
      return send(req, reply, status, [{ 'error-code': code, message }]);
    }
    req.log.error({ err }, 'unexpected error');
    return send(req, reply, 500, [{ 'error-code': 'SRV001', message: 'Unexpected error; the register logged it' }]);
  });

  app.setNotFoundHandler((req, reply) => send(req, reply, 404, [{ 'error-code': 'NOT001', message: `No route ${req.method} ${envelope(req, clock.now()).resource}` }]));
}

/**
 * Errors Fastify's router raises before any route or hook runs (a malformed %-escape in
 * the path, an over-long path parameter). Without this Fastify answers them in its own
 * format; found by the fuzz test (docs/performance.md). Pass as the `frameworkErrors` server option.
 */
export function frameworkErrorHandler(clock: Clock) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const status = err.code === 'FST_ERR_BAD_URL' ? 400 : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : (err.statusCode ?? 500);
    const entry: ErrorEntry =
      err.code === 'FST_ERR_BAD_URL'
        ? { 'error-code': 'VAL001', message: 'The request URL is malformed (invalid percent-encoding)' }
        : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? { 'error-code': 'VAL001', message: 'A path parameter is too long' }
          : status < 500
            ? { 'error-code': 'VAL001', message: 'The request could not be routed' }
            : { 'error-code': 'SRV001', message: 'Unexpected error; the register logged it' };
    if (status >= 500) req.log.error({ err }, 'unexpected router error');
    return reply
      .status(status)
      .type('application/json; charset=utf-8')
      .send({ response: envelope(req, clock.now()), errors: [entry] });
  };
}
