/**
 * Fidelity to the published API (v0.0.16, excerpted in the shared seeds): a request written
 * exactly as the published document shows is accepted, and the response validates against
 * the published shape. Each block names the published rule it checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Customer, linkFromOutbox } from './support/customer.js';
import { publishedIdentityBody } from './support/published.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { eventually, startReceiver, verifyDarSignature, type Receiver } from './support/webhook-receiver.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const DateTimeZ = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$' });
const Envelope = Type.Object({ resource: Type.String(), timestamp: DateTimeZ, 'transaction-id': Type.String({ pattern: '^tid_[0-9a-f]{24}$' }) }, { additionalProperties: false });

/** Published shapes (written from the published document, not from the register's schemas). */
const PublishedAddress = Type.Object(
  {
    addressLine1: Type.String(),
    addressLine2: Type.Optional(Type.String()),
    townCity: Type.String(),
    county: Type.Optional(Type.String()),
    postcode: Type.String(),
  },
  { additionalProperties: false },
);
const PublishedIdentityRecord = Type.Object(
  {
    response: Envelope,
    'identity-record': Type.Object(
      {
        ir: Type.String({ pattern: '^ir_[0-9a-f]{24}$' }),
        'created-at': DateTimeZ,
        'has-email': Type.Boolean(),
        credentials: Type.Array(Type.Object({ 'credential-id': Type.String(), 'registered-at': DateTimeZ, transports: Type.Array(Type.String()) })),
        // `address` is optional and, when present, an object: never null.
        'pii-principal': Type.Object({ mpxn: Type.String(), 'move-in-date': Type.String(), address: Type.Optional(PublishedAddress) }, { additionalProperties: false }),
        'expressed-by': Type.Union([Type.Literal('data-subject'), Type.Literal('authorised-representative')]),
        'principal-verification': Nullable(
          Type.Object({
            method: Type.String(),
            'verified-at': DateTimeZ,
            outcome: Type.String(),
            reference: Type.Optional(Type.String({ maxLength: 255 })),
            submitted: Type.Optional(Type.String({ maxLength: 255 })),
            'verified-against': Type.Optional(Type.String({ maxLength: 255 })),
            detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          }),
        ),
        'anonymised-at': Nullable(DateTimeZ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
/** The access-event of a verified record: `revoked-at` is optional and never null. */
const PublishedAccessEvent = Type.Object({
  state: Type.String(),
  'registered-at': Type.String(),
  expiry: Nullable(Type.String()),
  'controller-reference': Type.Optional(Type.String({ maxLength: 255 })),
  consent: Nullable(Type.Object({ 'consent-type': Type.String(), method: Type.Optional(Nullable(Type.String())) })),
  'revoked-at': Type.Optional(DateTimeZ),
});
const PublishedVerification = Type.Object({
  response: Envelope,
  'access-record': Type.Object({
    'record-metadata': Type.Object({
      'schema-version': Type.String(),
      'record-identifier': Type.String({ pattern: '^ak_[0-9a-f]{24}$' }),
      'created-at': DateTimeZ,
      'controller-arrangement': Type.Object({ 'arrangement-type': Type.String(), controllers: Type.Array(Type.Object({ name: Type.String({ maxLength: 255 }) })) }),
      'identity-record-ref': Nullable(Type.String({ pattern: '^ir_[0-9a-f]{24}$' })),
    }),
    notice: Nullable(Type.Object({})),
    processing: Type.Object({ 'legal-basis': Type.String(), purpose: Type.String(), 'data-types': Type.Array(Type.String()), jurisdiction: Type.Literal('GB') }),
    'access-event': PublishedAccessEvent,
  }),
});
const PublishedDiscoveredSummary = Type.Object({
  ak: Type.String(),
  'lead-controller-name': Type.Null(),
  'controller-count': Type.Null(),
  state: Type.Literal('DISCOVERED'),
  'discovered-access': Type.Object({ 'organisation-reference': Type.String() }),
});

const check = (schema: TSchema, value: unknown) => [...Compile(schema).Errors(value)].map((e) => `${(e as { instancePath?: string }).instancePath ?? ''} ${e.message}`);

let r: TestRegister;
beforeAll(async () => {
  r = await testRegister();
});
afterAll(() => r.close());

let mpxnSeq = 4_100_000_000;
const nextMpxn = () => String(mpxnSeq++);

async function ownIdentity(as: string, patch: Record<string, unknown> = {}): Promise<{ ir: string; mpxn: string }> {
  const mpxn = nextMpxn();
  const res = await r.call(as, 'POST', '/v1/identity-records', publishedIdentityBody(mpxn, patch));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ir: res.body.ir, mpxn };
}

async function newRecord(as: string, ir: string | null, patch: Record<string, unknown> = {}): Promise<string> {
  const res = await r.call(as, 'POST', '/v1/access-records', consentBody(ir, patch));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body['access-token'].key;
}

describe('revocation: reason is optional (published DELETE /access-records/{ak} has no parameters)', () => {
  it('revokes without ?reason=; consent.withdrawal carries "reason": null', async () => {
    const { ir } = await ownIdentity('bright_energy');
    const sub = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'http://127.0.0.1:9/reason-null', 'alert-email': 'a@bright.example' });
    expect(sub.status).toBe(201);
    const ak = await newRecord('bright_energy', ir);
    const res = await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ ak, 'revoked-at': expect.stringMatching(/Z$/) });
    const d = await r.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${sub.body.webhook.wid}`);
    const event = d.body.deliveries.find((x: { payload: { ak: string } }) => x.payload.ak === ak);
    expect(event['event-type']).toBe('consent.withdrawal');
    expect(event.payload).toHaveProperty('reason', null);
    // Revoking a revoked record: 409.
    expect((await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}`)).status).toBe(409);
    await r.call('bright_energy', 'DELETE', `/v1/webhooks/${sub.body.webhook.wid}`);
  });

  it('still validates reason when present, and a portal still must say customer-request', async () => {
    const { ir } = await ownIdentity('bright_energy');
    const ak = await newRecord('bright_energy', ir);
    const bad = await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=because`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].message).toContain('reason');
    const portal = await r.call('portal_ops', 'DELETE', `/v1/access-records/${ak}?reidentification-token=mlr_000000000000000000000000`);
    expect(portal.status).toBe(403);
    const ok = await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=contract-ended`);
    expect(ok.status).toBe(200);
  });
});

describe('organisation-reference: 3–64 letters, digits, _ and - (published example org_abc123def456)', () => {
  const discovered = (mpxn: string, ref: string) => ({
    mpxn,
    'organisation-name': 'Acme Energy Services Ltd',
    'organisation-reference': ref,
    'first-seen': '2026-01-10',
    'last-seen': '2026-03-01',
    'data-types-observed': ['HH-CONSUMPTION'],
    'source-reference': 'DCC-RPT-2026-03-001',
  });

  it('accepts the published example in POST /v1/discovered-access and keeps it as sent', async () => {
    const mpxn = nextMpxn();
    const res = await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered(mpxn, 'org_abc123def456'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const v = await r.call(null, 'GET', `/v1/access-records/${res.body.ak}`);
    expect(v.body['access-record']['discovered-access']['organisation-reference']).toBe('org_abc123def456');
    // The same organisation in another case is the same organisation: 200, same ak.
    const again = await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered(mpxn, 'ORG_ABC123DEF456'));
    expect(again.status).toBe(200);
    expect(again.body.ak).toBe(res.body.ak);
    for (const bad of ['ab', 'x'.repeat(65), 'SEC OU 1', 'org.abc', 'örg_1']) {
      const b = await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered(mpxn, bad));
      expect(b.status, bad).toBe(400);
      expect(b.body.errors[0]['error-code']).toBe('VAL001');
    }
    expect((await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered(nextMpxn(), 'x'.repeat(64)))).status).toBe(201);
  });

  it('accepts it on account create and update; a Data User supersedes DISCOVERED access for its reference ignoring case', async () => {
    const created = await r.call('admin_ops', 'POST', '/v1/admin/accounts', {
      'account-id': 'acme_energy',
      'display-name': 'Acme Energy Services Ltd',
      role: 'data_user',
      'organisation-reference': 'org_acme0001',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.account['organisation-reference']).toBe('org_acme0001');
    const patched = await r.call('admin_ops', 'PATCH', '/v1/admin/accounts/acme_energy', { 'organisation-reference': 'Org_Acme-0002' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.account['organisation-reference']).toBe('Org_Acme-0002');
    expect((await r.call('admin_ops', 'PATCH', '/v1/admin/accounts/acme_energy', { 'organisation-reference': 'no spaces' })).status).toBe(400);

    const secret = created.body['secret-key'];
    const token = (await r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: `Basic ${Buffer.from(`acme_energy:${secret}`).toString('base64')}` } })).json()['bearer-token'];
    const acme = async (method: string, url: string, body?: unknown) => {
      const res = await r.app.inject({ method: method as 'POST', url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body as object } : {}) });
      return { status: res.statusCode, body: res.json() };
    };
    const mpxn = nextMpxn();
    const seen = await r.call('dcc_system', 'POST', '/v1/discovered-access', discovered(mpxn, 'ORG_ACME-0002'));
    expect(seen.status).toBe(201);
    const ir = await acme('POST', '/v1/identity-records', publishedIdentityBody(mpxn));
    expect(ir.status).toBe(201);
    const rec = await acme('POST', '/v1/access-records', consentBody(ir.body.ir));
    expect(rec.status).toBe(201);
    // The superseding Data User sees the link in its listing (the public verification of the
    // DISCOVERED key never names another organisation's record).
    const listed = await acme('GET', `/v1/meter-points/${mpxn}/access-records`);
    const row = listed.body['access-records'].find((x: { ak: string }) => x.ak === seen.body.ak);
    expect(row['discovered-access']['superseded-by']).toBe(rec.body['access-token'].key);
    // The admin search finds it by reference in any case.
    const found = await r.call('admin_ops', 'GET', '/v1/admin/accounts?q=org_acme-0002');
    expect(found.body.accounts.map((a: { 'account-id': string }) => a['account-id'])).toContain('acme_energy');
    const records = await r.call('admin_ops', 'GET', '/v1/admin/records?q=org_acme-0002');
    expect(records.body.records.map((x: { ak: string }) => x.ak)).toContain(seen.body.ak);
  });
});

describe('length limits: none stricter than published', () => {
  const s = (n: number, c = 'x') => c.repeat(n);
  it('accepts 255 characters for names and references, 500 for art26-reference and statutory-reference', async () => {
    const { ir } = await ownIdentity('bright_energy');
    const joint = consentBody(ir);
    joint['record-metadata']['controller-arrangement'] = {
      'arrangement-type': 'joint',
      'art26-reference': s(500, 'a'),
      controllers: [
        { name: s(255, 'L'), role: 'lead', 'contact-url': 'https://l.example/c', 'lia-reference': s(255), 'statutory-reference': s(500) },
        { name: s(255, 'J'), role: 'joint', 'contact-url': 'https://j.example/c' },
      ],
    };
    joint.notice = {
      notices: [
        { 'controller-name': s(255, 'L'), 'terms-url': 'https://l.example/t', 'notice-version': '1' },
        { 'controller-name': s(255, 'J'), 'terms-url': 'https://j.example/t', 'notice-version': '1' },
      ],
    };
    joint['access-event']['controller-reference'] = s(255);
    const ok = await r.call('bright_energy', 'POST', '/v1/access-records', joint);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const v = await r.call(null, 'GET', `/v1/access-records/${ok.body['access-token'].key}`);
    expect(v.body['access-record']['access-event']['controller-reference']).toHaveLength(255);
    expect(v.body['access-record']['record-metadata']['controller-arrangement']['art26-reference']).toHaveLength(500);

    // One more than published is refused, naming the field.
    const over = structuredClone(joint);
    over['record-metadata']['controller-arrangement'].controllers[0].name = s(256);
    over['record-metadata']['controller-arrangement']['art26-reference'] = s(501);
    over['access-event']['controller-reference'] = s(256);
    const refused = await r.call('bright_energy', 'POST', '/v1/access-records', over);
    expect(refused.status).toBe(400);
    const messages = refused.body.errors.map((e: { message: string }) => e.message).join('\n');
    expect(messages).toContain('controllers[0].name');
    expect(messages).toContain('art26-reference');
    expect(messages).toContain('access-event.controller-reference');
  });

  it('accepts 255 characters in principal-verification reference, submitted and verified-against', async () => {
    const pv = { method: 'credit-card', 'verified-at': '2023-11-07T05:30:45Z', outcome: 'verified', reference: 'r'.repeat(255), submitted: 's'.repeat(255), 'verified-against': 'v'.repeat(255) };
    const { ir } = await ownIdentity('bright_energy', { 'principal-verification': pv });
    const got = await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`);
    expect(got.body['identity-record']['principal-verification']).toMatchObject(pv);
    expect(check(PublishedIdentityRecord, got.body)).toEqual([]);
    const over = await r.call('bright_energy', 'POST', '/v1/identity-records', publishedIdentityBody(nextMpxn(), { 'principal-verification': { ...pv, submitted: 's'.repeat(256) } }));
    expect(over.status).toBe(400);
  });
});

describe('identity-record-ref on verification', () => {
  it("shows the ir of a record its owner linked with its own ir, as published; null when linked through another Data User's identity record", async () => {
    const { ir } = await ownIdentity('bright_energy');
    const own = await newRecord('bright_energy', ir);
    const v = await r.call(null, 'GET', `/v1/access-records/${own}`);
    expect(check(PublishedVerification, v.body)).toEqual([]);
    expect(v.body['access-record']['record-metadata']['identity-record-ref']).toBe(ir);

    // The demo customer's identity record belongs to bright_energy: octopusflux reaches it
    // through a re-identification token and must not learn its ir.
    const start = await r.call('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: r.demo!.mpxn, method: 'magic-link' });
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    const ref = start.body['magic-link']['token-ref'];
    expect((await new Customer(r).confirmMagicLink(await linkFromOutbox(r, ref))).status).toBe(200);
    const viaToken = await newRecord('octopusflux', null, { 'reidentification-token': ref });
    const tv = await r.call(null, 'GET', `/v1/access-records/${viaToken}`);
    expect(check(PublishedVerification, tv.body)).toEqual([]);
    expect(tv.body['access-record']['record-metadata']['identity-record-ref']).toBeNull();
    expect(JSON.stringify(tv.body)).not.toContain(r.demo!.ir);
  });
});

describe('absent versus null', () => {
  it('omits pii-principal.address when there is none', async () => {
    const mpxn = nextMpxn();
    const body = publishedIdentityBody(mpxn);
    delete (body['pii-principal'] as { address?: unknown }).address;
    const res = await r.call('bright_energy', 'POST', '/v1/identity-records', body);
    expect(res.status).toBe(201);
    const got = await r.call('bright_energy', 'GET', `/v1/identity-records/${res.body.ir}`);
    expect(got.body['identity-record']['pii-principal']).not.toHaveProperty('address');
    expect(check(PublishedIdentityRecord, got.body)).toEqual([]);
    const listed = await r.call('bright_energy', 'GET', `/v1/identity-records?mpxn=${mpxn}`);
    expect(listed.body['identity-records'][0]['pii-principal']).not.toHaveProperty('address');
    // Optional address lines sent as null are omitted as well.
    const nulls = publishedIdentityBody(nextMpxn());
    Object.assign((nulls['pii-principal'] as { address: Record<string, unknown> }).address, { addressLine2: null, county: null });
    const withNulls = await r.call('bright_energy', 'POST', '/v1/identity-records', nulls);
    expect(withNulls.status).toBe(201);
    const gotNulls = await r.call('bright_energy', 'GET', `/v1/identity-records/${withNulls.body.ir}`);
    expect(gotNulls.body['identity-record']['pii-principal'].address).toEqual({ addressLine1: '221B Baker Street', townCity: 'London', postcode: 'NW1 6XE' });
    expect(check(PublishedIdentityRecord, gotNulls.body)).toEqual([]);
    // With an address (the published example), it is there.
    const { ir } = await ownIdentity('bright_energy');
    const withAddress = await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}`);
    expect(withAddress.body['identity-record']['pii-principal'].address).toEqual({ addressLine1: '221B Baker Street', townCity: 'London', postcode: 'NW1 6XE' });
    expect(check(PublishedIdentityRecord, withAddress.body)).toEqual([]);
  });

  it('omits access-event.revoked-at before revocation and shows it after', async () => {
    const { ir } = await ownIdentity('bright_energy');
    const ak = await newRecord('bright_energy', ir);
    const before = await r.call(null, 'GET', `/v1/access-records/${ak}`);
    expect(before.body['access-record']['access-event']).not.toHaveProperty('revoked-at');
    expect(check(PublishedVerification, before.body)).toEqual([]);
    const revoked = await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}`);
    const after = await r.call(null, 'GET', `/v1/access-records/${ak}`);
    expect(after.body['access-record']['access-event']['revoked-at']).toBe(revoked.body['revoked-at']);
    expect(check(PublishedVerification, after.body)).toEqual([]);
  });

  it("a DISCOVERED summary's controller-count is null", async () => {
    const list = await r.call('bright_energy', 'GET', `/v1/meter-points/${r.demo!.mpxn}/access-records`);
    expect(list.status).toBe(200);
    const discovered = list.body['access-records'].filter((x: { state: string }) => x.state === 'DISCOVERED');
    expect(discovered.length).toBeGreaterThan(0);
    for (const d of discovered) expect(check(PublishedDiscoveredSummary, d)).toEqual([]);
    for (const full of list.body['access-records'].filter((x: { state: string }) => x.state !== 'DISCOVERED')) expect(full['controller-count']).toBeGreaterThanOrEqual(1);
  });
});

describe('bodyless requests with Content-Type: application/json and no body', () => {
  const json = { 'content-type': 'application/json' };
  it('are accepted on DELETE, POST and GET routes that take no body', async () => {
    const { ir } = await ownIdentity('bright_energy');
    const ak = await newRecord('bright_energy', ir);
    const revoked = await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}`, undefined, json);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);

    const sub = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'http://127.0.0.1:9/bodyless', 'alert-email': 'a@bright.example' });
    const del = await r.call('bright_energy', 'DELETE', `/v1/webhooks/${sub.body.webhook.wid}`, undefined, json);
    expect(del.status).toBe(204);

    await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'bodyless_co', 'display-name': 'Bodyless Co', role: 'data_user' });
    const suspend = await r.call('admin_ops', 'POST', '/v1/admin/accounts/bodyless_co/suspend', undefined, json);
    expect(suspend.status, JSON.stringify(suspend.body)).toBe(200);

    const self = await r.call('bright_energy', 'GET', '/v1/self', undefined, json);
    expect(self.status).toBe(200);
  });

  it('a route that needs a body still answers 400 VAL001; malformed JSON is still 400', async () => {
    const empty = await r.call('bright_energy', 'POST', '/v1/access-records', undefined, json);
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0]['error-code']).toBe('VAL001');
    const broken = await r.app.inject({ method: 'POST', url: '/v1/webhooks', headers: { ...json, authorization: `Bearer ${await r.token('bright_energy')}` }, payload: '{"callback-url":' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().errors[0].message).toMatch(/not valid JSON/);
  });
});

describe('no echoed secrets: POST /v1/admin/accounts', () => {
  it('returns secret-key only when the register generated it', async () => {
    const supplied = await r.call('admin_ops', 'POST', '/v1/admin/accounts', {
      'account-id': 'own_secret_co',
      'secret-key': 'my-own-long-secret-value',
      'display-name': 'Own Secret Co',
      role: 'data_user',
    });
    expect(supplied.status).toBe(201);
    expect(supplied.body).not.toHaveProperty('secret-key');
    expect(JSON.stringify(supplied.body)).not.toContain('my-own-long-secret-value');
    expect(await r.token('own_secret_co', 'my-own-long-secret-value')).toMatch(/^ey/);

    const generated = await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'generated_co', 'display-name': 'Generated Co', role: 'data_user' });
    expect(generated.status).toBe(201);
    expect(generated.body['secret-key'].length).toBeGreaterThanOrEqual(32);
    expect(await r.token('generated_co', generated.body['secret-key'])).toMatch(/^ey/);
  });
});

describe('webhook signatures: the verification example in docs/webhooks.md verifies real deliveries', () => {
  const SNIPPET = join(process.cwd(), 'test', 'support', 'readme', 'verify-webhook.mjs');

  it('the file run here is the example docs/webhooks.md shows, word for word (but the port line)', () => {
    const doc = readFileSync(join(process.cwd(), 'docs', 'webhooks.md'), 'utf8');
    const at = doc.indexOf('## Verifying a delivery');
    expect(at).toBeGreaterThan(-1);
    const start = doc.indexOf('```js\n', at) + '```js\n'.length;
    const shown = doc.slice(start, doc.indexOf('```', start)).trimEnd().split('\n');
    const run = readFileSync(SNIPPET, 'utf8')
      .trimEnd()
      .split('\n')
      .filter((l, i) => !(i < 3 && l.startsWith('//')));
    const portLine = (l: string) => l.startsWith('server.listen(');
    expect(run.filter((l) => !portLine(l))).toEqual(shown.filter((l) => !portLine(l)));
    expect(shown.filter(portLine)).toEqual(["server.listen(8080, '127.0.0.1');"]);
  });
  let children: ChildProcess[] = [];
  let receivers: Receiver[] = [];
  afterEach(async () => {
    for (const c of children) c.kill();
    for (const rc of receivers) await rc.close();
    children = [];
    receivers = [];
  });

  /** Runs the docs/webhooks.md snippet as its own Node process with `secret`; resolves with its URL and output. */
  const runSnippet = (secret: string) =>
    new Promise<{ url: string; output: () => string }>((resolve, reject) => {
      const child = spawn(process.execPath, [SNIPPET], { env: { ...process.env, DAR_SIGNING_SECRET: secret, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      const timer = setTimeout(() => reject(new Error(`snippet did not start:\n${out}`)), 10_000);
      const onData = (c: Buffer) => {
        out += c.toString();
        const m = /listening on (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ url: `http://127.0.0.1:${m[1]}/dar`, output: () => out });
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });

  it('verifies a delivery with the secret as returned, including during a rotation overlap', async () => {
    const w = await testRegister({ webhookRetryScheduleMs: [], webhookTimeoutMs: 3000, webhookPollMs: 20 });
    try {
      w.svc.delivery.start();
      const deliveredTo = async (wid: string, ak: string) =>
        eventually(async () => {
          const d = (await w.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${wid}`)).body.deliveries.find((x: { payload: { ak: string } }) => x.payload.ak === ak);
          return d && d.status !== 'pending' ? d : null;
        });
      const revokeOne = async () => {
        const ak = (await w.call('bright_energy', 'POST', '/v1/access-records', consentBody(w.demo!.ir))).body['access-token'].key as string;
        expect((await w.call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=customer-request`)).status).toBe(200);
        return ak;
      };

      // Subscribe first, then start the receiver with the secret exactly as returned.
      const sub = await w.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'http://127.0.0.1:9/placeholder', 'alert-email': 'a@bright.example' });
      const { wid } = sub.body.webhook;
      const oldSecret: string = sub.body['signing-secret'];
      const oldReceiver = await runSnippet(oldSecret);
      await w.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'callback-url': oldReceiver.url });
      let ak = await revokeOne();
      let d = await deliveredTo(wid, ak);
      expect(d.status, JSON.stringify(d)).toBe('delivered');
      expect(oldReceiver.output()).toContain(`consent.withdrawal {"ak":"${ak}"`);

      // A receiver with the wrong secret rejects (401), so the check is real.
      const wrong = await runSnippet(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
      await w.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'callback-url': wrong.url });
      ak = await revokeOne();
      d = await deliveredTo(wid, ak);
      expect(d.status).toBe('undelivered');
      expect(d['last-status-code']).toBe(401);

      // Rotation: during the overlap both the not-yet-switched receiver and the switched one verify.
      const rotated = await w.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'rotate-secret': true, 'callback-url': oldReceiver.url });
      const newSecret: string = rotated.body['signing-secret'];
      ak = await revokeOne();
      expect((await deliveredTo(wid, ak)).status).toBe('delivered');
      const newReceiver = await runSnippet(newSecret);
      await w.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'callback-url': newReceiver.url });
      ak = await revokeOne();
      expect((await deliveredTo(wid, ak)).status).toBe('delivered');
      expect(newReceiver.output()).toContain(ak);
    } finally {
      await w.close();
    }
  });

  it('a receiver doing the published exact-equality check verifies a real delivery', async () => {
    const w = await testRegister({ webhookRetryScheduleMs: [], webhookTimeoutMs: 3000, webhookPollMs: 20 });
    try {
      w.svc.delivery.start();
      const rc = await startReceiver();
      receivers.push(rc);
      const sub = await w.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'a@bright.example' });
      const ak = (await w.call('bright_energy', 'POST', '/v1/access-records', consentBody(w.demo!.ir))).body['access-token'].key as string;
      await w.call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=customer-request`);
      const [got] = await rc.waitFor(1);
      expect(verifyDarSignature(sub.body['signing-secret'], got.headers, got.raw)).toBe(true);
    } finally {
      await w.close();
    }
  });
});

describe('readiness: GET /health (live) and GET /ready (ready)', () => {
  it('answers 503 + Retry-After to everything but /health until ready, in the error envelope', async () => {
    const w = await testRegister();
    try {
      const bearer = `Bearer ${await w.token('bright_energy')}`;
      w.readiness.notReady('loading the demo data');
      for (const [url, auth] of [
        ['/v1/self', bearer],
        ['/ready', null],
        ['/v1/ready', null],
        ['/v1/access-records/ak_000000000000000000000000', null],
      ] as const) {
        const res = await w.app.inject({ method: 'GET', url, headers: auth ? { authorization: auth } : {} });
        expect(res.statusCode, url).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.json()).toMatchObject({ response: { resource: url }, errors: [{ 'error-code': 'SRV001', message: expect.stringContaining('loading the demo data') }] });
      }
      const live = await w.app.inject({ method: 'GET', url: '/health' });
      expect(live.statusCode).toBe(200);
      expect(live.json()).toMatchObject({ status: 'live' });
      w.readiness.markReady();
      const ready = await w.app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ response: { resource: '/ready' }, status: 'ready' });
    } finally {
      await w.close();
    }
  });
});

describe('the served OpenAPI document lists every status each route answers', () => {
  type Op = { security?: Record<string, unknown>[]; responses: Record<string, { description?: string }>; parameters?: { in: string }[]; requestBody?: unknown };
  let paths: Record<string, Record<string, Op>>;
  beforeAll(async () => {
    paths = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json().paths;
  });
  const ops = () => Object.entries(paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));
  const statuses = (key: string) => {
    const [method, path] = key.split(' ');
    const op = paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`${key} is not in the document`);
    return Object.keys(op.responses);
  };

  it('every bearer route documents 401 and 403; Basic 401; inputs 400; path parameters 404; every route 503 but liveness', () => {
    const problems: string[] = [];
    for (const { key, op } of ops()) {
      const codes = Object.keys(op.responses);
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      const need: string[] = [];
      if (schemes.includes('bearer')) need.push('401', '403');
      if (schemes.includes('basic')) need.push('401');
      if (op.parameters?.length || op.requestBody) need.push('400');
      if (op.requestBody) need.push('413', '415');
      if (op.parameters?.some((p) => p.in === 'path') && !key.includes('/meter-points/')) need.push('404');
      if (!/\/health$/.test(key)) need.push('503');
      for (const c of need) if (!codes.includes(c)) problems.push(`${key} lacks ${c}`);
      for (const [c, res] of Object.entries(op.responses)) if (!res.description) problems.push(`${key} ${c} has no description`);
    }
    expect(problems).toEqual([]);
    expect(ops().length).toBeGreaterThan(50);
  });

  it('documents the specific statuses: 409 revoking a revoked record or reusing a token, 422, 429 RATE001, the probes', () => {
    expect(statuses('DELETE /v1/access-records/{ak}')).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409', '422', '503']));
    expect(statuses('POST /v1/access-records')).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409', '422']));
    expect(paths['/v1/access-records']['post'].responses['409'].description).toMatch(/already been used/);
    expect(statuses('PUT /v1/access-records/{ak}')).toContain('409');
    expect(statuses('GET /v1/auth/token')).toEqual(expect.arrayContaining(['200', '401', '429']));
    expect(paths['/v1/auth/token']['get'].responses['429'].description).toMatch(/RATE001/);
    for (const key of ['POST /v1/identity-records/reidentify', 'POST /v1/identity-records/{ir}/re-identify']) expect(statuses(key)).toEqual(expect.arrayContaining(['409', '422', '429']));
    expect(statuses('DELETE /v1/identity-records/{ir}')).toContain('409');
    expect(statuses('POST /v1/webhooks')).toContain('409');
    expect(statuses('PATCH /v1/webhooks/{wid}')).toContain('409');
    expect(statuses('POST /v1/admin/accounts')).toContain('409');
    expect(statuses('GET /v1/access-records/{ak}')).toEqual(expect.arrayContaining(['200', '400', '404', '503']));
    for (const p of ['/health', '/v1/health']) expect(statuses(`GET ${p}`)).toEqual(['200', '5XX']);
    for (const p of ['/ready', '/v1/ready']) expect(statuses(`GET ${p}`)).toEqual(expect.arrayContaining(['200', '503']));
  });

  it('every status real requests get here is documented for its route', async () => {
    const seen: [string, number][] = [];
    const call = async (as: string | null, method: string, url: string, template: string, body?: unknown) => {
      const res = await r.call(as, method, url, body);
      seen.push([`${method} ${template}`, res.status]);
      return res;
    };
    const { ir } = await ownIdentity('bright_energy');
    const ak = (await call('bright_energy', 'POST', '/v1/access-records', '/v1/access-records', consentBody(ir))).body['access-token'].key;
    await call('bright_energy', 'POST', '/v1/access-records', '/v1/access-records', { nope: 1 });
    await call(null, 'POST', '/v1/access-records', '/v1/access-records', consentBody(ir));
    await call('dcc_system', 'POST', '/v1/access-records', '/v1/access-records', consentBody(ir));
    await call('bright_energy', 'POST', '/v1/access-records', '/v1/access-records', consentBody(null, { 'reidentification-token': 'mlr_000000000000000000000000' }));
    await call('octopusflux', 'PUT', `/v1/access-records/${ak}`, '/v1/access-records/{ak}', consentBody(ir));
    await call('bright_energy', 'DELETE', `/v1/access-records/${ak}`, '/v1/access-records/{ak}');
    await call('bright_energy', 'DELETE', `/v1/access-records/${ak}`, '/v1/access-records/{ak}');
    await call('bright_energy', 'PUT', `/v1/access-records/${ak}`, '/v1/access-records/{ak}', consentBody(ir));
    await call(null, 'GET', `/v1/access-records/${ak}`, '/v1/access-records/{ak}');
    await call(null, 'GET', '/v1/access-records/ak_000000000000000000000000', '/v1/access-records/{ak}');
    await call(null, 'GET', '/v1/access-records/nope', '/v1/access-records/{ak}');
    await call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, '/v1/identity-records/{ir}/re-identify', { method: 'passkey-assert' });
    await call('bright_energy', 'GET', '/v1/meter-points/9999999999/access-records', '/v1/meter-points/{mpxn}/access-records');
    await call('admin_ops', 'POST', '/v1/admin/accounts', '/v1/admin/accounts', { 'account-id': 'bright_energy', 'display-name': 'Dup', role: 'data_user' });
    const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`octopusflux:${secret}`).toString('base64')}` });
    for (let i = 0; i < 12; i++) {
      const res = await r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: basic(`wrong-${i}`) });
      seen.push(['GET /v1/auth/token', res.statusCode]);
    }
    const codes = new Set(seen.map(([, s]) => s));
    for (const c of [200, 201, 400, 401, 403, 404, 409, 422, 429]) expect(codes, `a ${c} was produced`).toContain(c);
    const undocumented = seen.filter(([key, status]) => !statuses(key).includes(String(status)));
    expect(undocumented).toEqual([]);
  });
});
