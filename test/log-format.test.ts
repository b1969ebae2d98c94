import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError, type RegisterConfig } from '../src/server/config.js';
import { batchedDestination, formatLogRecord, LOG_BATCH_BYTES, LOG_FLUSH_MS, prettyDestination } from '../src/server/http/log-format.js';
import { testRegister, type TestRegister } from './support/register.js';

/** Collects what the register's real logger (pino) writes. */
class LogCapture extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.chunks.push(chunk.toString('utf8'));
    done();
  }
  get lines() {
    return this.chunks.join('').split('\n').filter(Boolean);
  }
  clear() {
    this.chunks.length = 0;
  }
}

const config = (argv: string[], tty: boolean) => parseArgs(argv, {}, tty) as RegisterConfig;

describe('--log-format', () => {
  it('defaults to pretty in a terminal and to JSON otherwise', () => {
    expect(config([], true).logFormat).toBe('pretty');
    expect(config([], false).logFormat).toBe('json');
  });

  it('--log-format json / pretty override the default, in both spellings', () => {
    expect(config(['--log-format', 'json'], true).logFormat).toBe('json');
    expect(config(['--log-format=pretty'], false).logFormat).toBe('pretty');
  });

  it('refuses anything else with a usage error', () => {
    expect(() => parseArgs(['--log-format', 'xml'], {}, true)).toThrow(UsageError);
    expect(() => parseArgs(['--log-format', 'xml'], {}, true)).toThrow('--log-format must be pretty or json, got "xml"');
    expect(() => parseArgs(['--log-format'], {}, true)).toThrow('--log-format needs a value');
  });
});

describe('JSON log: one redacted record per request, written on response', () => {
  let r: TestRegister;
  const log = new LogCapture();

  beforeAll(async () => {
    r = await testRegister({}, { logger: { level: 'info', stream: log } });
  });
  afterAll(() => r.close());

  it('a request writes exactly one record, with method, redacted URL, status and time', async () => {
    // A verification by access key: the key is a secret, so the URL is logged as its route.
    const ak = 'ak_0123456789abcdef0123456789abcdef';
    log.clear();
    const res = await r.app.inject({ method: 'GET', url: `/v1/access-records/${ak}` });
    const tid = JSON.parse(res.body).response['transaction-id'] as string;

    const records = log.lines.map((l) => JSON.parse(l));
    const mine = records.filter((rec) => rec.reqId === tid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'GET', url: '/v1/access-records/:ak' },
      res: { statusCode: res.statusCode },
    });
    expect(typeof mine[0].responseTime).toBe('number');
    expect(log.lines.join('\n')).not.toContain(ak);
    expect(records.some((rec) => rec.msg === 'incoming request')).toBe(false);
  });

  it("the request line has pino's fields in pino's order, the request id among them, and nothing else", async () => {
    log.clear();
    const res = await r.app.inject({ method: 'GET', url: '/v1/records?limit=5&email=someone%40example.org', headers: { authorization: 'Bearer nope' } });
    const [line] = log.lines;
    const rec = JSON.parse(line);
    expect(Object.keys(rec)).toEqual(['level', 'time', 'pid', 'hostname', 'reqId', 'req', 'res', 'responseTime', 'msg']);
    expect(Object.keys(rec.req)).toEqual(['method', 'url', 'remoteAddress']);
    expect(rec).toMatchObject({
      level: 30,
      pid: process.pid,
      reqId: JSON.parse(res.body).response['transaction-id'],
      req: { method: 'GET', url: '/v1/records?limit=5&email=[redacted]' },
      res: { statusCode: res.statusCode },
      msg: 'request completed',
    });
    expect(Math.abs(rec.time - Date.now())).toBeLessThan(60_000);
    expect(line).not.toMatch(/someone|Bearer|nope/);
  });

  it('a refused request is one record too', async () => {
    log.clear();
    const res = await r.app.inject({ method: 'GET', url: '/v1/records' });
    expect(res.statusCode).toBe(401);
    const tid = JSON.parse(res.body).response['transaction-id'] as string;
    const mine = log.lines.map((l) => JSON.parse(l)).filter((rec) => rec.reqId === tid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ req: { method: 'GET', url: '/v1/records' }, res: { statusCode: 401 } });
  });
});

describe('pretty log: one short line per request', () => {
  let r: TestRegister;
  const log = new LogCapture();

  beforeAll(async () => {
    r = await testRegister({}, { logger: { level: 'info', stream: prettyDestination(log, false) } });
  });
  afterAll(() => r.close());

  it('time, method, redacted URL, status and duration; no JSON, no secret', async () => {
    const token = await r.token('bright_energy');
    log.clear();
    const res = await r.app.inject({
      method: 'GET',
      url: '/v1/identity-records/exists?mpxn=2312345678901&email=someone%40example.org',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBeLessThan(500);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d GET /v1/identity-records/exists\\?mpxn=\\[redacted\\]&email=\\[redacted\\] ${res.statusCode} \\d+\\.\\d ms$`));
    for (const secret of ['2312345678901', 'someone', token]) expect(log.lines[0]).not.toContain(secret);
  });
});

describe('formatLogRecord', () => {
  const time = new Date(2026, 10, 30, 14, 2, 7).getTime();

  it('a request record', () => {
    expect(formatLogRecord({ level: 30, time, reqId: 'tid_1', req: { method: 'POST', url: '/v1/access-records' }, res: { statusCode: 201 }, responseTime: 3.14159, msg: 'request completed' })).toBe(
      '14:02:07 POST /v1/access-records 201 3.1 ms',
    );
  });

  it('a 5xx names its transaction id, the one the client got', () => {
    expect(formatLogRecord({ level: 30, time, reqId: 'tid_9', req: { method: 'GET', url: '/x' }, res: { statusCode: 500 }, responseTime: 1 })).toBe('14:02:07 GET /x 500 1.0 ms tid_9');
  });

  it('an error record: level, message, error type and message, stack below', () => {
    const line = formatLogRecord({ level: 50, time, msg: 'unexpected error', reqId: 'tid_2', err: { type: 'TypeError', message: 'boom', stack: 'TypeError: boom\n    at a (x.ts:1:1)\n    at b (y.ts:2:2)' } });
    expect(line.split('\n')).toEqual(['14:02:07 ERROR unexpected error tid_2 (TypeError: boom)', '    at a (x.ts:1:1)', '    at b (y.ts:2:2)']);
  });

  it('other fields are kept as key=value', () => {
    expect(formatLogRecord({ level: 40, time, msg: 'slow', pid: 1, hostname: 'h', ms: 12 })).toBe('14:02:07 WARN slow ms=12');
  });

  it('colour only when asked', () => {
    expect(formatLogRecord({ level: 30, time, req: { method: 'GET', url: '/' }, res: { statusCode: 404 } }, true)).toContain('\x1b[33m404\x1b[0m');
    expect(formatLogRecord({ level: 30, time, req: { method: 'GET', url: '/' }, res: { statusCode: 404 } })).not.toContain('\x1b');
  });

  it('a line that is not JSON passes through the pretty destination as written', () => {
    const log = new LogCapture();
    prettyDestination(log, false).write('plain text\n');
    expect(log.lines).toEqual(['plain text']);
  });
});

describe('stdout destination', () => {
  const line = (i: number) => `{"level":30,"n":${i},"msg":"${'x'.repeat(200)}"}\n`;

  it('gathers lines and hands them on in batches, in order, nothing lost', () => {
    const writes: string[] = [];
    const dest = batchedDestination({ write: (t) => writes.push(t) });
    const lines = Array.from({ length: Math.ceil((1.5 * LOG_BATCH_BYTES) / line(0).length) }, (_, i) => line(i));
    for (const l of lines) dest.write(l);
    // One and a half batches written: one batch has gone, the rest waits for the next batch or the timer.
    expect(writes).toHaveLength(1);
    expect(writes[0].length).toBeGreaterThanOrEqual(LOG_BATCH_BYTES);
    expect(LOG_BATCH_BYTES).toBeGreaterThanOrEqual(4096);
    dest.flush();
    expect(writes).toHaveLength(2);
    expect(writes.join('')).toBe(lines.join(''));
  });

  it('writes a lone line at the latest after the flush interval', async () => {
    const writes: string[] = [];
    const dest = batchedDestination({ write: (t) => writes.push(t) }, LOG_BATCH_BYTES, 20);
    dest.write(line(1));
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(writes).toEqual([line(1)]);
    expect(LOG_FLUSH_MS).toBeLessThanOrEqual(1000);
  });

  it('what is gathered when the process exits is written before it ends', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dar-log-exit-'));
    const script = join(dir, 'exit.mts');
    const module = pathToFileURL(resolve('src/server/http/log-format.ts')).href;
    writeFileSync(
      script,
      `import { stdoutLogDestination } from ${JSON.stringify(module)};
       const dest = stdoutLogDestination('json');
       dest.write('{"n":1}\\n');
       dest.write('{"n":2}\\n');
       process.exit(0);`,
    );
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
      expect(out).toBe('{"n":1}\n{"n":2}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('request lines follow the log level', () => {
  it('at warn, an answered request writes no line', async () => {
    const log = new LogCapture();
    const r = await testRegister({}, { logger: { level: 'warn', stream: log } });
    try {
      const res = await r.app.inject({ method: 'GET', url: '/v1/access-records/ak_0123456789abcdef01234567' });
      expect(res.statusCode).toBe(404);
      expect(log.lines).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
