import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { installErrorHandler } from '../src/server/http/error-handler.js';
import { redactingLogger, redactUrl, scrubText } from '../src/server/http/log-redaction.js';
import { Clock } from '../src/server/lib/clock.js';
import { Customer, linkFromOutbox } from './support/customer.js';
import { consentBody, DEMO_SECRETS, testRegister, type TestRegister } from './support/register.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

const ORIGIN = 'http://localhost:5001';
const DEMO_MPXN = '2312345678901';

/** Collects everything the register's real logger (pino, JSON lines) writes. */
class LogCapture extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.chunks.push(chunk.toString('utf8'));
    done();
  }
  get text() {
    return this.chunks.join('');
  }
}

const decodeEntities = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

describe('the request log holds no secret, token-ref, session id or e-mail address', () => {
  let r: TestRegister;
  const log = new LogCapture();
  /** Every secret value the run handles; none may appear in the log. */
  const secrets = new Set<string>();
  const remember = (...values: (string | null | undefined)[]) => values.forEach((v) => v && secrets.add(v));

  beforeAll(async () => {
    r = await testRegister({}, { logger: { level: 'trace', stream: log } });
  });
  afterAll(() => r.close());

  it('a full magic-link, passkey and portal run', async () => {
    // Sign-in: HTTP Basic → bearer token.
    for (const id of ['bright_energy', 'octopusflux', 'portal_ops', 'admin_ops']) {
      remember(DEMO_SECRETS[id], Buffer.from(`${id}:${DEMO_SECRETS[id]}`).toString('base64'), await r.token(id));
    }

    // The owning Data User onboards a customer with an e-mail and a passkey.
    const email = 'log.test.customer@example.net';
    remember(email);
    const created = await r.call('bright_energy', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn: '1700000001', 'move-in-date': '2023-01-01' },
      'expressed-by': 'data-subject',
      email,
      'initiate-passkey-registration': true,
      'passkey-return-url': `${ORIGIN}/return`,
    });
    expect(created.status).toBe(201);
    const ir = created.body.ir as string;
    const redirect = created.body['passkey-registration-redirect'];
    remember(redirect['token-ref'], new URL(redirect['redirect-url']).searchParams.get('session'));
    const auth = new SoftAuthenticator(ORIGIN);
    const enrol = new Customer(r);
    const page = await enrol.openPasskeyPage(redirect['redirect-url']);
    expect((await enrol.passkeyStep(page.session, page.csrf, auth)).status).toBe(200);
    for (const [k, v] of enrol.cookies) remember(`${k}=${v}`, v);
    // The Data User polls the token and uses it.
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${redirect['token-ref']}`)).body.status).toBe('confirmed');
    // Search by e-mail puts the address in the query string.
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records?email=${encodeURIComponent(email)}`)).status).toBe(200);
    expect((await r.call('admin_ops', 'GET', `/v1/admin/identity-records?q=${encodeURIComponent(email)}`)).status).toBeLessThan(500);

    // Same Data User: passkey assertion.
    const assert = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-assert' });
    expect(assert.status).toBe(200);
    remember(assert.body.passkey['token-ref'], new URL(assert.body.passkey['redirect-url']).searchParams.get('session'));
    const asserter = new Customer(r);
    const ap = await asserter.openPasskeyPage(assert.body.passkey['redirect-url']);
    const asserted = await asserter.passkeyStep(ap.session, ap.csrf, auth);
    expect(asserted.status).toBe(200);
    await asserter.get(asserted.json.redirect);

    // Same Data User: magic link, confirmed by the customer, then used for a record.
    const ml = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    const ref = ml.body['magic-link']['token-ref'];
    const link = await linkFromOutbox(r, ref);
    remember(ref, new URL(link).pathname.split('/').pop(), link);
    const phone = new Customer(r);
    expect((await phone.confirmMagicLink(link)).status).toBe(200);
    expect((await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }))).status).toBe(201);

    // Cross-Data-User re-identification and the portal API's token in a query string.
    const cross = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
    const portalRef = cross.body['magic-link']['token-ref'];
    const portalLink = await linkFromOutbox(r, portalRef);
    remember(portalRef, new URL(portalLink).pathname.split('/').pop(), 'customer@example.com');
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${portalRef}`)).status).toBe(200);
    expect((await new Customer(r).confirmMagicLink(portalLink)).status).toBe(200);
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records?reidentification-token=${portalRef}`)).status).toBe(200);

    // The customer portal (/portal): start, confirm by e-mail, view, download, sign out.
    const browser = new Customer(r);
    const entry = await browser.get(`/portal?mpxn=${DEMO_MPXN}`);
    const csrf = Customer.csrfField(entry.body)!;
    const started = await browser.request('POST', '/portal/start', { form: { csrf, mpxn: DEMO_MPXN, method: 'magic-link' } });
    expect(started.status).toBe(200);
    const mail = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?limit=1')).body.messages[0];
    const portalMagic = (mail.links as string[]).find((l) => l.includes('/id/magic/'))!;
    remember(portalMagic, new URL(portalMagic).pathname.split('/').pop(), mail.ref);
    expect([200, 303]).toContain((await new Customer(r).confirmMagicLink(portalMagic)).status);
    await browser.get('/portal/status');
    await browser.get('/portal/continue');
    const view = await browser.get('/portal');
    expect(view.body).toContain('Who has access to your meter data');
    expect((await browser.get('/portal/history.csv')).status).toBe(200);
    for (const [k, v] of browser.cookies) remember(`${k}=${v}`, decodeURIComponent(v));
    await browser.request('POST', '/portal/signout', { form: { csrf: Customer.csrfField(view.body) ?? decodeEntities('') } });

    // Requests that fail: an unknown path carrying a secret, a body that is not JSON, a bad query.
    const stray = 'Zm9vYmFyU2VjcmV0VmFsdWUxMjM0NTY3ODkwYWJjZGVm';
    remember(stray);
    await r.app.inject({ method: 'GET', url: `/id/magic/${stray}/extra?email=${encodeURIComponent(email)}` });
    await r.app.inject({ method: 'GET', url: `/nowhere/${ref}?session=${ap.session}` });
    await r.app.inject({ method: 'POST', url: '/v1/identity-records', headers: { authorization: `Bearer ${await r.token('bright_energy')}`, 'content-type': 'application/json' }, payload: `{"email": "${email}", oops` });
    await r.app.inject({ method: 'GET', url: `/v1/identity-records?email=not-an-email-${stray}`, headers: { authorization: `Bearer ${await r.token('bright_energy')}` } });

    const text = log.text;
    if (process.env.SHOW_LOG) console.log(text);
    // The log is really there and really covers these requests.
    expect(text).toContain('"url":"/id/magic/:secret"');
    expect(text).toContain('/v1/identity-records/:ir/re-identify/:tokenRef');
    expect(text).toMatch(/"url":"\/v1\/identity-records\?email=\[redacted\]"/);
    // One record per request (written on response), over thirty requests.
    expect(text.split('\n').length).toBeGreaterThan(30);

    const found = [...secrets].filter((s) => s.length >= 6 && text.includes(s));
    expect(found).toEqual([]);
    // And by shape: no e-mail address, token-ref, passkey session, bearer JWT or magic-link secret.
    expect(text).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}/);
    expect(text).not.toMatch(/mlr_[0-9a-f]/);
    expect(text).not.toMatch(/pks_[0-9a-f]/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
    expect(text).not.toMatch(/\/id\/magic\/(?!:secret|\[redacted\]|:\[redacted\])[A-Za-z0-9_-]/);
    expect(text).not.toMatch(/authorization|cookie/i);
  });
});

describe('redaction helpers', () => {
  it('keeps the route shape and harmless query values only', () => {
    expect(redactUrl('/v1/records?state=ACTIVE&limit=50&cursor=12', '/v1/records')).toBe('/v1/records?state=ACTIVE&limit=50&cursor=12');
    expect(redactUrl('/id/passkey/register?session=pks_0123456789abcdef01234567', '/id/passkey/register')).toBe('/id/passkey/register?session=[redacted]');
    expect(redactUrl('/v1/identity-records?email=a%40b.example&mpxn=1234567890', '/v1/identity-records')).toBe('/v1/identity-records?email=[redacted]&mpxn=[redacted]');
    expect(redactUrl('/id/magic/abcDEF123_-xyz/more')).toBe('/id/magic/:[redacted]/more');
    expect(redactUrl('/v1/x/mlr_0123456789abcdef01234567?q=someone%40example.org')).toBe('/v1/x/:[redacted]?q=[redacted]');
    // A harmless parameter keeps its value only when it looks like one: a token or an address
    // pasted into limit, cursor or reason is redacted.
    expect(redactUrl('/v1/records?state=x%40y&limit=eyJhbGciOiJIUzI1NiJ9.xx&cursor=mlr_0123456789abcdef01234567', '/v1/records')).toBe('/v1/records?state=[redacted]&limit=[redacted]&cursor=[redacted]');
    expect(redactUrl('/v1/access-records/ak_0123456789abcdef01234567?reason=customer-request', '/v1/access-records/:ak')).toBe('/v1/access-records/:ak?reason=customer-request');
    expect(redactUrl('/v1/admin/audit?event-type=meter-point.viewed', '/v1/admin/audit')).toBe('/v1/admin/audit?event-type=meter-point.viewed');
  });

  it('scrubs e-mail addresses, bearer tokens, token-refs, sessions, signing secrets and magic links from text', () => {
    const text = scrubText('to someone@example.org; Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig mlr_0123456789abcdef01234567 pks_0123456789abcdef01234567 whsec_abc+/= http://x/id/magic/Secret_123 mpxn 2312345678901');
    expect(text).not.toMatch(/someone|eyJ|mlr_0|pks_0|whsec_a|Secret_123|2312345678901/);
    expect(text).toContain('/id/magic/[redacted]');
  });
});

describe('error logs', () => {
  it('an unexpected error is logged by type, code and scrubbed message: never its body, headers or extra fields', async () => {
    const log = new LogCapture();
    const app = Fastify({ logger: redactingLogger({ level: 'info', stream: log }) });
    installErrorHandler(app, new Clock());
    app.post('/boom', async (req) => {
      const err = Object.assign(new Error('could not mail someone@example.org for mlr_0123456789abcdef01234567'), {
        code: 'EBOOM',
        body: req.body,
        headers: req.headers,
        config: { auth: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' },
      });
      throw err;
    });
    const res = await app.inject({
      method: 'POST',
      url: '/boom?email=someone%40example.org',
      headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', cookie: 'dar_portal_session=s3cr3t-cookie-value' },
      payload: { 'secret-key': 'top-secret-value-123', email: 'someone@example.org' },
    });
    await app.close();
    expect(res.statusCode).toBe(500);
    const text = log.text;
    expect(text).toContain('"code":"EBOOM"');
    expect(text).toContain('could not mail [redacted] for [redacted]');
    for (const secret of ['someone@example.org', 'someone%40example.org', 'mlr_0123', 'eyJhbGci', 's3cr3t-cookie-value', 'top-secret-value-123', 'authorization', 'cookie']) expect(text, secret).not.toContain(secret);
  });
});
