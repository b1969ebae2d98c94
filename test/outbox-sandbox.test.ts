import { afterEach, describe, expect, it } from 'vitest';
import type { RegisterConfig } from '../src/server/config.js';
import { Customer, linkFromOutbox } from './support/customer.js';
import { testRegister, type TestRegister } from './support/register.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});
async function setup(overrides: Partial<RegisterConfig> = {}): Promise<TestRegister> {
  const r = await testRegister(overrides);
  open.push(r);
  return r;
}
const mail = (r: TestRegister, to: string, subject: string, text: string, html = `<p>${text}</p>`) => r.reg.tx(() => r.svc.mail.queue({ to, subject, text, html, purpose: 'test' }));
const search = async (r: TestRegister, q: string, extra = '') => {
  const res = await r.call('admin_ops', 'GET', `/v1/admin/outbox?q=${encodeURIComponent(q)}${extra}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { messages: { id: string; subject: string; to: string }[]; total: number; 'next-cursor': string | null };
};

describe('sandbox mail outbox', () => {
  it('searches recipient (stored encrypted), subject and body, ignoring case, with paging and the other filters', async () => {
    const r = await setup();
    const a = await mail(r, 'Alice@Example.org', 'Your meter reading', 'Hello from the register');
    const b = await mail(r, 'bob@example.net', 'Change of tenancy', 'Alice moved out of 14 Harbour View');
    const c = await mail(r, 'carol@example.com', 'Weekly summary', 'Nothing to see', '<p>A <b>tariff</b> note</p>');
    expect((await search(r, 'alice@example')).messages.map((m) => m.id)).toEqual([a]);
    expect((await search(r, 'ALICE')).messages.map((m) => m.id)).toEqual([b, a]);
    expect((await search(r, 'tenancy')).messages.map((m) => m.id)).toEqual([b]);
    expect((await search(r, '<b>tariff')).messages.map((m) => m.id)).toEqual([c]);
    expect((await search(r, 'no such words')).total).toBe(0);
    const p1 = await search(r, 'example', '&limit=2');
    expect(p1).toMatchObject({ total: 3 });
    expect(p1.messages.map((m) => m.id)).toEqual([c, b]);
    const p2 = await search(r, 'example', `&limit=2&cursor=${p1['next-cursor']}`);
    expect(p2.messages.map((m) => m.id)).toEqual([a]);
    expect(p2['next-cursor']).toBeNull();
    expect((await search(r, 'example', '&purpose=other')).total).toBe(0);
    const tooLong = await r.call('admin_ops', 'GET', `/v1/admin/outbox?q=${'x'.repeat(201)}`);
    expect(tooLong.status).toBe(400);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/outbox?q=')).status).toBe(400);
  });

  it('deletes one and deletes all, audited as the administrator; unknown is 404, a bad id 400', async () => {
    const r = await setup();
    const before = (await r.call('admin_ops', 'GET', '/v1/admin/outbox')).body.total as number;
    const a = await mail(r, 'a@example.org', 'One', 'first');
    await mail(r, 'b@example.org', 'Two', 'second');
    const del = await r.call('admin_ops', 'DELETE', `/v1/admin/outbox/${a}`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.deleted).toBe(1);
    const list = (await r.call('admin_ops', 'GET', '/v1/admin/outbox')).body;
    expect(list.total).toBe(before + 1);
    expect(list.messages.some((m: { id: string }) => m.id === a)).toBe(false);
    expect((await r.call('admin_ops', 'DELETE', `/v1/admin/outbox/${a}`)).status).toBe(404);
    expect((await r.call('admin_ops', 'DELETE', '/v1/admin/outbox/msg_nope')).status).toBe(400);
    const all = await r.call('admin_ops', 'DELETE', '/v1/admin/outbox');
    expect(all.body.deleted).toBe(before + 1);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/outbox')).body.total).toBe(0);
    const audit = (await r.call('admin_ops', 'GET', '/v1/admin/audit?limit=2')).body.events;
    expect(audit.map((e: { 'event-type': string; actor: string }) => [e['event-type'], e.actor])).toEqual([
      ['mail.deleted-all', 'admin_ops'],
      ['mail.deleted', 'admin_ops'],
    ]);
    expect(audit[0].detail).toEqual({ deleted: before + 1 });
    expect(audit[1].subject).toBe(a);
    expect((await r.call('bright_energy', 'DELETE', '/v1/admin/outbox')).status).toBe(403);
  });

  it('shows From:, the header lines and the raw RFC 822 source, composed as SMTP carries it', async () => {
    const sink = await startSmtpSink();
    open.push(sink);
    const r = await setup({ smtpUrl: sink.url, mailFrom: 'Sandbox Register <register@dar.example>' });
    const id = await mail(r, 'dana@example.org', 'Résumé of your access', 'Plain body line', '<p>HTML <a href="http://localhost:5001/portal">body</a></p>');
    await r.svc.mail.processDue();
    const [delivered] = await sink.waitFor(1);

    const list = (await r.call('admin_ops', 'GET', '/v1/admin/outbox')).body;
    expect(list.messages.find((m: { id: string }) => m.id === id).from).toBe('Sandbox Register <register@dar.example>');
    const res = await r.call('admin_ops', 'GET', `/v1/admin/outbox/${id}/source`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.from).toBe('Sandbox Register <register@dar.example>');
    const h = Object.fromEntries((res.body.headers as { name: string; value: string }[]).map((x) => [x.name.toLowerCase(), x.value]));
    expect(h.from).toBe('Sandbox Register <register@dar.example>');
    expect(h.to).toBe('dana@example.org');
    expect(h.subject).toMatch(/^=\?UTF-8\?Q\?R=C3=A9sum=C3=A9/);
    expect(h['x-dar-message-id']).toBe(id);
    expect(h['x-dar-purpose']).toBe('test');
    expect(h['message-id']).toBe(`<${id}@dar.example>`);
    expect(h['mime-version']).toBe('1.0');
    expect(h['content-type']).toMatch(/^multipart\/alternative; boundary=/);
    const source = res.body.source as string;
    expect(source).toContain('\r\n\r\n');
    expect(source).toContain('Plain body line');
    expect(source).toContain('Content-Type: text/html; charset=utf-8');
    // The same header lines SMTP carried (bar the per-send Message-ID, Date and boundary).
    const headerNames = (raw: string) =>
      raw
        .slice(0, raw.indexOf('\r\n\r\n'))
        .split('\r\n')
        .filter((l) => /^[A-Za-z-]+:/.test(l))
        .map((l) => l.slice(0, l.indexOf(':')).toLowerCase())
        .filter((n) => !['message-id', 'date', 'content-type'].includes(n))
        .sort();
    expect(headerNames(source)).toEqual(headerNames(delivered.raw).filter((n) => headerNames(source).includes(n)));
    expect(delivered.raw).toContain('Subject: =?UTF-8?Q?R=C3=A9sum=C3=A9');
    for (const n of ['from', 'to', 'subject', 'x-dar-message-id', 'x-dar-purpose', 'mime-version']) expect(headerNames(delivered.raw)).toContain(n);

    const raw = await r.app.inject({ method: 'GET', url: `/v1/admin/outbox/${id}/raw`, headers: { authorization: `Bearer ${await r.token('admin_ops')}` } });
    expect(raw.statusCode).toBe(200);
    expect(raw.headers['content-type']).toMatch(/^message\/rfc822/);
    // The same message; only the MIME boundary is drawn afresh each time.
    const sameBoundary = (s: string) => s.replaceAll(/--_NmP-[0-9a-f]+-Part_1/g, 'BOUNDARY');
    expect(sameBoundary(raw.body)).toBe(sameBoundary(source));
    expect((await r.call('admin_ops', 'GET', `/v1/admin/outbox/msg_${'0'.repeat(24)}/source`)).status).toBe(404);
  });

  it('production: search, delete, delete all and the source are 403 AUTH003; the list and retry stay', async () => {
    const r = await setup({ mode: 'production', origin: 'https://register.example' });
    const id = await mail(r, 'erin@example.org', 'Hello', 'body');
    for (const [method, url] of [
      ['GET', '/v1/admin/outbox?q=erin'],
      ['DELETE', `/v1/admin/outbox/${id}`],
      ['DELETE', '/v1/admin/outbox'],
      ['GET', `/v1/admin/outbox/${id}/source`],
      ['GET', `/v1/admin/outbox/${id}/raw`],
    ]) {
      const res = await r.call('admin_ops', method, url);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.errors[0]['error-code']).toBe('AUTH003');
    }
    expect((await r.call('admin_ops', 'GET', '/v1/admin/outbox')).status).toBe(200);
  });

  it("a link opened on the register's own loopback address (not --origin's) confirms; another site's origin does not", async () => {
    // --origin names port 5001; the register is reached on 127.0.0.1:5099 (e.g. --port 5099).
    const r = await setup({ origin: 'http://localhost:5001' });
    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${r.demo!.ir}/re-identify`, { method: 'magic-link' });
    const ref = start.body['magic-link']['token-ref'] as string;
    const link = await linkFromOutbox(r, ref);
    expect(link.startsWith('http://localhost:5001/id/magic/')).toBe(true);
    const status = async () => (await r.call('bright_energy', 'GET', `/v1/identity-records/${r.demo!.ir}/re-identify/${ref}`)).body.status;

    const evil = new Customer(r);
    const host = { host: 'evil.example:5099' };
    const csrfEvil = Customer.csrfField((await evil.request('GET', link, { headers: host })).body)!;
    expect((await evil.request('POST', link, { form: { csrf: csrfEvil }, headers: host, origin: 'http://evil.example:5099' })).status).toBe(403);
    const crossSite = new Customer(r);
    const local = { host: '127.0.0.1:5099' };
    const csrfCross = Customer.csrfField((await crossSite.request('GET', link, { headers: local })).body)!;
    expect((await crossSite.request('POST', link, { form: { csrf: csrfCross }, headers: local, origin: 'http://evil.example' })).status).toBe(403);
    expect(await status()).toBe('pending');

    const c = new Customer(r);
    const csrf = Customer.csrfField((await c.request('GET', link, { headers: local })).body)!;
    const res = await c.request('POST', link, { form: { csrf }, headers: local, origin: 'http://127.0.0.1:5099' });
    expect(res.status, res.body.slice(0, 300)).toBe(200);
    expect(await status()).toBe('confirmed');
  });

  it("a passkey page opened on the register's own loopback address completes the ceremony there (sandbox only)", async () => {
    const run = async (r: TestRegister, pageOrigin: string, mpxn: string, signedOrigin = pageOrigin) => {
      const res = await r.call('bright_energy', 'POST', '/v1/identity-records', {
        'pii-principal': { mpxn, 'move-in-date': '2023-01-01' },
        'expressed-by': 'data-subject',
        email: null,
        'initiate-passkey-registration': true,
        'passkey-return-url': 'http://localhost:5001/return',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const redirect = res.body['passkey-registration-redirect'];
      const path = new URL(redirect['redirect-url']);
      const c = new Customer(r);
      const headers = { host: new URL(pageOrigin).host };
      const page = await c.request('GET', path.pathname + path.search, { headers });
      const csrf = Customer.dataCsrf(page.body)!;
      const session = path.searchParams.get('session')!;
      const opt = await c.request('POST', '/id/passkey/options', { json: { session }, headers: { ...headers, 'x-dar-csrf': csrf }, origin: pageOrigin });
      expect(opt.status, opt.body).toBe(200);
      const auth = new SoftAuthenticator(pageOrigin, 'localhost');
      const response = auth.register(opt.json.options, signedOrigin === pageOrigin ? {} : { origin: signedOrigin });
      const done = await c.request('POST', '/id/passkey/verify', { json: { session, step: 'register', response }, headers: { ...headers, 'x-dar-csrf': csrf }, origin: pageOrigin });
      return { done, ref: redirect['token-ref'] as string };
    };
    // --origin names port 5001; the page is opened on localhost:5099, where the console talks to the register.
    const r = await setup({ origin: 'http://localhost:5001' });
    const { done, ref } = await run(r, 'http://localhost:5099', '1800000001');
    expect(done.status, done.body).toBe(200);
    expect(done.json.done).toBe(true);
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');
    // A response signed for another origin than the page's is still refused.
    const forged = await run(r, 'http://localhost:5099', '1800000002', 'http://evil.example');
    expect(forged.done.status).toBe(400);
  });

  it('documents search, delete and the source in the served OpenAPI', async () => {
    const r = await setup();
    const doc = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(JSON.stringify(doc.paths['/v1/admin/outbox'].get.parameters)).toContain('"q"');
    expect(doc.paths['/v1/admin/outbox'].delete).toBeDefined();
    expect(doc.paths['/v1/admin/outbox/{id}'].delete).toBeDefined();
    expect(JSON.stringify(doc.paths['/v1/admin/outbox/{id}/source'].get.responses['200'])).toContain('headers');
    expect(doc.paths['/v1/admin/outbox/{id}/raw'].get).toBeDefined();
  });
});
