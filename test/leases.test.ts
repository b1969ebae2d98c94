import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { mailMessages, webhookAttempts, webhookDeliveries } from '../src/server/db/schema.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { tempDir } from './support/temp-files.js';
import { startReceiver } from './support/webhook-receiver.js';

/**
 * Leases with tokens: two registers (two nodes) share one database file. A worker whose lease
 * ran out, and whose row another node claimed meanwhile, must not record its outcome over the
 * newer claim's.
 */
let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => undefined);
  open = [];
});

async function node(overrides: Parameters<typeof testRegister>[0], seed = false): Promise<TestRegister> {
  const r = await testRegister(overrides, { seed });
  open.push(r);
  await settle(r);
  return r;
}

/**
 * Commits a register's open batch. Two registers in one process share one thread: one waiting
 * for SQLite's write lock would keep the other from ever committing (separate nodes are
 * separate processes), so each test step leaves no batch open.
 */
async function settle(r: TestRegister): Promise<void> {
  await r.reg.durability.durable();
  r.reg.durability.endBatch();
}

/** As if the lease had run out: the row is due again now. */
const leaseRunsOut = (r: TestRegister, table: 'webhook_deliveries' | 'mail_messages') => r.reg.sqlite!.prepare(`update ${table} set next_attempt_at = ?`).run(new Date(Date.now() - 1000).toISOString());

describe('lease tokens', () => {
  it('a webhook delivery whose lease ran out and was claimed by another node cannot record its outcome; the event goes out with the same event id and body', async () => {
    const dataDir = tempDir('dar-lease-');
    // The first request (node A's) is never answered: A's attempt times out after B delivered.
    const rc = await startReceiver((n) => (n === 1 ? 'hang' : 200));
    open.push(rc);
    const a = await node({ dataDir, webhookTimeoutMs: 1500 }, true);
    const b = await node({ dataDir });
    expect((await a.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'ops@bright-energy.example' })).status).toBe(201);
    const created = await a.call('bright_energy', 'POST', '/v1/access-records', consentBody(a.demo!.ir));
    expect((await a.call('bright_energy', 'DELETE', `/v1/access-records/${created.body['access-token'].key}?reason=customer-request`)).status).toBe(200);
    await settle(a);

    const first = a.svc.delivery.runDue();
    await settle(a);
    await rc.waitFor(1);
    leaseRunsOut(a, 'webhook_deliveries');
    expect(await b.svc.delivery.runDue()).toBe(1);
    await settle(b);
    await rc.waitFor(2);
    const [delivered] = await b.reg.db.select().from(webhookDeliveries).limit(1);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, leaseToken: null });

    // A's request times out now; its outcome (a failure) must not be recorded.
    expect(await first).toBe(1);
    const [after] = await a.reg.db.select().from(webhookDeliveries).limit(1);
    expect(after).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null });
    expect(await a.reg.db.select().from(webhookAttempts)).toHaveLength(1);
    // Both requests carried the same event: same event-id, same body.
    expect(rc.received[0].json['event-id']).toBe(delivered.eventId);
    expect(rc.received[1].raw).toBe(rc.received[0].raw);
  });

  it('an e-mail whose lease ran out and was leased by another node: the first node cannot record its outcome', async () => {
    const dataDir = tempDir('dar-lease-');
    const good = await startSmtpSink();
    open.push(good);
    // Node A's server holds RCPT TO until told, then answers 451 (try again later).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let heldReached!: () => void;
    const reached = new Promise<void>((resolve) => (heldReached = resolve));
    const slow = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(_address, _session, callback) {
        heldReached();
        void held.then(() => callback(Object.assign(new Error('Try again later'), { responseCode: 451 })));
      },
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => slow.close(() => resolve())) });
    const port = (slow.server.address() as { port: number }).port;

    const a = await node({ dataDir, smtpUrl: `smtp://127.0.0.1:${port}` }, true);
    const b = await node({ dataDir, smtpUrl: good.url });
    await a.reg.tx(() => a.svc.mail.queue({ to: 'someone@example.org', subject: 'Hello', text: 'Hello', html: '<p>Hello</p>', purpose: 'test', ref: null }));
    await settle(a);

    const first = a.svc.mail.processDue();
    await settle(a);
    await reached;
    leaseRunsOut(a, 'mail_messages');
    expect(await b.svc.mail.processDue()).toBe(1);
    await settle(b);
    await good.waitFor(1);
    expect((await b.reg.db.select().from(mailMessages).limit(1))[0]).toMatchObject({ status: 'sent', attempts: 1, lastError: null, leaseToken: null });

    release();
    expect(await first).toBe(1);
    // Still sent once, not "retrying" (which would send it a second time).
    expect((await a.reg.db.select().from(mailMessages).limit(1))[0]).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    expect(a.reg.sqlite!.prepare("select count(*) from audit_events where event_type = 'mail.failed'").pluck().get()).toBe(0);
  });
});
