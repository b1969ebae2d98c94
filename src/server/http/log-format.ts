/**
 * Where the register's log goes, and in which form (`--log-format`, see docs/deploying.md).
 *
 * - `json` (the default when stdout is not a terminal): pino's JSON lines, one per request and
 *   one per event, for log shippers. Written asynchronously and in batches (pino's SonicBoom
 *   with `sync: false` and a minimum write size): a write to a pipe or file per request costs
 *   throughput, and pino flushes what is buffered when the process exits.
 * - `pretty` (the default in a terminal): the same records, one short line each, for a person
 *   watching the register: `14:02:07 GET /v1/access-records/:ak 200 1.4 ms`.
 *
 * Both receive records that have already gone through the register's redaction
 * (http/log-redaction.ts): the pretty form only re-renders the redacted JSON, so it can never
 * show more than the JSON would. A dozen lines of formatting instead of pino-pretty: the
 * request line is our own shape, and a terminal needs no worker thread or extra dependencies.
 */
import pino from 'pino';
import type { LogFormat } from '../config.js';

/**
 * Lines are written once this much has been buffered (~60 request lines)… 8 KiB cost a verify
 * 10–60 µs more than no log in the register on a busy machine, ~16 KB 10–15 µs
 * (docs/performance.md "Request logging"). SonicBoom requires it below its maxWrite (16 KiB).
 */
export const LOG_BATCH_BYTES = 16000;
/** …or this long after the last write, whichever comes first. */
export const LOG_FLUSH_MS = 1000;

/** The stream pino writes to: anything with `write(line)`. */
export interface LogDestination {
  write(line: string): unknown;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields the pretty line shows in its own way; any other field is appended as `key=value`. */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'reqId', 'req', 'res', 'responseTime', 'msg', 'err']);

const ANSI = { dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m', reset: '\x1b[0m' };

interface LogRecord {
  level?: number;
  time?: number;
  reqId?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  msg?: string;
  err?: { type?: string; message?: string; stack?: string };
  [key: string]: unknown;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * One pino JSON record as a human-readable line (without the trailing newline). A request
 * record (one with `req` and `res`) becomes `time METHOD url status duration`; anything else
 * `time LEVEL message`, with an error's type and message, and its stack on the lines below.
 */
export function formatLogRecord(rec: LogRecord, color = false): string {
  const paint = (code: string, s: string) => (color ? `${code}${s}${ANSI.reset}` : s);
  const t = new Date(typeof rec.time === 'number' ? rec.time : Date.now());
  const time = paint(ANSI.dim, `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`);
  const level = rec.level ?? 30;
  const extras = Object.keys(rec)
    .filter((k) => !SHOWN.has(k))
    .map((k) => ` ${k}=${JSON.stringify(rec[k])}`)
    .join('');

  if (rec.req && rec.res && typeof rec.res.statusCode === 'number') {
    const status = rec.res.statusCode;
    const statusText = paint(status >= 500 ? ANSI.red : status >= 400 ? ANSI.yellow : ANSI.green, String(status));
    const ms = typeof rec.responseTime === 'number' ? ` ${rec.responseTime.toFixed(1)} ms` : '';
    // A 5xx names its transaction id, the one the client got in the error envelope.
    const tid = status >= 500 && rec.reqId ? paint(ANSI.dim, ` ${rec.reqId}`) : '';
    return `${time} ${rec.req.method ?? '?'} ${rec.req.url ?? '?'} ${statusText}${ms}${tid}${extras}`;
  }

  const name = LEVELS[level] ?? String(level);
  const label = paint(level >= 50 ? ANSI.red : level >= 40 ? ANSI.yellow : level >= 30 ? ANSI.cyan : ANSI.dim, name);
  let line = `${time} ${label} ${rec.msg ?? ''}${rec.reqId ? paint(ANSI.dim, ` ${rec.reqId}`) : ''}${extras}`;
  if (rec.err) {
    line += ` (${rec.err.type ?? 'Error'}: ${rec.err.message ?? ''})`;
    const stack = (rec.err.stack ?? '')
      .split('\n')
      .slice(1)
      .filter((l) => l.trim());
    if (stack.length > 0) line += `\n${paint(ANSI.dim, stack.map((l) => `    ${l.trim()}`).join('\n'))}`;
  }
  return line;
}

/** A destination that re-renders each JSON line pino writes as a pretty line into `out`. */
export function prettyDestination(out: LogDestination, color: boolean): LogDestination {
  return {
    write(line: string) {
      let text: string;
      try {
        text = formatLogRecord(JSON.parse(line) as LogRecord, color);
      } catch {
        text = line.trimEnd(); // not a JSON record: pass it through as written
      }
      return out.write(`${text}\n`);
    },
  };
}

/**
 * The register's log destination on stdout: asynchronous JSON lines, or pretty lines (in
 * colour when stdout is a terminal and NO_COLOR is not set).
 */
export function stdoutLogDestination(format: LogFormat): LogDestination {
  // Lines are written in batches of at least ~16 KB (one write for ~60 request lines) and at the
  // latest after LOG_FLUSH_MS: one write per line costs a thread-pool hop and a wake-up of the
  // event loop per request (docs/performance.md). pino writes what is left when the process
  // exits; a SIGKILL loses at most the last second of lines.
  const out = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
  if (format === 'json') return out;
  return prettyDestination(out, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
}
