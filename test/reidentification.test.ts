import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer, linkFromOutbox } from './support/customer.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { humanTime } from '../src/server/lib/customer-text.js';

const DEMO_MPXN = '2312345678901';
const MIN = 60_000;

/** Creates an identity record for `as` on `mpxn` and returns its ir. */
async function newIdentity(r: TestRegister, as: string, mpxn: string, email: string | null = 'someone@example.org'): Promise<string> {
  const res = await r.call(as, 'POST', '/v1/identity-records', {
    'pii-principal': { mpxn, 'move-in-date': '2023-01-01' },
    'expressed-by': 'data-subject',
    email,
  });
  expect(res.status).toBe(201);
  return res.body.ir;
}

describe('re-identification: same Data User (POST /identity-records/{ir}/re-identify)', () => {
  let r: TestRegister;
  let ir: string;
  beforeAll(async () => {
    r = await testRegister();
    ir = r.demo!.ir;
  });
  afterAll(() => r.close());

  it('magic-link: 200, masked dispatched-to, 15-minute expiry, e-mail naming the organisation in the outbox', async () => {
    const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    expect(res.status).toBe(200);
    const before = new Date(res.body.response.timestamp).getTime();
    expect(res.body.response.resource).toBe(`/v1/identity-records/${ir}/re-identify`);
    expect(res.body.method).toBe('magic-link');
    expect(res.body.passkey).toBeNull();
    const ml = res.body['magic-link'];
    expect(ml['dispatched-to']).toBe('c******r@example.com');
    expect(ml['token-ref']).toMatch(/^mlr_[0-9a-f]{24}$/);
    expect(ml['redirect-url']).toBeNull();
    const ttl = new Date(ml['expires-at']).getTime() - before;
    expect(ttl).toBeGreaterThan(14 * MIN);
    expect(ttl).toBeLessThanOrEqual(15 * MIN + 1000);
    expect(ttl).toBeGreaterThanOrEqual(15 * MIN - 1000);

    const outbox = await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ml['token-ref']}`);
    expect(outbox.status).toBe(200);
    const [msg] = outbox.body.messages;
    expect(msg.to).toBe('customer@example.com');
    expect(msg.status).toBe('captured');
    expect(msg.subject).toContain('Bright Energy Ltd');
    expect(msg.text).toContain('Bright Energy Ltd');
    expect(msg.text).toMatch(/expires at \d\d:\d\d UTC/);
    expect(msg.html).toContain('Bright Energy Ltd');
    expect(msg.links).toHaveLength(1);
    expect(msg.links[0]).toMatch(/^http:\/\/localhost:5001\/id\/magic\/[A-Za-z0-9_-]{43}$/);
    // The link carries a random secret, never the token-ref the Data User knows.
    expect(msg.ref).toBe(ml['token-ref']);
    expect(msg.text + msg.html + msg.links.join(' ') + msg.subject).not.toContain(ml['token-ref'].slice(4));
  });

  it('unknown method → 400 VAL001', async () => {
    const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'sms' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]['error-code']).toBe('VAL001');
    expect(res.body.errors[0].message).toContain('method');
  });

  it('passkey-assert without a passkey, or magic-link without an e-mail → 422 VAL003', async () => {
    const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-assert' });
    expect(res.status).toBe(422);
    expect(res.body.errors[0]['error-code']).toBe('VAL003');
    const noEmail = await newIdentity(r, 'bright_energy', '1900000001', null);
    const res2 = await r.call('bright_energy', 'POST', `/v1/identity-records/${noEmail}/re-identify`, { method: 'magic-link' });
    expect(res2.status).toBe(422);
    expect(res2.body.errors[0]['error-code']).toBe('VAL003');
  });

  it("another Data User's record or an unknown ir → 404 NOT001; the portal role → 403", async () => {
    const res = await r.call('octopusflux', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    expect(res.status).toBe(404);
    expect(res.body.errors[0]['error-code']).toBe('NOT001');
    const unknown = await r.call('bright_energy', 'POST', '/v1/identity-records/ir_000000000000000000000000/re-identify', { method: 'magic-link' });
    expect(unknown.status).toBe(404);
    const portal = await r.call('portal_ops', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    expect(portal.status).toBe(403);
    expect(portal.body.errors[0]['error-code']).toBe('AUTH003');
  });

  it('anonymised record → 409 CON001', async () => {
    const anon = await newIdentity(r, 'bright_energy', '1900000002');
    expect((await r.call('bright_energy', 'DELETE', `/v1/identity-records/${anon}`)).status).toBe(200);
    const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${anon}/re-identify`, { method: 'magic-link' });
    expect(res.status).toBe(409);
    expect(res.body.errors[0]['error-code']).toBe('CON001');
  });

  it('redirect-url / passkey-return-url must exactly match a pre-registered return URL, else 400 VAL001', async () => {
    for (const body of [
      { method: 'magic-link', 'redirect-url': 'https://evil.example/return' },
      { method: 'magic-link', 'redirect-url': 'http://localhost:5001/return/' },
      { method: 'passkey-register', 'passkey-return-url': 'http://localhost:5001/return?x=1' },
    ]) {
      const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0]['error-code']).toBe('VAL001');
      expect(res.body.errors[0].message).toMatch(/pre-registered return URL/);
    }
    const ok = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link', 'redirect-url': 'http://127.0.0.1:5001/return' });
    expect(ok.status).toBe(200);
    expect(ok.body['magic-link']['redirect-url']).toBe('http://127.0.0.1:5001/return');
  });

  it('passkey-register at creation (onboarding): a 5-minute ceremony page on the register origin, return-url echoed', async () => {
    const created = await r.call('bright_energy', 'POST', '/v1/identity-records', {
      'pii-principal': { mpxn: '1900000003', 'move-in-date': '2023-01-01' },
      'expressed-by': 'data-subject',
      'initiate-passkey-registration': true,
      'passkey-return-url': 'http://localhost:5001/return',
    });
    expect(created.status).toBe(201);
    const before = new Date(created.body.response.timestamp).getTime();
    const p = created.body['passkey-registration-redirect'];
    expect(p['redirect-url']).toMatch(/^http:\/\/localhost:5001\/id\/passkey\/register\?session=pks_[0-9a-f]{24}$/);
    expect(p['token-ref']).toMatch(/^mlr_[0-9a-f]{24}$/);
    expect(p['return-url']).toBe('http://localhost:5001/return');
    const ttl = new Date(p['expires-at']).getTime() - before;
    expect(ttl).toBeGreaterThan(4 * MIN);
    expect(ttl).toBeLessThanOrEqual(5 * MIN + 1000);
    expect(ttl).toBeGreaterThanOrEqual(5 * MIN - 1000);
  });

  it('[ours] passkey-register on an own record with an e-mail: a step-up first (link to the record’s address, 15 minutes)', async () => {
    const other = await newIdentity(r, 'bright_energy', '1900000013', 'pat@example.org');
    const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${other}/re-identify`, { method: 'passkey-register', 'passkey-return-url': 'http://localhost:5001/return' });
    expect(res.status).toBe(200);
    const before = new Date(res.body.response.timestamp).getTime();
    expect(res.body['magic-link']).toBeNull();
    const p = res.body.passkey;
    expect(p['redirect-url']).toMatch(/^http:\/\/localhost:5001\/id\/passkey\/register\?session=pks_[0-9a-f]{24}$/);
    expect(p['return-url']).toBe('http://localhost:5001/return');
    const ttl = new Date(p['expires-at']).getTime() - before;
    expect(ttl).toBeGreaterThan(14 * MIN);
    expect(ttl).toBeLessThanOrEqual(15 * MIN + 1000);
    const mail = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${p['token-ref']}`)).body.messages;
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({ to: 'pat@example.org', purpose: 'reidentification.step-up' });
    const page = await new Customer(r).get(p['redirect-url']);
    expect(page.body).toContain('Check your e-mail');
  });

  it('status: pending; another account → 403 AUTH003; unknown or other ir → 404', async () => {
    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    const ref = start.body['magic-link']['token-ref'];
    const res = await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ method: 'magic-link', status: 'pending', 'confirmed-at': null });
    const other = await r.call('octopusflux', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`);
    expect(other.status).toBe(403);
    expect(other.body.errors[0]['error-code']).toBe('AUTH003');
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/mlr_000000000000000000000000`)).status).toBe(404);
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/ir_000000000000000000000000/re-identify/${ref}`)).status).toBe(404);
    // The same token on the cross-Data-User status path.
    expect((await r.call('bright_energy', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('pending');
  });
});

describe('magic link landing page', () => {
  let r: TestRegister;
  let ir: string;
  const start = async (body: Record<string, unknown> = { method: 'magic-link' }) => {
    const res = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, body);
    expect(res.status).toBe(200);
    const ref = res.body['magic-link']['token-ref'] as string;
    return { ref, link: await linkFromOutbox(r, ref) };
  };
  const status = async (ref: string) => (await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`)).body.status;
  beforeAll(async () => {
    r = await testRegister();
    ir = r.demo!.ir;
  });
  afterAll(() => r.close());

  it('GET and HEAD (a mail scanner) change nothing; the page names the organisation and sends a strict CSP', async () => {
    const { ref, link } = await start();
    const scanner = new Customer(r);
    const head = await scanner.request('HEAD', link);
    expect(head.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const page = await scanner.get(link);
      expect(page.status).toBe(200);
      expect(page.body).toContain('Bright Energy Ltd');
      expect(page.body).toContain('Yes, it&#39;s me');
      expect(page.body).not.toContain(ref);
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.body).not.toMatch(/<script>|style="/);
    }
    expect(await status(ref)).toBe('pending');
  });

  it('POST without the CSRF field, with a forged field, or from another origin → 403 and nothing changes', async () => {
    const { ref, link } = await start();
    const c = new Customer(r);
    const page = await c.get(link);
    const csrf = Customer.csrfField(page.body)!;
    expect(csrf).toMatch(/^[0-9a-f]{64}$/);
    expect((await c.request('POST', link, { form: {} })).status).toBe(403);
    expect((await c.request('POST', link, { form: { csrf: 'f'.repeat(64) } })).status).toBe(403);
    expect((await c.request('POST', link, { form: { csrf }, origin: 'https://evil.example' })).status).toBe(403);
    // The right field but no cookie (another browser): refused.
    const stranger = new Customer(r);
    expect((await stranger.request('POST', link, { form: { csrf } })).status).toBe(403);
    expect(await status(ref)).toBe('pending');
  });

  it('"Yes, it\'s me" confirms once: confirmation page, then the link is used and changes nothing', async () => {
    const { ref, link } = await start();
    const c = new Customer(r);
    const csrf = Customer.csrfField((await c.get(link)).body)!;
    const res = await c.request('POST', link, { form: { csrf } });
    expect(res.status).toBe(200);
    expect(res.body).toContain('confirmed it’s you');
    expect(res.body).toContain('Bright Energy Ltd');
    const s = await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`);
    expect(s.body.status).toBe('confirmed');
    expect(s.body['confirmed-at']).toMatch(/Z$/);
    // Reopened (the same e-mail again, another tab): it says it was confirmed, and when.
    const confirmedAt = (await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`)).body['confirmed-at'] as string;
    const reopened = await c.get(link);
    expect(reopened.status).toBe(200);
    expect(reopened.body).toContain('You’ve already confirmed it’s you');
    expect(reopened.body).toContain(`You confirmed with this link at ${humanTime(confirmedAt)}`);
    expect(reopened.body).not.toMatch(/went wrong|isn't valid|already been used/);
    expect(reopened.body).not.toContain('name="csrf"');
    // Pressing the button again in a stale tab says the same and changes nothing.
    const stale = await c.request('POST', link, { form: { csrf } });
    expect(stale.status).toBe(200);
    expect(stale.body).toContain('You’ve already confirmed it’s you');
    // A stranger holding the link learns no more than the link showed before: organisation and the time.
    const stranger = await new Customer(r).get(link);
    expect(stranger.body).not.toContain('@');
    expect(stranger.body).not.toContain(ref);
  });

  it('with redirect-url: 303 to redirect-url?dar-reid-token=<token-ref>', async () => {
    const { ref, link } = await start({ method: 'magic-link', 'redirect-url': 'http://localhost:5001/return' });
    const c = new Customer(r);
    const page = await c.get(link);
    expect(page.headers['content-security-policy']).toContain("form-action 'self'");
    const res = await c.request('POST', link, { form: { csrf: Customer.csrfField(page.body)! } });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`http://localhost:5001/return?dar-reid-token=${ref}`);
    const landing = await c.get(res.headers.location);
    expect(landing.status).toBe(200);
    expect(landing.body).toContain(ref);
    expect(landing.body).toContain('dar-reid-token');
  });

  it('unknown and expired links show a clear page and change nothing', async () => {
    const unknown = await new Customer(r).get('/id/magic/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('isn&#39;t valid');
    expect((await new Customer(r).get('/id/magic/not-a-secret')).status).toBe(404);

    const { ref, link } = await start();
    const c = new Customer(r);
    const page = await c.get(link);
    const csrf = Customer.csrfField(page.body)!;
    r.reg.clock.setOffset(r.reg.clock.offset + 16 * MIN);
    try {
      const expired = await c.get(link);
      expect(expired.status).toBe(410);
      expect(expired.body).toContain('expired');
      const post = await c.request('POST', link, { form: { csrf } });
      expect(post.status).toBe(410);
      expect(await status(ref)).toBe('expired');
    } finally {
      r.reg.clock.setOffset(r.reg.clock.offset - 16 * MIN);
    }
    // Still not confirmed once the clock is back: the failed POST changed nothing.
    expect(await status(ref)).toBe('pending');
  });
});

describe('cross-Data-User re-identification and access records', () => {
  let r: TestRegister;
  let ir: string;
  /** Every body returned to the second Data User, to prove the ir never appears. */
  const seenByOctopus: string[] = [];
  const octopus = async (method: string, url: string, body?: unknown) => {
    const res = await r.call('octopusflux', method, url, body);
    seenByOctopus.push(JSON.stringify(res.body), JSON.stringify(res.headers));
    return res;
  };
  const confirmedToken = async (as: string, mpxn = DEMO_MPXN) => {
    const call = as === 'octopusflux' ? octopus : (m: string, u: string, b?: unknown) => r.call(as, m, u, b);
    const res = await call('POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' });
    expect(res.status).toBe(200);
    const ref = res.body['magic-link']['token-ref'] as string;
    expect((await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref))).status).toBe(200);
    return ref;
  };
  beforeAll(async () => {
    r = await testRegister();
    ir = r.demo!.ir;
  });
  afterAll(async () => {
    await r.close();
  });

  it('exists → available methods, never an ir', async () => {
    const res = await octopus('GET', `/v1/identity-records/exists?mpxn=${DEMO_MPXN}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mpxn: DEMO_MPXN, exists: true, 'available-methods': ['magic-link', 'passkey-register'] });
  });

  it('starts a magic link for another Data User’s customer: the e-mail names the initiating organisation', async () => {
    const res = await octopus('POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link', 'redirect-url': 'http://localhost:5001/return' });
    expect(res.status).toBe(200);
    expect(res.body.response.resource).toBe('/v1/identity-records/reidentify');
    expect(res.body['magic-link']['dispatched-to']).toBe('c******r@example.com');
    const ref = res.body['magic-link']['token-ref'];
    const mail = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages[0];
    expect(mail.subject).toBe("OctopusFlux Ltd is asking to confirm it's you");
    // [ours] The only mention of the record's owner: whose contact details were used.
    expect(mail.text.replace('the e-mail address Bright Energy Ltd holds for you', '')).not.toContain('Bright Energy');
    expect(mail.text).toContain('We sent it to the e-mail address Bright Energy Ltd holds for you.');
    const page = await new Customer(r).get(mail.links[0]);
    expect(page.body).toContain('OctopusFlux Ltd');
    expect(page.body).toContain('<li id="held-by"><strong>Sent to:</strong> the e-mail address Bright Energy Ltd holds for you</li>');
    expect(page.body.replace('the e-mail address Bright Energy Ltd holds for you', '')).not.toContain('Bright Energy');
  });

  it('404 when no identity record exists for the MPxN; 422 for a method the record cannot do; 400 for an unknown method', async () => {
    const none = await octopus('POST', '/v1/identity-records/reidentify', { mpxn: '1999999999', method: 'magic-link' });
    expect(none.status).toBe(404);
    expect(none.body.errors[0]['error-code']).toBe('NOT001');
    const assert = await octopus('POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'passkey-assert' });
    expect(assert.status).toBe(422);
    expect(assert.body.errors[0]['error-code']).toBe('VAL003');
    const bad = await octopus('POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'telepathy' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]['error-code']).toBe('VAL001');
    const badUrl = await octopus('POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link', 'redirect-url': 'https://octopusflux.example/done' });
    expect(badUrl.status).toBe(400);
  });

  it('status: pending → confirmed; another account → 403 AUTH003; unknown → 404', async () => {
    const res = await octopus('POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
    const ref = res.body['magic-link']['token-ref'];
    expect((await octopus('GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('pending');
    const other = await r.call('northern_networks', 'GET', `/v1/identity-records/reidentify/${ref}`);
    expect(other.status).toBe(403);
    expect(other.body.errors[0]['error-code']).toBe('AUTH003');
    expect((await octopus('GET', '/v1/identity-records/reidentify/mlr_000000000000000000000000')).status).toBe(404);
    await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref));
    const s = await octopus('GET', `/v1/identity-records/reidentify/${ref}`);
    expect(s.body).toMatchObject({ method: 'magic-link', status: 'confirmed' });
  });

  it('POST /access-records with the token: pending → 422 VAL002; confirmed → 201 linked to the existing record; reused → 409', async () => {
    const res = await octopus('POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
    const ref = res.body['magic-link']['token-ref'];
    const pending = await octopus('POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
    expect(pending.status).toBe(422);
    expect(pending.body.errors[0]['error-code']).toBe('VAL002');
    await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref));
    const created = await octopus('POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
    expect(created.status).toBe(201);
    const ak = created.body['access-token'].key;
    const again = await octopus('POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
    expect(again.status).toBe(409);
    expect(again.body.errors[0]['error-code']).toBe('CON001');
    // Linked to the customer's existing identity record (seen from the operator's side only).
    const admin = await r.call('admin_ops', 'GET', `/v1/admin/records/${ak}`);
    expect(admin.body.record.ir).toBe(ir);
    expect(admin.body.record.mpxn).toBe(DEMO_MPXN);
    const verify = await octopus('GET', `/v1/access-records/${ak}`);
    expect(verify.status).toBe(200);
    expect(verify.body['access-record']['record-metadata']['identity-record-ref']).toBeNull();
  });

  it("another Data User's token → 403 AUTH003; unknown token → 404; older than one hour → 422 VAL002", async () => {
    const ref = await confirmedToken('octopusflux');
    const stolen = await r.call('northern_networks', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
    expect(stolen.status).toBe(403);
    expect(stolen.body.errors[0]['error-code']).toBe('AUTH003');
    const unknown = await octopus('POST', '/v1/access-records', consentBody(null, { 'reidentification-token': 'mlr_000000000000000000000000' }));
    expect(unknown.status).toBe(404);
    r.reg.clock.setOffset(r.reg.clock.offset + 61 * MIN);
    try {
      const old = await octopus('POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }));
      expect(old.status).toBe(422);
      expect(old.body.errors[0]['error-code']).toBe('VAL002');
      expect((await octopus('GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('expired');
    } finally {
      r.reg.clock.setOffset(r.reg.clock.offset - 61 * MIN);
    }
  });

  it('single use under concurrency: 20 simultaneous POST /access-records with one token → exactly one 201, the rest 409', async () => {
    const ref = await confirmedToken('octopusflux');
    const results = await Promise.all(Array.from({ length: 20 }, () => octopus('POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }))));
    const codes = results.map((x) => x.status).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(19);
  });

  it('the ir never appears in any response to the second Data User', () => {
    expect(seenByOctopus.length).toBeGreaterThan(20);
    for (const body of seenByOctopus) {
      expect(body).not.toContain(ir);
      expect(body).not.toContain(ir.slice(3));
    }
  });
});

describe('portal (contract §7)', () => {
  let r: TestRegister;
  const OTHER_MPXN = '1900000010';
  let otherAk: string;
  const portalToken = async (mpxn = DEMO_MPXN) => {
    const res = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn, method: 'magic-link' });
    expect(res.status).toBe(200);
    const ref = res.body['magic-link']['token-ref'] as string;
    const mail = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages[0];
    expect(mail.subject).toContain('Central Access Register Portal');
    expect(mail.text).toContain('every organisation');
    expect((await new Customer(r).confirmMagicLink(mail.links[0])).status).toBe(200);
    return ref;
  };
  const akOf = async (org: string) => {
    const res = await r.call('admin_ops', 'GET', `/v1/admin/records?q=${DEMO_MPXN}`);
    return res.body.records.find((x: any) => x['lead-controller-name'] === org).ak as string;
  };
  beforeAll(async () => {
    r = await testRegister();
    const otherIr = await newIdentity(r, 'bright_energy', OTHER_MPXN);
    const created = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(otherIr));
    otherAk = created.body['access-token'].key;
  });
  afterAll(() => r.close());

  it('without a token, or with a pending one → 403', async () => {
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records`)).status).toBe(403);
    const res = await r.call('portal_ops', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
    const ref = res.body['magic-link']['token-ref'];
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('pending');
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records?reidentification-token=${ref}`)).status).toBe(403);
  });

  it('a token for MPxN A never opens MPxN B; it opens A once (consumed)', async () => {
    const ref = await portalToken();
    const wrong = await r.call('portal_ops', 'GET', `/v1/meter-points/${OTHER_MPXN}/access-records?reidentification-token=${ref}`);
    expect(wrong.status).toBe(403);
    expect(wrong.body.errors[0]['error-code']).toBe('AUTH003');
    const ok = await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records?reidentification-token=${ref}`);
    expect(ok.status).toBe(200);
    expect(ok.body['access-records'].length).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(ok.body)).not.toContain('ir_');
    const twice = await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records?reidentification-token=${ref}`);
    expect(twice.status).toBe(403);
  });

  it('withdrawal window: the consumed token withdraws ACTIVE consent records on its MPxN only, for 30 minutes', async () => {
    const ref = await portalToken();
    const octopusAk = await akOf('OctopusFlux Ltd');
    const northernAk = await akOf('Northern Networks plc');
    const brightAk = await akOf('Bright Energy Ltd');
    // Not before the meter-point query.
    expect((await r.call('portal_ops', 'DELETE', `/v1/access-records/${octopusAk}?reason=customer-request&reidentification-token=${ref}`)).status).toBe(403);
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records?reidentification-token=${ref}`)).status).toBe(200);

    const wrongReason = await r.call('portal_ops', 'DELETE', `/v1/access-records/${octopusAk}?reason=other&reidentification-token=${ref}`);
    expect(wrongReason.status).toBe(403);
    expect((await r.call('portal_ops', 'DELETE', `/v1/access-records/${octopusAk}?reason=customer-request`)).status).toBe(403);
    const publicTask = await r.call('portal_ops', 'DELETE', `/v1/access-records/${northernAk}?reason=customer-request&reidentification-token=${ref}`);
    expect(publicTask.status).toBe(403);
    const otherMeter = await r.call('portal_ops', 'DELETE', `/v1/access-records/${otherAk}?reason=customer-request&reidentification-token=${ref}`);
    expect(otherMeter.status).toBe(403);

    const withdrawn = await r.call('portal_ops', 'DELETE', `/v1/access-records/${octopusAk}?reason=customer-request&reidentification-token=${ref}`);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.ak).toBe(octopusAk);
    expect((await r.call(null, 'GET', `/v1/access-records/${octopusAk}`)).body['access-record']['access-event'].state).toBe('REVOKED');

    r.reg.clock.setOffset(r.reg.clock.offset + 31 * MIN);
    try {
      const late = await r.call('portal_ops', 'DELETE', `/v1/access-records/${brightAk}?reason=customer-request&reidentification-token=${ref}`);
      expect(late.status).toBe(422);
      expect(late.body.errors[0]['error-code']).toBe('VAL002');
    } finally {
      r.reg.clock.setOffset(r.reg.clock.offset - 31 * MIN);
    }
    expect((await r.call(null, 'GET', `/v1/access-records/${brightAk}`)).body['access-record']['access-event'].state).toBe('ACTIVE');
  });

  it("a portal cannot use another account's token, nor create access records", async () => {
    const res = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
    const ref = res.body['magic-link']['token-ref'];
    await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref));
    expect((await r.call('portal_ops', 'GET', `/v1/identity-records/reidentify/${ref}`)).status).toBe(403);
    expect((await r.call('portal_ops', 'GET', `/v1/meter-points/${DEMO_MPXN}/access-records?reidentification-token=${ref}`)).status).toBe(403);
    expect((await r.call('portal_ops', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }))).status).toBe(403);
  });
});

describe('rate limit on re-identification starts', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('5 per (account, MPxN) per 15 minutes, then 429 RATE001 with Retry-After; other accounts unaffected; frees up later', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await r.call('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
      expect(res.status).toBe(200);
    }
    const limited = await r.call('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'passkey-register' });
    expect(limited.status).toBe(429);
    expect(limited.body.errors[0]['error-code']).toBe('RATE001');
    expect(limited.body.response['transaction-id']).toMatch(/^tid_/);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Only five e-mails went to the customer.
    const mails = await r.call('admin_ops', 'GET', '/v1/admin/outbox?purpose=reidentification.magic-link');
    expect(mails.body.total).toBe(5);
    expect((await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' })).status).toBe(200);
    r.reg.clock.setOffset(r.reg.clock.offset + retryAfter * 1000 + 1000);
    try {
      expect((await r.call('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' })).status).toBe(200);
    } finally {
      r.reg.clock.setOffset(0);
    }
  });
});

describe('admin: re-identification desk (GET/POST /v1/admin/reidentifications)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('POST on behalf of a data_user: the contract response plus customer-url (sandbox); the account can poll and use it', async () => {
    const res = await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { mpxn: DEMO_MPXN, method: 'magic-link', 'on-behalf-of': 'octopusflux', 'redirect-url': 'http://localhost:5001/return' });
    expect(res.status).toBe(200);
    expect(res.body.method).toBe('magic-link');
    expect(res.body.passkey).toBeNull();
    const ref = res.body['magic-link']['token-ref'];
    expect(res.body['customer-url']).toMatch(/^http:\/\/localhost:5001\/id\/magic\/[A-Za-z0-9_-]{43}$/);
    const page = await new Customer(r).get(res.body['customer-url']);
    expect(page.body).toContain('OctopusFlux Ltd');
    expect((await r.call('octopusflux', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('pending');
    const confirmed = await new Customer(r).confirmMagicLink(res.body['customer-url']);
    expect(confirmed.headers.location).toBe(`http://localhost:5001/return?dar-reid-token=${ref}`);
    expect((await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(null, { 'reidentification-token': ref }))).status).toBe(201);

    const passkey = await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { mpxn: DEMO_MPXN, method: 'passkey-register', 'on-behalf-of': 'portal_ops' });
    expect(passkey.status).toBe(200);
    expect(passkey.body['customer-url']).toBe(passkey.body.passkey['redirect-url']);
  });

  it('on-behalf-of must be an active data_user or portal account; the URL must be one of its return URLs; admins only', async () => {
    expect((await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { mpxn: DEMO_MPXN, method: 'magic-link', 'on-behalf-of': 'admin_ops' })).status).toBe(400);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { mpxn: DEMO_MPXN, method: 'magic-link', 'on-behalf-of': 'nobody' })).status).toBe(400);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { mpxn: DEMO_MPXN, method: 'magic-link', 'on-behalf-of': 'octopusflux', 'redirect-url': 'https://elsewhere.example/' })).status).toBe(400);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/reidentifications', { mpxn: '1999999999', method: 'magic-link', 'on-behalf-of': 'octopusflux' })).status).toBe(404);
    expect((await r.call('octopusflux', 'POST', '/v1/admin/reidentifications', { mpxn: DEMO_MPXN, method: 'magic-link', 'on-behalf-of': 'octopusflux' })).status).toBe(403);
  });

  it('lists tokens newest first with initiator display-name and masked dispatched-to; filters by status and MPxN; pages', async () => {
    const list = await r.call('admin_ops', 'GET', '/v1/admin/reidentifications');
    expect(list.status).toBe(200);
    expect(list.body.total).toBeGreaterThanOrEqual(2);
    const [newest, older] = list.body.tokens;
    expect(newest).toMatchObject({
      method: 'passkey-register',
      flow: 'mpxn',
      mpxn: DEMO_MPXN,
      'initiator-account-id': 'portal_ops',
      'initiator-display-name': 'Central Access Register Portal',
      status: 'pending',
      'dispatched-to': 'c******r@example.com',
    });
    expect(older).toMatchObject({ method: 'magic-link', 'initiator-display-name': 'OctopusFlux Ltd', status: 'consumed', 'consumed-for': 'access-record', 'dispatched-to': 'c******r@example.com' });
    expect(JSON.stringify(list.body)).not.toContain('customer@example.com');

    const consumed = await r.call('admin_ops', 'GET', '/v1/admin/reidentifications?status=consumed');
    expect(consumed.body.tokens.map((t: any) => t['token-ref'])).toEqual([older['token-ref']]);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/reidentifications?status=pending')).body.total).toBe(1);
    expect((await r.call('admin_ops', 'GET', `/v1/admin/reidentifications?mpxn=${DEMO_MPXN}`)).body.total).toBe(list.body.total);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/reidentifications?mpxn=1999999999')).body.total).toBe(0);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/reidentifications?status=bogus')).status).toBe(400);

    const page1 = await r.call('admin_ops', 'GET', '/v1/admin/reidentifications?limit=1');
    expect(page1.body.tokens).toHaveLength(1);
    const page2 = await r.call('admin_ops', 'GET', `/v1/admin/reidentifications?limit=1&cursor=${page1.body['next-cursor']}`);
    expect(page2.body.tokens[0]['token-ref']).toBe(older['token-ref']);

    r.reg.clock.setOffset(20 * MIN);
    try {
      expect((await r.call('admin_ops', 'GET', '/v1/admin/reidentifications?status=expired')).body.tokens.map((t: any) => t['token-ref'])).toContain(newest['token-ref']);
    } finally {
      r.reg.clock.setOffset(0);
    }

    const one = await r.call('admin_ops', 'GET', `/v1/admin/reidentifications/${older['token-ref']}`);
    expect(one.status).toBe(200);
    expect(one.body.token).toEqual(older);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/reidentifications/mlr_000000000000000000000000')).status).toBe(404);
    expect((await r.call('bright_energy', 'GET', '/v1/admin/reidentifications')).status).toBe(403);
  });

  it('every start, confirmation and use is in the audit log', async () => {
    const types = (await r.call('admin_ops', 'GET', '/v1/admin/audit?limit=500')).body.events.map((e: any) => e['event-type']);
    expect(types).toEqual(expect.arrayContaining(['reidentification.started', 'reidentification.confirmed', 'reidentification.consumed']));
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
  });
});

describe('the organisation name is escaped everywhere the customer sees it', () => {
  it('page and e-mail show a hostile display-name as text', async () => {
    const r = await testRegister();
    try {
      const name = '<script>alert(1)</script> & "Co"\r\nBcc: x@evil.example';
      expect((await r.call('admin_ops', 'PATCH', '/v1/admin/accounts/greenswitch', { 'display-name': name })).status).toBe(200);
      const res = await r.call('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO_MPXN, method: 'magic-link' });
      expect(res.status).toBe(200);
      const msg = (await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${res.body['magic-link']['token-ref']}`)).body.messages[0];
      expect(msg.subject).not.toMatch(/[\r\n]/);
      expect(msg.html).not.toContain('<script>');
      expect(msg.html).toContain('&#60;script&#62;');
      const page = await new Customer(r).get(msg.links[0]);
      expect(page.body).not.toContain('<script>alert');
      expect(page.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;Co&#34;');
    } finally {
      await r.close();
    }
  });
});

describe('sandbox /return page', () => {
  it('shows the query string it received; only in sandbox mode', async () => {
    const r = await testRegister({}, { seed: false });
    try {
      const res = await r.app.inject({ method: 'GET', url: '/return?dar-reid-token=mlr_0123456789abcdef01234567&x=%3Cb%3E' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('mlr_0123456789abcdef01234567');
      expect(res.body).toContain('dar-reid-token');
      expect(res.body).toContain('&#60;b&#62;');
      expect(res.body).not.toContain('<b>');
      expect(res.body).toContain('/v1/identity-records/reidentify/mlr_0123456789abcdef01234567');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    } finally {
      await r.close();
    }
    const prod = await testRegister({ mode: 'production', origin: 'https://id.register.example' }, { seed: false });
    try {
      expect((await prod.app.inject({ method: 'GET', url: '/return?dar-reid-token=x' })).statusCode).toBe(404);
    } finally {
      await prod.close();
    }
  });
});
