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
 * Lines are written once this much has been gathered (~250 request lines)… Each write is a hop
 * to libuv's thread pool and back, whose cost grows with the machine's load: in the register at
 * 100k, 8 KiB batches cost a verify 10–60 µs more than no log, ~16 KB 10–15 µs, 64 KiB ~5 µs less
 * again (docs/performance.md "Request logging"). SonicBoom writes a batch larger than its
 * maxWrite (16 KiB) as one write all the same: it only merges smaller pieces up to that size.
 */
export const LOG_BATCH_BYTES = 64 * 1024;
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

/** What `batchedDestination` hands its batches to: pino's SonicBoom (or a test's stand-in). */
export interface BatchSink {
  write(text: string): unknown;
  flushSync?(): void;
}

/** A destination that gathers lines in memory and writes them to its sink in batches. */
export interface BatchedDestination extends LogDestination {
  /** Hands what is gathered to the sink now. */
  flush(): void;
}

/**
 * Gathers lines and hands them to `sink` once `batchChars` characters have gathered, or
 * `flushMs` after the first line of a batch, whichever comes first; and whatever is left when
 * the process exits (then `sink.flushSync()` writes it before the process ends).
 *
 * Why not SonicBoom's own `minLength`, which does the same: on every write SonicBoom measures
 * the UTF-8 length of its whole pending buffer (`Buffer.byteLength`, after `+=`), so with 16 KB
 * batches each request line re-scanned ~8 KB on average (more with larger batches): ~2.6 µs
 * per line at 16 KB, measured in a loop, against ~0.6 µs here, where SonicBoom sees one write
 * per batch (docs/performance.md "Request logging").
 */
export function batchedDestination(sink: BatchSink, batchChars = LOG_BATCH_BYTES, flushMs = LOG_FLUSH_MS): BatchedDestination {
  let pending = '';
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending === '') return;
    const text = pending;
    pending = '';
    sink.write(text);
  };
  // From the timer or at the end of the event loop, a sink closed meanwhile (at shutdown) must
  // not throw into the event loop: there is nowhere left to write the lines to.
  const flushLater = () => {
    try {
      flush();
    } catch {
      // the stream is closed: nothing can be written any more
    }
  };
  // On exit nothing asynchronous runs any more: the sink writes what it holds synchronously.
  // (pino registers the same for SonicBoom; which of the two listeners runs first depends on
  // what was created first in this process, so this one does not rely on pino's.)
  process.once('exit', () => {
    try {
      flush();
      sink.flushSync?.();
    } catch {
      // nothing more can be done while the process exits (e.g. stdout already closed)
    }
  });
  // The event loop is about to end (nothing else to do): SonicBoom can still write asynchronously.
  process.on('beforeExit', flushLater);
  return {
    write(line: string) {
      pending += line;
      if (pending.length >= batchChars) flush();
      else if (timer === null) timer = setTimeout(flushLater, flushMs).unref();
      return true;
    },
    flush,
  };
}

/**
 * The register's log destination on stdout: asynchronous JSON lines, or pretty lines (in
 * colour when stdout is a terminal and NO_COLOR is not set).
 */
export function stdoutLogDestination(format: LogFormat): LogDestination {
  // Lines are written in batches of 64 KiB (one write for ~250 request lines) and at the latest
  // after LOG_FLUSH_MS: one write per line costs a thread-pool hop and a wake-up of the event
  // loop per request (docs/performance.md). The batches are gathered by `batchedDestination`,
  // and SonicBoom writes each as it comes (asynchronously, `sync: false`). What is left is
  // written when the process exits; a SIGKILL loses at most the last second of lines.
  const out = batchedDestination(pino.destination({ dest: 1, sync: false }));
  if (format === 'json') return out;
  return prettyDestination(out, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
}
