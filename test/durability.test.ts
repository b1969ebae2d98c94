/**
 * Crash durability (docs/performance.md "Crash durability"). A real register process on a temp data folder (demo seed)
 * takes a concurrent stream of creates and revokes, with a webhook subscription on a
 * loopback receiver; it is killed with SIGKILL mid-stream, restarted on the same folder,
 * and then:
 *   - every create that got a 2xx exists, with the content that was sent;
 *   - every revoke that got a 2xx is REVOKED, and its consent.withdrawal is in the outbox;
 *   - every acknowledged change has its audit event, and the audit chain verifies;
 *   - PRAGMA integrity_check is ok (after the kill, and after the final clean stop);
 *   - every webhook delivery queued before the kill is delivered after the restart, with
 *     its original event-id (in-flight ones come due when their lease runs out: the test
 *     moves the sandbox clock past it instead of waiting).
 *
 * `npm run test:durability` runs the large size (DAR_DURABILITY_SIZE=large: more writers,
 * more operations, three kill/restart rounds); the normal suite runs the small size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbProbe } from './support/db-probe.js';
import { afterAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from './support/webhook-receiver.js';

const LARGE = process.env.DAR_DURABILITY_SIZE === 'large';
const SIZE = LARGE ? { writers: 16, opsBeforeKill: 1500, rounds: 3 } : { writers: 6, opsBeforeKill: 120, rounds: 1 };
const ROOT = process.cwd();
const CLI = join(ROOT, 'src', 'server', 'cli.ts');
const DEMO = { admin: ['admin_ops', 'admin-secret-demo'], bright: ['bright_energy', 'bright-secret-demo'] } as const;

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

/** Starts the register as ONE process (node --import tsx), so SIGKILL hits the register itself. */
function startRegister(data: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--data', data, '--port', '0', '--seed', 'demo', '--log-level', 'silent'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`register did not start:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/localhost:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1].replace('localhost', '127.0.0.1'), exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`register exited (${code ?? signal}) during start:\n${out}`)));
  });
}

async function login(url: string, [id, secret]: readonly [string, string]): Promise<string> {
  const res = await fetch(`${url}/v1/auth/token`, { headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` } });
  expect(res.status, `login ${id}`).toBe(200);
  return ((await res.json()) as { 'bearer-token': string })['bearer-token'];
}

async function api(url: string, token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function recordBody(ir: string, n: number) {
  return {
    'record-metadata': {
      'schema-version': '1.0',
      'identity-record-ref': ir,
      'controller-arrangement': {
        'arrangement-type': 'sole',
        controllers: [{ name: `Durable Energy ${n} Ltd`, role: 'sole', 'contact-url': `https://durable-${n}.example/contact` }],
      },
    },
    notice: { 'shared-notice': { 'terms-url': `https://durable-${n}.example/terms`, 'notice-version': `v${n}` } },
    processing: { 'legal-basis': 'uk-consent', purpose: `Durability check ${n}`, 'data-types': n % 2 ? ['HH-CONSUMPTION'] : ['HH-CONSUMPTION', 'TARIFF-IMPORT'] },
    'access-event': { state: 'ACTIVE', 'registered-at': '2026-03-24T09:00:00Z', expiry: null, consent: { 'consent-type': 'expressed-consent' } },
  };
}

async function integrity(data: string): Promise<string> {
  const db = DbProbe.open(join(data, 'register.sqlite'));
  try {
    return (await db.intact()) ? 'ok' : 'damaged';
  } finally {
    db.close();
  }
}

describe(`crash durability (${LARGE ? 'large' : 'small'}: ${SIZE.writers} writers, ~${SIZE.opsBeforeKill} acknowledged operations per round, ${SIZE.rounds} round(s))`, () => {
  it('loses nothing acknowledged across SIGKILL; webhooks queued before the kill are delivered after restart with their event-ids', { timeout: LARGE ? 600_000 : 120_000 }, async () => {
    const data = mkdtempSync(join(tmpdir(), 'dar-durability-'));
    dirs.push(data);
    // Phase 1 receiver: every other delivery hangs (never answered), which ties up the worker's
    // slots so deliveries queue up and some are in flight at the kill. Phase 2: answers at once.
    let phase = 1;
    const receiver: Receiver = await startReceiver((n) => (phase === 1 && n % 2 === 0 ? 'hang' : 200));

    let reg = await startRegister(data);
    let admin: string;
    let bright = await login(reg.url, DEMO.bright);
    const sub = await api(reg.url, bright, 'POST', '/v1/webhooks', { 'callback-url': receiver.url, 'alert-email': 'ops@bright-energy.example', 'event-types': ['consent.withdrawal'] });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const irs = await api(reg.url, bright, 'GET', '/v1/identity-records?mpxn=2312345678901');
    const ir = irs.body['identity-records'][0].ir as string;

    const created = new Map<string, ReturnType<typeof recordBody>>(); // acknowledged creates
    const revoked = new Set<string>(); // acknowledged revokes
    const revokedUnacknowledged = new Set<string>(); // in flight at a kill, found committed after it
    let counter = 0;

    for (let round = 1; round <= SIZE.rounds; round++) {
      let acked = 0;
      let stop = false;
      const active: string[] = [...created.keys()].filter((ak) => !revoked.has(ak) && !revokedUnacknowledged.has(ak));
      const writer = async () => {
        while (!stop) {
          try {
            if (active.length > 3 && Math.random() < 0.4) {
              const ak = active.splice(Math.floor(Math.random() * active.length), 1)[0];
              const res = await api(reg.url, bright, 'DELETE', `/v1/access-records/${ak}?reason=customer-request`);
              if (res.status === 200) {
                revoked.add(ak);
                acked++;
              } else if (!stop) throw new Error(`revoke ${ak}: ${res.status} ${JSON.stringify(res.body)}`);
            } else {
              const n = ++counter;
              const body = recordBody(ir, n);
              const res = await api(reg.url, bright, 'POST', '/v1/access-records', body);
              if (res.status === 201) {
                created.set(res.body['access-token'].key, body);
                active.push(res.body['access-token'].key);
                acked++;
              } else if (!stop) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
            }
          } catch (err) {
            // Once the kill is under way, failed requests are expected (their outcome is unknown).
            if (!stop) throw err;
          }
        }
      };
      const writers = Array.from({ length: SIZE.writers }, writer);
      while (acked < SIZE.opsBeforeKill) await new Promise((r) => setTimeout(r, 5));
      // Kill mid-stream: requests are in flight on every writer (their outcome is unknown;
      // a response that still arrives with a 2xx counts as acknowledged).
      stop = true;
      reg.child.kill('SIGKILL');
      await reg.exited;
      await Promise.allSettled(writers);

      expect(await integrity(data), `integrity after SIGKILL in round ${round}`).toBe('ok');
      // What the outbox held at the moment of the kill.
      const db = DbProbe.open(join(data, 'register.sqlite'), { readonly: true });
      const queued = (await db.deliveries({ eventType: 'consent.withdrawal' })).map((d) => ({ id: d.eventId, payload: d.payload, status: d.status }));
      const auditedCreates = new Set((await db.auditEvents('access-record.created')).map((r) => r.ak));
      const auditedRevokes = new Set((await db.auditEvents('access-record.revoked')).map((r) => r.ak));
      db.close();
      const queuedByAk = new Map(queued.map((q) => [q.payload.ak as string, q]));
      for (const ak of created.keys()) expect(auditedCreates.has(ak), `audit event for acknowledged create ${ak}`).toBe(true);
      for (const ak of revoked) {
        expect(auditedRevokes.has(ak), `audit event for acknowledged revoke ${ak}`).toBe(true);
        expect(queuedByAk.has(ak), `consent.withdrawal queued with acknowledged revoke ${ak}`).toBe(true);
      }
      const undeliveredAtKill = queued.filter((q) => q.status === 'pending').map((q) => q.id);
      console.info(`round ${round}: ${created.size} creates and ${revoked.size} revokes acknowledged so far; at the kill ${queued.length} consent.withdrawal deliveries in the outbox, ${undeliveredAtKill.length} not yet delivered`);

      // Phase 2: the receiver answers at once; restart on the same folder.
      phase = 2;
      reg = await startRegister(data);
      admin = await login(reg.url, DEMO.admin);
      bright = await login(reg.url, DEMO.bright);

      for (const [ak, body] of created) {
        const res = await api(reg.url, null, 'GET', `/v1/access-records/${ak}`);
        expect(res.status, `acknowledged create ${ak} survives`).toBe(200);
        const rec = res.body['access-record'];
        expect(rec['record-metadata']['record-identifier']).toBe(ak);
        expect(rec['record-metadata']['controller-arrangement'].controllers[0].name).toBe(body['record-metadata']['controller-arrangement'].controllers[0].name);
        expect(rec.processing.purpose).toBe(body.processing.purpose);
        expect(rec.processing['data-types']).toEqual(body.processing['data-types']);
        expect(rec.notice['shared-notice']['notice-version']).toBe(body.notice['shared-notice']['notice-version']);
        // A revoke in flight at the kill may or may not have committed; an acknowledged one has.
        expect(rec['access-event'].state, `state of ${ak}`).toEqual(revoked.has(ak) ? 'REVOKED' : expect.stringMatching(/^(ACTIVE|REVOKED)$/));
        // Committed but never answered: the next round must not try to revoke it again.
        if (!revoked.has(ak) && rec['access-event'].state === 'REVOKED') revokedUnacknowledged.add(ak);
      }
      const audit = await api(reg.url, admin, 'GET', '/v1/admin/audit/verify');
      expect(audit.status).toBe(200);
      expect(audit.body.intact, JSON.stringify(audit.body)).toBe(true);

      // Deliveries that were pending at the kill (queued, or in flight under a lease): move the
      // sandbox clock past the lease (10 s timeout + 60 s margin) so they are due now.
      await api(reg.url, admin, 'POST', '/v1/admin/clock', { 'advance-seconds': 120 });
      bright = await login(reg.url, DEMO.bright);
      const deadline = Date.now() + (LARGE ? 240_000 : 60_000);
      for (;;) {
        const got = new Set(receiver.received.map((x) => x.json?.['event-id'] as string));
        const missing = undeliveredAtKill.filter((id) => !got.has(id));
        const still = DbProbe.open(join(data, 'register.sqlite'), { readonly: true });
        const pending = (await still.deliveries({ status: 'pending' })).length;
        still.close();
        if (missing.length === 0 && pending === 0) break;
        if (Date.now() > deadline) throw new Error(`after restart: ${missing.length} deliveries queued before the kill never arrived (${missing.slice(0, 3).join(', ')}…), ${pending} still pending`);
        await new Promise((r) => setTimeout(r, 250));
      }
      // Each arrived with its original event-id and the payload of the revoke that queued it.
      for (const q of queued) {
        const arrivals = receiver.received.filter((x) => x.json?.['event-id'] === q.id);
        expect(arrivals.length, `event ${q.id} delivered`).toBeGreaterThan(0);
        for (const a of arrivals) {
          expect(a.json['event-type']).toBe('consent.withdrawal');
          expect(a.json.payload.ak).toBe(q.payload.ak);
          expect(a.headers['x-dar-signature']).toMatch(/sha256=[0-9a-f]{64}/);
        }
      }
      phase = 1; // the next round's deliveries queue up again
    }

    // Final clean stop; the file is intact.
    reg.child.kill('SIGTERM');
    await reg.exited;
    expect(await integrity(data)).toBe('ok');
    await receiver.close();
    expect(created.size).toBeGreaterThan(SIZE.opsBeforeKill * 0.5);
    expect(revoked.size).toBeGreaterThan(0);
  });
});
