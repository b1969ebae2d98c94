import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/server/config.js';
import { openDatabase } from '../src/server/db/open.js';
import { DbProbe } from './support/db-probe.js';
import { Customer } from './support/customer.js';
import { registerWithSmtpSink, TEST_ENGINE, testRegister, type TestRegister } from './support/register.js';
import { decodeQuotedPrintable, type SmtpSink } from './support/smtp-sink.js';
import { tempDir } from './support/temp-files.js';

const DEMO_MPXN = '2312345678901';
const ORIGIN = 'https://id.register.example';
const SECRET_LINK = /\/id\/magic\/[A-Za-z0-9_-]{43}/;

/** Every value in every table, as one string: what a copy of the database would reveal. */
function databaseText(r: TestRegister): Promise<string> {
  return r.probe.everyValueAsText();
}

/**
 * A production register refuses the demo MPAN (its check digit is wrong), so production tests
 * re-identify the customer of a meter point whose MPAN core is valid.
 */
const PRODUCTION_MPXN = '1800000001003';
async function productionCustomer(r: TestRegister): Promise<string> {
  const made = await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: PRODUCTION_MPXN, 'move-in-date': '2022-06-30' }, 'expressed-by': 'data-subject', email: 'customer@example.com' });
  expect(made.status).toBe(201);
  return PRODUCTION_MPXN;
}

const outboxRow = async (r: TestRegister, ref: string) => (await r.probe.latestMailFor(ref))!;

describe('production: the outbox never stores a usable magic link', () => {
  it('without SMTP: the link is stored redacted and nowhere else', async () => {
    const r = await testRegister({ mode: 'production', origin: ORIGIN, smtpUrl: null });
    try {
      const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: await productionCustomer(r), method: 'magic-link' });
      expect(start.status).toBe(200);
      const row = await outboxRow(r, start.body['magic-link']['token-ref']);
      expect(row.status).toBe('captured');
      expect(row.links).toEqual([`${ORIGIN}/id/magic/[redacted]`]);
      expect(row.text).toContain(`${ORIGIN}/id/magic/[redacted]`);
      expect(row.sealed).toBeNull();
      expect(await databaseText(r)).not.toMatch(SECRET_LINK);
    } finally {
      await r.close();
    }
  });

  describe('with SMTP', () => {
    let sink: SmtpSink;
    let r: TestRegister;
    registerWithSmtpSink((env) => ({ r, sink } = env), { mode: 'production', origin: ORIGIN });

    it('queued: only an encrypted copy; delivered: the customer gets a working link, the database keeps none', async () => {
      const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: await productionCustomer(r), method: 'magic-link' });
      const ref = start.body['magic-link']['token-ref'];
      const queued = await outboxRow(r, ref);
      expect(queued.status).toBe('queued');
      expect(queued.sealed).toMatch(/^v1\./);
      expect(await databaseText(r)).not.toMatch(SECRET_LINK);

      const before = sink.received.length;
      expect(await r.svc.mail.processDue()).toBe(1);
      const mail = (await sink.waitFor(before + 1))[before];
      const body = decodeQuotedPrintable(mail.raw);
      const link = new RegExp(`${ORIGIN.replace(/[.]/g, '\\.')}${SECRET_LINK.source}`).exec(body)![0];
      const secret = link.split('/').pop()!;

      const sent = await outboxRow(r, ref);
      expect(sent.status).toBe('sent');
      expect(sent.sealed).toBeNull();
      expect(await databaseText(r)).not.toContain(secret);
      // The admin outbox shows the redacted form.
      const shown = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages[0];
      expect(shown.links).toEqual([`${ORIGIN}/id/magic/[redacted]`]);
      // What the customer received works.
      expect((await new Customer(r).confirmMagicLink(`${new URL(link).pathname}`)).status).toBe(200);
      expect((await r.call('octopusflux', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');
    });

    it('a message that fails for good keeps no copy, and cannot be retried with a blank link', async () => {
      const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: await productionCustomer(r), method: 'magic-link' });
      const ref = start.body['magic-link']['token-ref'];
      sink.failWith = 550;
      try {
        await r.svc.mail.processDue();
      } finally {
        sink.failWith = null;
      }
      const failed = await outboxRow(r, ref);
      expect(failed.status).toBe('failed');
      expect(failed.sealed).toBeNull();
      expect(await databaseText(r)).not.toMatch(SECRET_LINK);
      const id = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages[0].id;
      const retry = await r.call('admin_ops', 'POST', `/v1/admin/outbox/${id}/retry`);
      expect(retry.status).toBe(409);
      expect(retry.body.errors[0].message).toMatch(/one-time link/);
    });
  });
});

describe('an SMTP error quoting the recipient is stored without the address', () => {
  it('last-error and the mail.failed audit event keep the reason, not the e-mail address', async () => {
    // A server that rejects recipients the way real ones do: quoting the address.
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(address, _session, callback) {
        callback(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`), { responseCode: 550 }));
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.server.address() as { port: number }).port;
    const r = await testRegister({ smtpUrl: `smtp://127.0.0.1:${port}` });
    try {
      const id = await r.reg.tx(() => r.svc.mail.queue({ to: 'rejected.person@example.org', subject: 'Hello', text: 'Hi', html: '<p>Hi</p>', purpose: 'test', ref: 'ref-rejected' }));
      await r.svc.mail.processDue();
      const shown = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?ref=ref-rejected')).body.messages[0];
      expect(shown.id).toBe(id);
      expect(shown.status).toBe('failed');
      expect(shown['last-error']).toMatch(/Recipient address rejected/);
      expect(shown.to).toBe('rejected.person@example.org'); // the operator still sees it, decrypted
      expect(await databaseText(r)).not.toContain('rejected.person@example.org');
    } finally {
      await r.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("sandbox: the outbox stays the developer's mail catcher", () => {
  it('links are stored and shown usable', async () => {
    const r = await testRegister({ smtpUrl: null });
    try {
      const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
      const msg = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${start.body['magic-link']['token-ref']}`)).body.messages[0];
      expect(msg.links[0]).toMatch(SECRET_LINK);
      expect((await new Customer(r).confirmMagicLink(msg.links[0])).status).toBe(200);
    } finally {
      await r.close();
    }
  });
});

describe('migration: magic links already in the outbox lose their secret', () => {
  // A SQLite migration on a SQLite file: PostgreSQL's schema began after it (drizzle-pg's baseline).
  it.skipIf(TEST_ENGINE === 'postgres')('scrubs captured, sent and failed rows; leaves rows still waiting for SMTP', async () => {
    const root = join(import.meta.dirname, '..', 'drizzle');
    const dir = tempDir('dar-outbox-mig-');
    // The migrations before this one, then rows as an older register wrote them.
    const before = join(dir, 'before');
    cpSync(root, before, { recursive: true });
    const journalFile = join(before, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8'));
    const mine = journal.entries.findIndex((e: { tag: string }) => /_outbox_sealed$/.test(e.tag));
    expect(mine).toBeGreaterThan(0);
    journal.entries = journal.entries.slice(0, mine);
    writeFileSync(journalFile, JSON.stringify(journal));
    const file = join(dir, 'register.sqlite');
    openDatabase(file, before).sqlite.close();
    const old = DbProbe.open(file);
    const link = (s: string) => `https://id.register.example/id/magic/${s.padEnd(43, 'x')}`;
    const insert = (messageId: string, text: string, html: string, links: string, ref: string, status: string) =>
      old.insertRow('mail_messages', { message_id: messageId, to: 'enc', subject: 's', text, html, links, purpose: 'reidentification.magic-link', ref, status, attempts: 0, created_at: '2026-01-01T00:00:00.000Z' });
    for (const [i, status] of ['captured', 'sent', 'failed', 'queued', 'retrying'].entries()) {
      const l = link(`Secret${i}`);
      await insert(`msg_${String(i).padStart(24, '0')}`, `Open ${l} now.`, `<a href="${l}">${l}</a>`, JSON.stringify([l, 'https://other.example/help']), `mlr_${i}`, status);
    }
    await insert('msg_9'.padEnd(28, '0'), 'No link here https://example.org/', '<p>none</p>', JSON.stringify(['https://example.org/']), 'mlr_9', 'sent');
    old.close();

    openDatabase(file, defaultConfig().migrationsFolder).sqlite.close();
    const migrated = DbProbe.open(file);
    const rows = (await migrated.rows('mail_messages')) as { ref: string; status: string; text: string; html: string; links: string }[];
    migrated.close();
    for (const row of rows) {
      const all = row.text + row.html + row.links;
      if (row.ref === 'mlr_9') expect(row.text).toBe('No link here https://example.org/');
      else if (row.status === 'queued' || row.status === 'retrying') expect(all).toMatch(SECRET_LINK);
      else {
        expect(all, row.status).not.toMatch(/Secret\d/);
        expect(row.text).toBe('Open https://id.register.example/id/magic/[redacted] now.');
        expect(row.html).toBe('<a href="https://id.register.example/id/magic/[redacted]">https://id.register.example/id/magic/[redacted]</a>');
        expect(JSON.parse(row.links)).toEqual(['https://id.register.example/id/magic/[redacted]', 'https://other.example/help']);
      }
    }
  });
});
