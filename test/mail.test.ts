import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from './support/customer.js';
import { registerWithSmtpSink, testRegister, type TestRegister } from './support/register.js';
import { decodeQuotedPrintable, type SmtpSink } from './support/smtp-sink.js';

const DEMO_MPXN = '2312345678901';
const MIN = 60_000;

const sample = (n: number) => ({ to: `person${n}@example.org`, subject: `Hello ${n}`, text: `See https://example.org/${n} now.`, html: `<p><a href="https://example.org/${n}">link</a></p>`, purpose: 'test', ref: `ref-${n}` });

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

describe('mail outbox without SMTP (captured)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister({ smtpUrl: null });
  });
  afterAll(() => r.close());

  it('queue() captures every message, newest first, paged with limit/cursor; links extracted', async () => {
    const ids = await r.reg.tx(async () => {
      const queued: string[] = [];
      for (const n of [1, 2, 3]) queued.push(await r.svc.mail.queue(sample(n)));
      return queued;
    });
    expect(ids[0]).toMatch(/^msg_[0-9a-f]{24}$/);
    const page1 = await r.call('admin_ops', 'GET', '/v1/admin/outbox?purpose=test&limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.total).toBe(3);
    expect(page1.body.messages.map((m: any) => m.id)).toEqual([ids[2], ids[1]]);
    expect(page1.body.messages[0]).toMatchObject({ to: 'person3@example.org', subject: 'Hello 3', status: 'captured', links: ['https://example.org/3'], attempts: 0, 'last-error': null });
    expect(page1.body.messages[0]['created-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const page2 = await r.call('admin_ops', 'GET', `/v1/admin/outbox?purpose=test&limit=2&cursor=${page1.body['next-cursor']}`);
    expect(page2.body.messages.map((m: any) => m.id)).toEqual([ids[0]]);
    expect(page2.body['next-cursor']).toBeNull();
  });

  it('the recipient is stored encrypted, like identity e-mails', async () => {
    const id = await r.reg.tx(() => r.svc.mail.queue(sample(9)));
    const row = (await r.probe.mail(id))!;
    expect(row.to).not.toContain('person9');
    expect(r.svc.mail.recipient(row)).toBe('person9@example.org');
  });

  it('a message queued in a transaction that rolls back is never kept', async () => {
    await expect(
      r.reg.tx(async () => {
        await r.svc.mail.queue(sample(10));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await r.svc.mail.list({ ref: 'ref-10', limit: 10 })).total).toBe(0);
  });

  it('admin only; retry needs SMTP', async () => {
    expect((await r.call('bright_energy', 'GET', '/v1/admin/outbox')).status).toBe(403);
    expect((await r.call(null, 'GET', '/v1/admin/outbox')).status).toBe(401);
    const id = await r.reg.tx(() => r.svc.mail.queue(sample(11)));
    const retry = await r.call('admin_ops', 'POST', `/v1/admin/outbox/${id}/retry`);
    expect(retry.status).toBe(409);
  });
});

describe('mail delivery over SMTP (nodemailer → smtp-server on 127.0.0.1)', () => {
  let sink: SmtpSink;
  let r: TestRegister;
  registerWithSmtpSink((env) => ({ r, sink } = env));
  afterEach(() => {
    sink.failWith = null;
    r.reg.clock.setOffset(0);
  });

  it('a magic link is delivered: the message names the organisation and carries the link; the outbox says sent', async () => {
    const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
    const ref = start.body['magic-link']['token-ref'];
    const queued = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages[0];
    expect(queued.status).toBe('queued');
    expect(await r.svc.mail.processDue()).toBe(1);
    const [mail] = await sink.waitFor(1);
    expect(mail.to).toEqual(['customer@example.com']);
    expect(mail.raw).toMatch(/^Subject: OctopusFlux Ltd is asking to confirm it's you/m);
    expect(mail.raw).toMatch(/^From: Data Access Register <no-reply@dar\.localhost>/m);
    expect(mail.raw).toMatch(new RegExp(`^X-DAR-Message-Id: ${queued.id}$`, 'im'));
    const body = decodeQuotedPrintable(mail.raw);
    const link = /http:\/\/localhost:5001\/id\/magic\/[A-Za-z0-9_-]{43}/.exec(body)![0];
    expect(link).toBe(queued.links[0]);
    const sent = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages[0];
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, 'last-error': null, 'next-attempt-at': null });
    expect(sent['sent-at']).toMatch(/Z$/);
    // The delivered link works.
    expect((await new Customer(r).confirmMagicLink(link)).status).toBe(200);
    expect((await r.call('octopusflux', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');
  });

  it('the worker delivers queued mail by itself once started', async () => {
    const before = sink.received.length;
    r.svc.mail.worker.start();
    try {
      await r.reg.tx(() => r.svc.mail.queue(sample(20)));
      await sink.waitFor(before + 1);
      await expect.poll(async () => (await r.svc.mail.list({ ref: 'ref-20', limit: 1 })).rows[0].status).toBe('sent');
    } finally {
      await r.svc.mail.worker.stop();
    }
  });

  it('a transient failure (451) is retried with backoff, visible as retrying with the last error, then sent', async () => {
    sink.failWith = 451;
    const id = await r.reg.tx(() => r.svc.mail.queue(sample(21)));
    await r.svc.mail.processDue();
    let view = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?ref=ref-21')).body.messages[0];
    expect(view).toMatchObject({ id, status: 'retrying', attempts: 1 });
    expect(view['last-error']).toContain('451');
    const next = new Date(view['next-attempt-at']).getTime();
    expect(next - Date.now()).toBeGreaterThan(20_000);
    // Not due yet: nothing happens.
    expect(await r.svc.mail.processDue()).toBe(0);
    // Second attempt after the backoff, still failing; the delay grows.
    r.reg.clock.setOffset(MIN);
    await r.svc.mail.processDue();
    view = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?ref=ref-21')).body.messages[0];
    expect(view).toMatchObject({ status: 'retrying', attempts: 2 });
    expect(new Date(view['next-attempt-at']).getTime() - (Date.now() + MIN)).toBeGreaterThan(50_000);
    // The server recovers: the next attempt delivers.
    sink.failWith = null;
    const before = sink.received.length;
    r.reg.clock.setOffset(5 * MIN);
    await r.svc.mail.processDue();
    await sink.waitFor(before + 1);
    view = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?ref=ref-21')).body.messages[0];
    expect(view).toMatchObject({ status: 'sent', attempts: 3, 'last-error': null });
  });

  it('a permanent failure (550) is failed at once, audited, and an operator can retry it', async () => {
    sink.failWith = 550;
    const id = await r.reg.tx(() => r.svc.mail.queue(sample(22)));
    await r.svc.mail.processDue();
    const failed = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?status=failed')).body.messages.find((m: any) => m.id === id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, 'next-attempt-at': null });
    expect(failed['last-error']).toContain('550');
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=mail.failed');
    expect(audit.body.events.some((e: any) => e.subject === id)).toBe(true);
    sink.failWith = null;
    const retry = await r.call('admin_ops', 'POST', `/v1/admin/outbox/${id}/retry`);
    expect(retry.status).toBe(200);
    expect(retry.body.message.status).toBe('queued');
    await r.svc.mail.processDue();
    expect((await r.svc.mail.list({ ref: 'ref-22', limit: 1 })).rows[0].status).toBe('sent');
  });
});

describe('mail delivery when the SMTP server is down', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister({ smtpUrl: `smtp://127.0.0.1:${await closedPort()}` });
  });
  afterAll(() => r.close());

  it('connection refused: retried on every backoff step, then failed — never dropped', async () => {
    const id = await r.reg.tx(() => r.svc.mail.queue(sample(30)));
    const max = r.svc.mail.maxAttempts;
    let offset: number;
    for (let attempt = 1; attempt <= max; attempt++) {
      expect(await r.svc.mail.processDue()).toBe(1);
      const row = (await r.svc.mail.find(id))!;
      expect(row.attempts).toBe(attempt);
      expect(row.lastError).toMatch(/ECONNREFUSED/);
      if (attempt < max) {
        expect(row.status).toBe('retrying');
        offset = new Date(row.nextAttemptAt!).getTime() - Date.now() + 1000;
        r.reg.clock.setOffset(offset);
      } else {
        expect(row.status).toBe('failed');
        expect(row.nextAttemptAt).toBeNull();
      }
    }
    r.reg.clock.setOffset(0);
    const view = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?status=failed')).body.messages[0];
    expect(view).toMatchObject({ id, status: 'failed', attempts: max });
  });
});

describe('production mode hides magic-link secrets from the outbox', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister({ mode: 'production', origin: 'https://id.register.example' });
  });
  afterAll(() => r.close());

  it('the admin outbox redacts the link secret', async () => {
    // A production register refuses the demo MPAN (its check digit is wrong): use one with a valid check digit.
    const mpxn = '1800000001003';
    const made = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2022-06-30' }, 'expressed-by': 'data-subject', email: 'customer@example.com' });
    expect(made.status).toBe(201);
    const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' });
    expect(start.status).toBe(200);
    const msg = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${start.body['magic-link']['token-ref']}`)).body.messages[0];
    expect(msg.links).toEqual(['https://id.register.example/id/magic/[redacted]']);
    expect(msg.text).not.toMatch(/\/id\/magic\/[A-Za-z0-9_-]{43}/);
    expect(msg.html).not.toMatch(/\/id\/magic\/[A-Za-z0-9_-]{43}/);
  });
});
