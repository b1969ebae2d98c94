import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegisterConfig } from '../src/server/config.js';
import { consentBody, testRegister } from './support/register.js';
import { startReceiver, verifyDarSignature, verifyStandardWebhook, type Behaviour } from './support/webhook-receiver.js';

const FAST: Partial<RegisterConfig> = { webhookRetryScheduleMs: [40, 40], webhookTimeoutMs: 2000, webhookPollMs: 20 };

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

async function setup(overrides: Partial<RegisterConfig> = {}) {
  const r = await testRegister({ ...FAST, ...overrides });
  open.push(r);
  const receiver = async (b?: Behaviour) => {
    const rc = await startReceiver(b);
    open.push(rc);
    return rc;
  };
  const subscribe = async (url: string, extra: Record<string, unknown> = {}, as = 'bright_energy') => {
    const res = await r.call(as, 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': 'alerts@bright-energy.example', ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { wid: res.body.webhook.wid as string, secret: res.body['signing-secret'] as string };
  };
  const withdrawal = async () => {
    const created = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(r.demo!.ir));
    expect(created.status).toBe(201);
    const ak = created.body['access-token'].key as string;
    expect((await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=customer-request`)).status).toBe(200);
    return ak;
  };
  return { r, receiver, subscribe, withdrawal };
}

describe('test events of a chosen type', () => {
  it('a test tenancy.change is verified by a receiver doing the published check, marked X-DAR-Test, never queued or retried', async () => {
    const { r, receiver, subscribe } = await setup();
    r.svc.delivery.start();
    const rc = await receiver(() => 200);
    const { wid, secret } = await subscribe(rc.url);
    const res = await r.call('bright_energy', 'POST', `/v1/webhooks/${wid}/test`, { 'event-type': 'tenancy.change' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ 'event-type': 'tenancy.change', delivered: true, 'status-code': 200, error: null });
    expect(rc.received).toHaveLength(1);
    const [got] = rc.received;
    // The published receiver check: exact equality of sha256=<hex HMAC keyed with the secret string>.
    expect(verifyDarSignature(secret, got.headers, got.raw)).toBe(true);
    expect(verifyStandardWebhook(secret, got.headers, got.raw)).toBe(true);
    expect(got.headers['x-dar-test']).toBe('true');
    expect(got.headers['x-dar-event']).toBe('tenancy.change');
    expect(got.json).toMatchObject({ 'event-id': res.body['event-id'], 'event-type': 'tenancy.change', wid });
    expect(Object.keys(got.json.payload).sort()).toEqual(['affected-aks', 'effective-date', 'mpxn', 'source-reference']);
    expect(got.json.payload.mpxn).toMatch(/^\d{13}$/);
    expect(got.json.payload['affected-aks'].length).toBeGreaterThan(0);
    expect(res.body.payload).toEqual(got.json.payload);
    expect(res.body['request-headers']['x-dar-signature']).toBe(got.headers['x-dar-signature']);
    expect(JSON.stringify(res.body)).not.toContain(secret);
    expect(await r.probe.deliveries()).toHaveLength(0);
  });

  it('sends each type with the published payload shape; a failing test is not retried; bodyless is webhook.test', async () => {
    const { r, receiver, subscribe } = await setup();
    r.svc.delivery.start();
    const rc = await receiver(() => 503);
    const { wid } = await subscribe(rc.url, { 'notify-days-before': 14 });
    const shapes: Record<string, string[]> = {
      'consent.withdrawal': ['ak', 'duid', 'mpxn', 'reason', 'revoked-at'],
      'consent.expiring': ['ak', 'days-remaining', 'duid', 'expiry', 'mpxn'],
      'webhook.test': ['duid', 'message'],
    };
    for (const [type, keys] of Object.entries(shapes)) {
      const res = await r.call('bright_energy', 'POST', `/v1/webhooks/${wid}/test`, { 'event-type': type });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ 'event-type': type, delivered: false, 'status-code': 503, error: 'HTTP 503', 'response-body': 'nope' });
      expect(Object.keys(rc.received.at(-1)!.json.payload).sort()).toEqual(keys);
    }
    expect(rc.received.at(-2)!.json.payload['days-remaining']).toBe(14);
    const bare = await r.call('bright_energy', 'POST', `/v1/webhooks/${wid}/test`);
    expect(bare.body['event-type']).toBe('webhook.test');
    // A test send is not queued: no delivery rows, so nothing to retry, whenever the worker runs.
    expect(await r.probe.deliveries()).toHaveLength(0);
    expect(await r.svc.delivery.runDue()).toBe(0);
    expect(rc.received).toHaveLength(4);
    const bad = await r.call('bright_energy', 'POST', `/v1/webhooks/${wid}/test`, { 'event-type': 'consent.granted' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]['error-code']).toBe('VAL001');
    // Another Data User's subscription is unknown, whatever the body says.
    expect((await r.call('octopusflux', 'POST', `/v1/webhooks/${wid}/test`, { 'event-type': 'nonsense' })).status).toBe(404);
  });
});

describe('every delivery attempt is inspectable', () => {
  it('records the request headers as sent, the response status, headers and first 4 KiB of body, duration and error; never the secret', async () => {
    const { r, subscribe, withdrawal } = await setup({ webhookRetryScheduleMs: [] });
    const big = 'x'.repeat(3000) + 'é'.repeat(2000); // more than 4 KiB of UTF-8
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'x-receiver': 'inspect-me' }).end(big));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    open.push({ close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))) });
    const { wid, secret } = await subscribe(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    await withdrawal();
    expect(await r.svc.delivery.runDue()).toBe(1);

    const list = await r.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${wid}`);
    const [a] = list.body.deliveries[0]['attempt-log'];
    expect(a['status-code']).toBe(502);
    expect(a.error).toBe('HTTP 502');
    expect(a['duration-ms']).toBeGreaterThanOrEqual(0);
    expect(a['request-headers']).toMatchObject({ 'content-type': 'application/json', 'x-dar-event': 'consent.withdrawal', 'user-agent': 'DAR-Webhooks/1.0' });
    expect(a['request-headers']['x-dar-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(a['request-headers']['webhook-id']).toBe(list.body.deliveries[0]['event-id']);
    expect(a['response-headers']['x-receiver']).toBe('inspect-me');
    expect(Buffer.byteLength(a['response-body'], 'utf8')).toBeLessThanOrEqual(4096 + 3);
    expect(a['response-body'].startsWith('x'.repeat(3000) + 'é')).toBe(true);
    expect(a['response-body'].length).toBeLessThan(big.length);
    // The signing secret is nowhere in the stored attempt.
    const stored = await r.probe.rows('webhook_attempts');
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(6));

    // No response at all: no response headers or body, the error says why.
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    expect((await r.call('admin_ops', 'POST', `/v1/admin/deliveries/${list.body.deliveries[0]['event-id']}/redeliver`)).status).toBe(200);
    await r.svc.delivery.runDue();
    const again = (await r.probe.attempts()).at(-1)!;
    expect(again.statusCode).toBeNull();
    expect(again.error).toMatch(/ECONNREFUSED/);
    expect(again.responseHeaders).toBeNull();
    expect(again.responseBody).toBeNull();
    expect(again.requestHeaders?.['x-dar-signature']).toMatch(/^sha256=/);
  });
});

describe('bulk redelivery (POST /v1/admin/deliveries/redeliver)', () => {
  it('queues 40 undelivered events by filter in one call, answering how many; they are delivered with their event-ids', async () => {
    const { r, receiver, subscribe } = await setup({ webhookRetryScheduleMs: [] });
    let failing = true;
    const rc = await receiver(() => (failing ? 500 : 200));
    const { wid } = await subscribe(rc.url);
    const other = await receiver(() => 500);
    const { wid: otherWid } = await subscribe(other.url, {}, 'octopusflux');
    // 40 events for this subscription, 3 for another Data User's, all failing once (no retries).
    const bright = (await r.svc.accounts.get('bright_energy')).duid;
    const octopus = (await r.svc.accounts.get('octopusflux')).duid;
    for (let i = 0; i < 40; i++) await r.svc.events.publishTo({ wid, duid: bright }, 'consent.withdrawal', { n: i });
    for (let i = 0; i < 3; i++) await r.svc.events.publishTo({ wid: otherWid, duid: octopus }, 'consent.withdrawal', { n: i });
    await r.svc.delivery.runDue();
    expect(rc.received).toHaveLength(40);
    const undelivered = (await r.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${wid}&status=undelivered`)).body;
    expect(undelivered.total).toBe(40);

    failing = false;
    const res = await r.call('admin_ops', 'POST', '/v1/admin/deliveries/redeliver', { wid, status: 'undelivered' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.queued).toBe(40);
    expect(new Set(res.body['event-ids'])).toEqual(new Set(undelivered.deliveries.map((d: { 'event-id': string }) => d['event-id'])));
    expect(await r.svc.delivery.runDue()).toBe(40);
    expect(rc.received).toHaveLength(80);
    expect(new Set(rc.received.slice(40).map((g) => g.json['event-id']))).toEqual(new Set(res.body['event-ids']));
    expect((await r.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${wid}&status=delivered`)).body.total).toBe(40);
    expect((await r.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${otherWid}&status=undelivered`)).body.total).toBe(3);
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=webhook.bulk-redeliver-requested');
    expect(audit.body.events[0]).toMatchObject({ actor: 'admin_ops', detail: { queued: 40, filter: { wid, status: 'undelivered' } } });

    // Nothing left to queue: 0; pending events are never queued twice.
    expect((await r.call('admin_ops', 'POST', '/v1/admin/deliveries/redeliver', { wid, status: 'undelivered' })).body.queued).toBe(0);
    // A filter is required, and must be valid.
    for (const body of [{}, { status: 'pending' }, { wid: 'nope' }, { colour: 'red' }]) {
      const bad = await r.call('admin_ops', 'POST', '/v1/admin/deliveries/redeliver', body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.errors[0]['error-code']).toBe('VAL001');
    }
    expect((await r.call('bright_energy', 'POST', '/v1/admin/deliveries/redeliver', { wid })).status).toBe(403);
  });

  it('skips events whose subscription was deleted', async () => {
    const { r, receiver, subscribe, withdrawal } = await setup({ webhookRetryScheduleMs: [] });
    const rc = await receiver(() => 500);
    const { wid } = await subscribe(rc.url);
    await withdrawal();
    await r.svc.delivery.runDue();
    expect((await r.call('bright_energy', 'DELETE', `/v1/webhooks/${wid}`)).status).toBe(204);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/deliveries/redeliver', { status: 'undelivered' })).body.queued).toBe(0);
  });
});

describe('served OpenAPI', () => {
  it('documents the test event body, attempt inspection and bulk redelivery', async () => {
    const { r } = await setup();
    const doc = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(JSON.stringify(doc.paths['/v1/webhooks/{wid}/test'].post.requestBody)).toContain('tenancy.change');
    expect(JSON.stringify(doc.paths['/v1/admin/deliveries'].get.responses['200'])).toContain('response-body');
    expect(doc.paths['/v1/admin/deliveries/redeliver'].post.responses['200']).toBeDefined();
  });
});

describe('admin routes acting for a Data User (/v1/admin/webhooks…)', () => {
  it("creates, edits, pauses, rotates, tests and deletes a chosen Data User's subscription, audited as the administrator", async () => {
    const { r, receiver } = await setup();
    const rc = await receiver(() => 200);
    const duid = (await r.svc.accounts.get('octopusflux')).duid;
    const created = await r.call('admin_ops', 'POST', '/v1/admin/webhooks', { duid, 'callback-url': rc.url, 'alert-email': 'ops@octopusflux.example', 'event-types': ['tenancy.change'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const wid = created.body.webhook.wid as string;
    const secret = created.body['signing-secret'] as string;
    expect(created.body.webhook).toMatchObject({ duid, 'event-types': ['tenancy.change'], active: true });
    // The Data User sees it as its own.
    const own = await r.call('octopusflux', 'GET', `/v1/webhooks/${wid}`);
    expect(own.status).toBe(200);
    // Same rules as the Data User's route: a duplicate callback-url is 409.
    expect((await r.call('admin_ops', 'POST', '/v1/admin/webhooks', { duid, 'callback-url': rc.url, 'alert-email': 'ops@octopusflux.example' })).status).toBe(409);
    const unknown = await r.call('admin_ops', 'POST', '/v1/admin/webhooks', { duid: 'duid_000000000000000000000000', 'callback-url': rc.url, 'alert-email': 'a@b.example' });
    expect(unknown.status).toBe(404);

    const paused = await r.call('admin_ops', 'PATCH', `/v1/admin/webhooks/${wid}`, { active: false, 'notify-days-before': 10 });
    expect(paused.status).toBe(200);
    expect(paused.body.webhook).toMatchObject({ active: false, 'notify-days-before': 10 });
    expect(paused.body['signing-secret']).toBeUndefined();

    const rotated = await r.call('admin_ops', 'PATCH', `/v1/admin/webhooks/${wid}`, { 'rotate-secret': true, active: true });
    expect(rotated.body['signing-secret']).toMatch(/^whsec_/);
    expect(rotated.body['signing-secret']).not.toBe(secret);

    const test = await r.call('admin_ops', 'POST', `/v1/admin/webhooks/${wid}/test`, { 'event-type': 'tenancy.change' });
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ delivered: true, 'event-type': 'tenancy.change' });
    const got = rc.received.at(-1)!;
    expect(got.headers['x-dar-test']).toBe('true');
    // During the overlap X-DAR-Signature stays under the old secret, X-DAR-Signature-New under the new one.
    expect(verifyDarSignature(secret, got.headers, got.raw)).toBe(true);
    expect(verifyDarSignature(rotated.body['signing-secret'], got.headers, got.raw, 'x-dar-signature-new')).toBe(true);

    expect((await r.call('admin_ops', 'DELETE', `/v1/admin/webhooks/${wid}`)).status).toBe(204);
    expect((await r.call('octopusflux', 'GET', `/v1/webhooks/${wid}`)).status).toBe(404);
    expect((await r.call('admin_ops', 'GET', `/v1/admin/webhooks/${wid}`)).status).toBe(404);

    const audit = (await r.call('admin_ops', 'GET', '/v1/admin/audit?account-id=admin_ops&limit=50')).body.events.filter((e: { 'event-type': string }) => e['event-type'].startsWith('webhook.'));
    const types = audit.map((e: { 'event-type': string }) => e['event-type']).reverse();
    expect(types).toEqual(['webhook.created', 'webhook.updated', 'webhook.updated', 'webhook.secret-rotated', 'webhook.test-sent', 'webhook.deleted']);
    for (const e of audit) expect(e).toMatchObject({ actor: 'admin_ops', subject: wid, detail: { 'for-duid': duid } });
    expect(JSON.stringify(audit)).not.toContain('whsec_');
    // Only administrators.
    expect((await r.call('octopusflux', 'POST', '/v1/admin/webhooks', { duid, 'callback-url': rc.url, 'alert-email': 'a@b.example' })).status).toBe(403);
  });
});
