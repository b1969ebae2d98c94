import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DbProbe } from './support/db-probe.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { startReceiver, verifyDarSignature, verifyStandardWebhook, type Receiver } from './support/webhook-receiver.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'dar-webhooks-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => undefined);
  open = [];
});

async function receiver(b?: (n: number) => number | 'hang'): Promise<Receiver> {
  const rc = await startReceiver(b);
  open.push(rc);
  return rc;
}

async function revokeNew(r: TestRegister): Promise<string> {
  const created = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(r.demo!.ir));
  const ak = created.body['access-token'].key;
  expect((await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=customer-request`)).status).toBe(200);
  return ak;
}

describe('webhook delivery survives restarts (real data directory)', () => {
  it('a register closed mid-retry delivers the pending event after reopening, with the original event-id', async () => {
    const dataDir = tmp();
    const rc = await receiver((n) => (n === 1 ? 500 : 200));

    // First life: default (contract) retry schedule; the first attempt fails.
    const r1 = await testRegister({ dataDir });
    const sub = await r1.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'ops@bright-energy.example' });
    const secret = sub.body['signing-secret'];
    await revokeNew(r1);
    expect(await r1.svc.delivery.runDue()).toBe(1);
    const [pending] = await r1.probe.deliveries();
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500 });
    expect(new Date(pending.nextAttemptAt!).getTime() - Date.now()).toBeGreaterThan(55_000);
    await r1.close();

    // Second life on the same folder: the retry is still scheduled, a minute on.
    const r2 = await testRegister({ dataDir });
    open.push(r2);
    expect(await r2.svc.delivery.runDue()).toBe(0);
    const clock = await r2.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 61 });
    expect(clock.status).toBe(200);
    // Moving the clock delivers what fell due on the way, before it answers.
    expect(clock.body.ran['webhook-attempts']).toBe(1);
    expect(await r2.svc.delivery.runDue()).toBe(0);

    expect(rc.received).toHaveLength(2);
    expect(rc.received[1].json['event-id']).toBe(pending.eventId);
    expect(rc.received[1].raw).toBe(rc.received[0].raw);
    // The signing secret came back from the encrypted column under the same key file.
    expect(verifyDarSignature(secret, rc.received[1].headers, rc.received[1].raw)).toBe(true);
    expect(verifyStandardWebhook(secret, rc.received[1].headers, rc.received[1].raw)).toBe(true);
    const d = (await r2.call('admin_ops', 'GET', '/v1/admin/deliveries')).body.deliveries[0];
    expect(d).toMatchObject({ 'event-id': pending.eventId, status: 'delivered', attempts: 2 });
    expect(d['attempt-log'].map((a: { 'status-code': number }) => a['status-code'])).toEqual([500, 200]);
  });

  it('events queued but never attempted before a shutdown go out after the next start', async () => {
    const dataDir = tmp();
    const rc = await receiver();
    const r1 = await testRegister({ dataDir });
    await r1.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'ops@bright-energy.example' });
    await revokeNew(r1);
    await revokeNew(r1);
    const queued = (await r1.probe.deliveries()).map((d) => d.eventId).sort();
    expect(queued).toHaveLength(2);
    await r1.close();
    expect(rc.received).toHaveLength(0);

    const r2 = await testRegister({ dataDir, webhookPollMs: 20 });
    open.push(r2);
    r2.svc.delivery.start();
    await rc.waitFor(2);
    expect(rc.received.map((g) => g.json['event-id']).sort()).toEqual(queued);
  });

  it('keeps the sandbox clock offset across a restart', async () => {
    const dataDir = tmp();
    const r1 = await testRegister({ dataDir });
    await r1.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 600 });
    await r1.close();
    const r2 = await testRegister({ dataDir }, { seed: false });
    open.push(r2);
    expect(r2.reg.clock.offset).toBe(600_000);
  });
});

// ---------------------------------------------------------------------------------------
// A real crash: the headless register is SIGKILLed while a delivery is in flight.

const CLI = join(process.cwd(), 'src', 'server', 'cli.ts');

/**
 * One process (`node --import tsx`), not the tsx wrapper: SIGKILL must hit the register
 * itself. Killing the wrapper would leave the real register running.
 */
function startCli(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--data', dataDir, '--port', '0', '--seed', 'demo', '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`register did not start:\n${out}`)), 25_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${m[1]}`, child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`register exited ${code}:\n${out}`));
    });
  });
}

async function api(url: string, token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

async function login(url: string, account: string, secret: string): Promise<string> {
  const res = await fetch(`${url}/v1/auth/token`, { headers: { authorization: `Basic ${Buffer.from(`${account}:${secret}`).toString('base64')}` } });
  return ((await res.json()) as { 'bearer-token': string })['bearer-token'];
}

const killed = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

describe('webhook delivery survives SIGKILL of the register process', () => {
  it('an event in flight when the process is killed is delivered after restart with its original event-id', async () => {
    const dataDir = tmp();
    let crash: (() => void) | null = null;
    const rc = await receiver((n) => {
      if (n === 1) {
        crash?.();
        return 'hang';
      }
      return 200;
    });

    const first = await startCli(dataDir);
    open.push({ close: async () => void first.child.kill('SIGKILL') });
    crash = () => first.child.kill('SIGKILL');
    const bright = await login(first.url, 'bright_energy', 'bright-secret-demo');
    const sub = await api(first.url, bright, 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'ops@bright-energy.example' });
    expect(sub.status).toBe(201);
    const records = await api(first.url, bright, 'GET', '/v1/records?state=ACTIVE');
    const ak = records.body.records[0].ak;
    expect((await api(first.url, bright, 'DELETE', `/v1/access-records/${ak}?reason=customer-request`)).status).toBe(200);
    await rc.waitFor(1);
    await killed(first.child);
    expect(first.child.signalCode).toBe('SIGKILL');
    const eventId = rc.received[0].json['event-id'];

    // On disk: the row is still pending, leased (due again after the lease), no attempt recorded.
    const db = DbProbe.open(join(dataDir, 'register.sqlite'), { readonly: true });
    const row = (await db.delivery(eventId))!;
    const attempts = await db.attempts(eventId);
    db.close();
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(0);
    expect(new Date(row.nextAttemptAt!).getTime()).toBeGreaterThan(Date.now());
    expect(attempts).toHaveLength(0);

    const second = await startCli(dataDir);
    open.push({ close: async () => void second.child.kill('SIGTERM') });
    const admin = await login(second.url, 'admin_ops', 'admin-secret-demo');
    // Past the lease (timeout + margin): the scheduler runs at once after the clock moves.
    expect((await api(second.url, admin, 'POST', '/v1/admin/clock', { 'advance-seconds': 120 })).status).toBe(200);
    const got = await rc.waitFor(2, 15_000);
    expect(got[1].json['event-id']).toBe(eventId);
    expect(got[1].json.payload.ak).toBe(ak);
    expect(got[1].raw).toBe(got[0].raw);

    let d: any;
    for (let i = 0; i < 100; i++) {
      d = (await api(second.url, admin, 'GET', `/v1/admin/deliveries?wid=${sub.body.webhook.wid}`)).body.deliveries[0];
      if (d.status === 'delivered') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(d).toMatchObject({ 'event-id': eventId, status: 'delivered', attempts: 1, 'last-status-code': 200 });
    second.child.kill('SIGTERM');
    await killed(second.child);
  }, 90_000);
});
