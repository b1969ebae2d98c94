import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  n: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body exactly as received (signatures are over these bytes). */
  raw: string;
  json: any;
  at: number;
}

/** What the receiver does with request number `n` (1-based): a status code, or 'hang' to never answer. */
export type Behaviour = (n: number, req: Received) => number | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  behaviour: Behaviour;
  /** Resolves once `count` requests have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1, port 0, recording every request (when it has arrived
 * whole). `answerAfterMs` holds every answer that long, so deliveries stay in flight; it is
 * read per request, so a caller may change it on the object it passed.
 */
export async function startReceiver(behaviour: Behaviour = () => 200, path = '/hooks/dar', opts: { answerAfterMs?: number } = {}): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(raw);
      } catch {
        /* not JSON */
      }
      const entry: Received = { n: received.length + 1, method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, json, at: Date.now() };
      received.push(entry);
      for (const w of waiters.filter((w) => received.length >= w.count)) w.resolve();
      const outcome = r.behaviour(entry.n, entry);
      if (outcome === 'hang') {
        hanging.push(res);
        return;
      }
      const answer = () => res.writeHead(outcome, { 'content-type': 'text/plain' }).end(outcome < 300 ? 'ok' : 'nope');
      if (opts.answerAfterMs) setTimeout(answer, opts.answerAfterMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const r: Receiver = {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    behaviour,
    waitFor(count, timeoutMs = 10_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver got ${received.length} of ${count} requests within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return r;
}

/**
 * Standard Webhooks verification written from the specification, independently of the
 * register's code: key = base64-decode(secret without "whsec_"); signed content =
 * "<webhook-id>.<webhook-timestamp>.<body>"; header = space-separated "v1,<base64>" list.
 * Returns true when any listed signature matches.
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, raw: string): boolean {
  const id = String(headers['webhook-id']);
  const ts = String(headers['webhook-timestamp']);
  const key = Buffer.from(secret.split('_')[1], 'base64');
  const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${ts}.${raw}`).digest('base64'));
  return String(headers['webhook-signature'])
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .some((s) => {
      const got = Buffer.from(s.slice(3));
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
}

/**
 * The published X-DAR-Signature check, written from the published document and not from
 * the register's code: `sha256=` + hex HMAC-SHA256 over the raw body, keyed with the
 * signing-secret string exactly as returned (its UTF-8 bytes, not base64-decoded), compared
 * for exact string equality with the header. `header` picks `x-dar-signature-new` to check
 * the new secret during a rotation overlap.
 */
export function verifyDarSignature(secret: string, headers: IncomingHttpHeaders, raw: string, header = 'x-dar-signature'): boolean {
  return headers[header] === `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw last instanceof Error ? last : new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
