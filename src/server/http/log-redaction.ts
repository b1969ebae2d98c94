/**
 * What the register's request log may contain. A URL can carry a magic-link secret
 * (`/id/magic/<secret>`), a passkey session id (`?session=pks_…`), a token-ref (`mlr_…`, in a
 * path or as `reidentification-token`), an e-mail address (`?email=`) or a meter point. None of
 * them belongs in a log file, which is copied, shipped and kept far longer than the secrets
 * are valid. A log line keeps the route's shape instead: the route pattern
 * (`/id/magic/:secret`), query parameter names, and the values of a few harmless parameters
 * (paging, filters by state). Headers (Authorization, Cookie) are never logged, and an error is
 * logged by its type, code and message only, scrubbed, never with a request body.
 */
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import pino from 'pino';

/** Query parameters whose values are never secret or personal: paging and enumerated filters. */
const HARMLESS_QUERY = new Set(['limit', 'cursor', 'state', 'status', 'purpose', 'role', 'event-type', 'legal-basis', 'reason', 'superseded', 'format']);
/**
 * What a harmless parameter's value may look like to be logged as sent: a number (limit,
 * cursor), an upper-case state, or lower-case vocabulary words (`customer-request`,
 * `meter-point.viewed`). Anything else, such as a token or an address pasted into the wrong
 * parameter, is redacted like any other value.
 */
const HARMLESS_VALUE = /^(?:[0-9]{1,18}|[A-Z]{1,16}|[a-z]{1,24}(?:[.-][a-z]{1,24}){0,4})$/;

export const REDACTED = '[redacted]';

/**
 * Secrets and personal data that may appear in free text (an error message, a URL that did not
 * match a route): e-mail addresses, bearer JWTs, token-refs, passkey sessions, magic-link
 * secrets, webhook signing secrets, MPxNs.
 */
const MAGIC_LINK = /(\/id\/magic\/)[^\s/?#"'<>]+/g;
const TEXT_PATTERNS: RegExp[] = [
  /[^\s@"'<>(),;:/?&=[\]]+@[^\s@"'<>(),;:/?&=[\]]+\.[^\s@"'<>(),;:/?&=[\]]+/g, // e-mail address
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, // a JWT (bearer token)
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, // an Authorization header value
  /\b(mlr|pks|whsec)_[A-Za-z0-9_+/=-]+/g, // token-ref, passkey session, webhook signing secret
  /\b\d{10}(\d{3})?\b/g, // an MPRN (10 digits) or MPAN core (13)
];

/** Replaces every secret or personal value recognised in free text `s`. */
export function scrubText(s: string): string {
  let out = s.replace(MAGIC_LINK, `$1${REDACTED}`);
  for (const re of TEXT_PATTERNS) out = out.replace(re, REDACTED);
  return out;
}

/** A path segment that is a plain word (`v1`, `identity-records`, `history.csv`) is kept; anything else may be a secret. */
const PLAIN_SEGMENT = /^(v\d|[a-z][a-z.-]{0,39})$/;

/**
 * The loggable form of a request URL: the route pattern when the request matched a route
 * (`/v1/identity-records/:ir/re-identify/:ref`), otherwise the path with every segment that is
 * not a plain word replaced; then the query's parameter names, with values kept only for
 * harmless parameters.
 */
export function redactUrl(url: string, routePattern?: string): string {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const path =
    routePattern && routePattern !== '*' && !routePattern.includes('*')
      ? routePattern
      : rawPath
          .split('/')
          .map((seg) => (seg === '' || PLAIN_SEGMENT.test(seg) ? seg : `:${REDACTED}`))
          .join('/');
  if (q === -1) return path;
  const parts: string[] = [];
  for (const pair of url.slice(q + 1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    let name = eq === -1 ? pair : pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // a malformed escape: keep it as sent, scrubbed below
    }
    const safeName = /^[a-z][a-z0-9_-]{0,39}$/i.test(name) ? name : REDACTED;
    if (eq === -1) parts.push(safeName);
    else parts.push(`${safeName}=${HARMLESS_QUERY.has(name) && HARMLESS_VALUE.test(pair.slice(eq + 1)) ? pair.slice(eq + 1) : REDACTED}`);
  }
  return `${path}?${parts.join('&')}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
  routeOptions?: { url?: string };
}

interface LoggedError {
  name?: string;
  message?: string;
  stack?: string;
  code?: unknown;
  statusCode?: unknown;
}

const serializers = {
  req(req: LoggedRequest) {
    return { method: req.method, url: redactUrl(req.url, req.routeOptions?.url), remoteAddress: req.ip };
  },
  res(reply: { statusCode: number }) {
    return { statusCode: reply.statusCode };
  },
  /**
   * Only the error's type, code, message and stack, scrubbed: the standard serializer copies
   * every enumerable property, which for some errors includes the request body or headers.
   */
  err(err: LoggedError) {
    if (!err || typeof err !== 'object') return err;
    return {
      type: err.name ?? 'Error',
      message: scrubText(String(err.message ?? '')),
      ...(err.code !== undefined ? { code: String(err.code) } : {}),
      ...(typeof err.statusCode === 'number' ? { statusCode: err.statusCode } : {}),
      ...(err.stack ? { stack: scrubText(err.stack) } : {}),
    };
  },
};

/**
 * Fastify logger options with the register's redaction: the serializers above, pino's
 * `redact` for any header that still reaches a log object, and every log message scrubbed.
 * `false` stays `false`; `true` becomes the default level.
 */
export function redactingLogger(options: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!options) return false;
  const base = options === true ? {} : (options as Record<string, unknown>);
  return {
    ...base,
    serializers: { ...serializers, ...((base.serializers as object) ?? {}) },
    // `req` and `res` pass through the serializers above, which never copy headers or a body, so
    // only top-level headers and bodies need pino's redaction. A path under `req`/`res` would make
    // pino run the redactor on every request line for nothing (docs/performance.md).
    redact: {
      paths: ['headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'body'],
      censor: REDACTED,
    },
    hooks: {
      // The last line of defence: a message string (or a string argument) never carries a secret.
      // The request line's own two messages are constants and skip the scrub.
      logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' && !CONSTANT_MESSAGES.has(a) ? scrubText(a) : a)),
        );
      },
    },
  } as FastifyServerOptions['logger'];
}

/** The request line's messages: constants, so the message scrub can skip them. */
const REQUEST_COMPLETED = 'request completed';
const REQUEST_ERRORED = 'request errored';
const CONSTANT_MESSAGES = new Set([REQUEST_COMPLETED, REQUEST_ERRORED]);

/**
 * Fastify logs two records per request (on arrival, then on response). The register writes
 * one, when the answer has gone: the request (method, redacted URL, client address), the status
 * and the time taken. Half the log volume, and each line tells the whole story.
 */
export class OneRecordPerRequest extends LogController {
  override incomingRequest(): void {
    // nothing: the request is logged with its outcome, in requestCompleted
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, REQUEST_ERRORED);
      return;
    }
    // The line of every answered request, written as pino would write it (same fields, same
    // order, the child logger's bindings with the request id) but without pino's general path:
    // its per-call hooks, serializer lookup and redaction wrapper cost more than the rest of the
    // line (docs/performance.md). What the line holds is exactly what the serializers above allow.
    // This matches pino's own output because `redactingLogger` sets no formatters, message key,
    // timestamp function or mixin; a logger that had them would need pino's path.
    const log = reply.log as unknown as PinoInternals;
    const stream = log[pino.symbols.streamSym] as { write?: (line: string) => unknown } | undefined;
    const bindings = log[pino.symbols.chindingsSym];
    if (!stream || typeof stream.write !== 'function' || typeof bindings !== 'string' || typeof log.isLevelEnabled !== 'function') {
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, REQUEST_COMPLETED);
      return;
    }
    if (!log.isLevelEnabled('info')) return;
    stream.write(
      `{"level":${log.levels.values.info},"time":${Date.now()}${bindings},"req":${JSON.stringify(serializers.req(request))},"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime},"msg":"${REQUEST_COMPLETED}"}\n`,
    );
  }
}

/** The parts of a pino logger the request line reads: pino exports these symbols for this use. */
interface PinoInternals {
  [key: symbol]: unknown;
  isLevelEnabled(level: string): boolean;
  levels: { values: Record<string, number> };
}

/** An error as a background worker may print it to stderr: its stack (or message), scrubbed. */
export function errorForLog(err: unknown): string {
  const e = err as LoggedError | null;
  return scrubText(String(e?.stack ?? e?.message ?? err));
}
