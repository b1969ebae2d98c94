import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, type RegisterConfig } from '../src/server/config.js';
import { saveClockOffset } from '../src/server/services/settings.js';
import { consentBody, testRegister } from './support/register.js';
import { eventually, startReceiver, verifyDarSignature, verifyStandardWebhook, type Behaviour, type Receiver } from './support/webhook-receiver.js';

const FAST: Partial<RegisterConfig> = { webhookRetryScheduleMs: [40, 40, 40, 40, 40], webhookTimeoutMs: 2000, webhookPollMs: 20 };

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

async function setup(overrides: Partial<RegisterConfig> = {}, start = true) {
  const r = await testRegister({ ...FAST, ...overrides });
  open.push(r);
  if (start) r.svc.delivery.start();
  const receiver = async (b?: Behaviour) => {
    const rc = await startReceiver(b);
    open.push(rc);
    return rc;
  };
  const subscribe = async (as: string, url: string, extra: Record<string, unknown> = {}) => {
    const res = await r.call(as, 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': `alerts@${as.replace(/_/g, '-')}.example`, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { wid: res.body.webhook.wid as string, secret: res.body['signing-secret'] as string };
  };
  const newRecord = async (patch: Record<string, unknown> = {}) => {
    const res = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(r.demo!.ir, patch));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body['access-token'].key as string;
  };
  const revoke = async (ak: string, as = 'bright_energy') => {
    const res = await r.call(as, 'DELETE', `/v1/access-records/${ak}?reason=customer-request`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const deliveries = async (query = '') => (await r.call('admin_ops', 'GET', `/v1/admin/deliveries${query}`)).body;
  return { r, receiver, subscribe, newRecord, revoke, deliveries };
}

describe('webhook delivery (contract §9)', () => {
  it('keeps the contract defaults: 10 s timeout, retries after 1 min, 5 min, 30 min, 2 h, 24 h', () => {
    const c = defaultConfig();
    expect(c.webhookTimeoutMs).toBe(10_000);
    expect(c.webhookRetryScheduleMs).toEqual([60_000, 300_000, 1_800_000, 7_200_000, 86_400_000]);
  });

  it('delivers consent.withdrawal promptly, signed in both header styles', async () => {
    // A long poll interval: only the publish wake-up can explain a prompt delivery.
    const { r, receiver, subscribe, newRecord, revoke, deliveries } = await setup({ webhookPollMs: 60_000 });
    const rc = await receiver();
    const { wid, secret } = await subscribe('bright_energy', rc.url);
    const ak = await newRecord();
    const started = Date.now();
    const revoked = await revoke(ak);
    const [got] = await rc.waitFor(1, 8000);
    expect(Date.now() - started).toBeLessThan(8000);

    expect(got.method).toBe('POST');
    expect(got.path).toBe('/hooks/dar');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-dar-event']).toBe('consent.withdrawal');
    expect(got.headers['x-dar-timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(got.headers['x-dar-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);

    const bright = await r.svc.accounts.get('bright_energy');
    expect(Object.keys(got.json).sort()).toEqual(['event-id', 'event-type', 'occurred-at', 'payload', 'wid']);
    expect(got.json).toEqual({
      'event-id': expect.stringMatching(/^evt_[0-9a-f]{24}$/),
      'event-type': 'consent.withdrawal',
      'occurred-at': expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      wid,
      payload: { ak, mpxn: r.demo!.mpxn, duid: bright.duid, 'revoked-at': revoked['revoked-at'], reason: 'customer-request' },
    });
    expect(got.headers['webhook-id']).toBe(got.json['event-id']);

    expect(verifyDarSignature(secret, got.headers, got.raw)).toBe(true);
    expect(verifyStandardWebhook(secret, got.headers, got.raw)).toBe(true);
    expect(got.headers['x-dar-signature-new']).toBeUndefined();
    // The published key is the secret string itself, not its base64-decoded bytes.
    const decodedKey = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(got.headers['x-dar-signature']).not.toBe(`sha256=${createHmac('sha256', decodedKey).update(got.raw).digest('hex')}`);
    const wrong = `whsec_${randomBytes(32).toString('base64')}`;
    expect(verifyDarSignature(wrong, got.headers, got.raw)).toBe(false);
    expect(verifyStandardWebhook(wrong, got.headers, got.raw)).toBe(false);
    const tampered = got.raw.replace('customer-request', 'other');
    expect(verifyDarSignature(secret, got.headers, tampered)).toBe(false);
    expect(verifyStandardWebhook(secret, got.headers, tampered)).toBe(false);
    expect(verifyStandardWebhook(secret, { ...got.headers, 'webhook-timestamp': String(Number(got.headers['webhook-timestamp']) + 1) }, got.raw)).toBe(false);

    const list = await eventually(async () => {
      const d = await deliveries(`?wid=${wid}`);
      return d.deliveries[0]?.status === 'delivered' ? d : null;
    });
    const d = list.deliveries[0];
    expect(Object.keys(d).sort()).toEqual(
      ['attempt-log', 'attempts', 'data-user-name', 'delivered-at', 'duid', 'event-id', 'event-type', 'last-error', 'last-status-code', 'next-attempt-at', 'occurred-at', 'payload', 'status', 'wid'].sort(),
    );
    expect(d).toMatchObject({
      'event-id': got.json['event-id'],
      wid,
      duid: bright.duid,
      'data-user-name': bright.displayName,
      'event-type': 'consent.withdrawal',
      status: 'delivered',
      attempts: 1,
      'next-attempt-at': null,
      'last-status-code': 200,
      'last-error': null,
    });
    expect(d['attempt-log']).toEqual([
      {
        attempt: 1,
        at: expect.any(String),
        'status-code': 200,
        'duration-ms': expect.any(Number),
        error: null,
        'request-headers': expect.objectContaining({ 'x-dar-signature': got.headers['x-dar-signature'], 'webhook-id': got.json['event-id'] }),
        'response-headers': expect.objectContaining({ 'content-type': 'text/plain' }),
        'response-body': 'ok',
      },
    ]);
    expect(d.payload).toEqual(got.json.payload);
  });

  it('fires consent.withdrawal to the owning Data User when an operator revokes, and not to others', async () => {
    const { r, receiver, subscribe, newRecord, deliveries } = await setup();
    const mine = await receiver();
    const theirs = await receiver();
    await subscribe('bright_energy', mine.url);
    const { wid: theirWid } = await subscribe('octopusflux', theirs.url);
    const ak = await newRecord();
    const res = await r.call('admin_ops', 'POST', `/v1/admin/records/${ak}/revoke`, { reason: 'other' });
    expect(res.status).toBe(200);
    const [got] = await mine.waitFor(1);
    expect(got.json.payload).toMatchObject({ ak, reason: 'other' });
    // Deliveries are queued in the same transaction as the change: none queued for the other
    // Data User means none will ever arrive (no waiting to see that nothing came).
    expect((await deliveries(`?wid=${theirWid}`)).total).toBe(0);
    expect(theirs.received).toHaveLength(0);
  });

  it('only sends the event types a subscription takes', async () => {
    const { receiver, subscribe, newRecord, revoke, deliveries } = await setup();
    const only = await receiver();
    const all = await receiver();
    const { wid: onlyWid } = await subscribe('bright_energy', only.url, { 'event-types': ['tenancy.change'] });
    await subscribe('bright_energy', all.url);
    await revoke(await newRecord());
    await all.waitFor(1);
    // Queued with the change, so the delivery list is final: nothing for the narrower subscription.
    expect((await deliveries(`?wid=${onlyWid}`)).total).toBe(0);
    expect(only.received).toHaveLength(0);
  });

  it('retries a failing receiver with the same event-id and body until it answers 2xx', async () => {
    const { r, receiver, subscribe, newRecord, revoke, deliveries } = await setup();
    const codes = [500, 503, 404];
    const rc = await receiver((n) => codes[n - 1] ?? 204);
    const { wid, secret } = await subscribe('bright_energy', rc.url);
    await revoke(await newRecord());
    const got = await rc.waitFor(4);
    const ids = new Set(got.map((g) => g.json['event-id']));
    expect(ids.size).toBe(1);
    expect(new Set(got.map((g) => g.headers['webhook-id']))).toEqual(ids);
    expect(new Set(got.map((g) => g.raw)).size).toBe(1);
    for (const g of got) expect(verifyStandardWebhook(secret, g.headers, g.raw) && verifyDarSignature(secret, g.headers, g.raw)).toBe(true);
    // Each retry waits at least the configured delay.
    for (let i = 1; i < got.length; i++) expect(got[i].at - got[i - 1].at).toBeGreaterThanOrEqual(35);

    const d = await eventually(async () => {
      const x = (await deliveries(`?wid=${wid}`)).deliveries[0];
      return x?.status === 'delivered' ? x : null;
    });
    expect(d.attempts).toBe(4);
    expect(d['attempt-log'].map((a: { 'status-code': number }) => a['status-code'])).toEqual([500, 503, 404, 204]);
    expect(d['attempt-log'].map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(d['attempt-log'][0].error).toBe('HTTP 500');
    expect(d['delivered-at']).not.toBeNull();
    // Delivered is final: with the worker driven to idle, nothing else was sent.
    expect(await r.svc.delivery.runDue()).toBe(0);
    expect(rc.received).toHaveLength(4);
    expect(await r.probe.delivery([...ids][0])).toMatchObject({ status: 'delivered', attempts: 4, nextAttemptAt: null, lastStatusCode: 204 });
  });

  it('schedules the next attempt from the configured retry schedule (persisted next_attempt_at)', async () => {
    const { r, receiver, subscribe, newRecord, revoke } = await setup({ webhookRetryScheduleMs: [60_000, 300_000] }, false);
    const rc = await receiver(() => 500);
    await subscribe('bright_energy', rc.url);
    await revoke(await newRecord());
    const before = r.reg.clock.now().getTime();
    expect(await r.svc.delivery.runDue()).toBe(1);
    const [row] = await r.probe.deliveries();
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(1);
    const delay = new Date(row.nextAttemptAt!).getTime() - before;
    expect(delay).toBeGreaterThanOrEqual(60_000);
    expect(delay).toBeLessThan(65_000);
    expect(await r.svc.delivery.runDue()).toBe(0); // not due yet
    await saveClockOffset(r.reg, 61_000);
    expect(await r.svc.delivery.runDue()).toBe(1);
    const [again] = await r.probe.deliveries();
    expect(new Date(again.nextAttemptAt!).getTime() - r.reg.clock.now().getTime()).toBeGreaterThan(295_000);
  });

  it('counts a receiver that hangs past the timeout as a failed attempt', async () => {
    const { receiver, subscribe, newRecord, revoke, deliveries } = await setup({ webhookTimeoutMs: 300 });
    const rc = await receiver((n) => (n === 1 ? 'hang' : 200));
    const { wid } = await subscribe('bright_energy', rc.url);
    await revoke(await newRecord());
    await rc.waitFor(2, 5000);
    const d = await eventually(async () => {
      const x = (await deliveries(`?wid=${wid}`)).deliveries[0];
      return x?.status === 'delivered' ? x : null;
    });
    const [first, second] = d['attempt-log'];
    expect(first['status-code']).toBeNull();
    expect(first.error).toBe('no response within 300 ms');
    expect(first['duration-ms']).toBeGreaterThanOrEqual(290);
    expect(first['duration-ms']).toBeLessThan(5000);
    expect(second['status-code']).toBe(200);
  });

  it('records connection errors, and redirects are not followed', async () => {
    const { receiver, subscribe, newRecord, revoke, deliveries } = await setup({ webhookRetryScheduleMs: [] });
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((res) => closed.close(() => res()));
    const redirect = await receiver(() => 302);
    const a = await subscribe('bright_energy', `http://127.0.0.1:${port}/gone`);
    const b = await subscribe('bright_energy', redirect.url);
    await revoke(await newRecord());
    await eventually(async () => (await deliveries('?status=undelivered')).total === 2);
    const refused = (await deliveries(`?wid=${a.wid}`)).deliveries[0];
    expect(refused['last-error']).toMatch(/ECONNREFUSED/);
    expect(refused['last-status-code']).toBeNull();
    const redirected = (await deliveries(`?wid=${b.wid}`)).deliveries[0];
    expect(redirected['last-status-code']).toBe(302);
    expect(redirected['last-error']).toMatch(/redirects are not followed/);
  });

  it('signs with both the old and the new secret for 15 minutes after a rotation; X-DAR-Signature keeps one value', async () => {
    const { r, receiver, subscribe, newRecord, revoke } = await setup();
    const rc = await receiver();
    const { wid, secret: oldSecret } = await subscribe('bright_energy', rc.url);
    const rotated = await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'rotate-secret': true });
    const newSecret: string = rotated.body['signing-secret'];

    await revoke(await newRecord());
    const [during] = await rc.waitFor(1);
    // The published receiver compares X-DAR-Signature for equality: one value, under the
    // secret it already has; the new secret's signature travels in X-DAR-Signature-New.
    expect(String(during.headers['x-dar-signature'])).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(String(during.headers['x-dar-signature-new'])).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyDarSignature(oldSecret, during.headers, during.raw)).toBe(true);
    expect(verifyDarSignature(newSecret, during.headers, during.raw)).toBe(false);
    expect(verifyDarSignature(newSecret, during.headers, during.raw, 'x-dar-signature-new')).toBe(true);
    expect(verifyDarSignature(oldSecret, during.headers, during.raw, 'x-dar-signature-new')).toBe(false);
    // Standard Webhooks keeps its own convention: a list, newest first.
    expect(String(during.headers['webhook-signature'])).toMatch(/^v1,\S+ v1,\S+$/);
    for (const s of [oldSecret, newSecret]) expect(verifyStandardWebhook(s, during.headers, during.raw)).toBe(true);
    const onlyNew = { ...during.headers, 'webhook-signature': String(during.headers['webhook-signature']).split(' ')[0] };
    expect(verifyStandardWebhook(newSecret, onlyNew, during.raw)).toBe(true);

    await saveClockOffset(r.reg, 14 * 60_000);
    await revoke(await newRecord());
    const [, at14] = await rc.waitFor(2);
    expect(String(at14.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyDarSignature(oldSecret, at14.headers, at14.raw)).toBe(true);
    expect(verifyDarSignature(newSecret, at14.headers, at14.raw, 'x-dar-signature-new')).toBe(true);

    await saveClockOffset(r.reg, 15 * 60_000 + 1000);
    await revoke(await newRecord());
    const [, , after] = await rc.waitFor(3);
    expect(after.headers['x-dar-signature-new']).toBeUndefined();
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyDarSignature(newSecret, after.headers, after.raw)).toBe(true);
    expect(verifyStandardWebhook(newSecret, after.headers, after.raw)).toBe(true);
    expect(verifyDarSignature(oldSecret, after.headers, after.raw)).toBe(false);
    expect(verifyStandardWebhook(oldSecret, after.headers, after.raw)).toBe(false);
  });

  it("tenancy.change goes once to each affected Data User with only that Data User's ACTIVE keys", async () => {
    const { r, receiver, subscribe, newRecord } = await setup();
    const users = ['bright_energy', 'octopusflux', 'northern_networks', 'greenswitch'];
    const rcs: Record<string, Receiver> = {};
    for (const u of users) {
      rcs[u] = await receiver();
      await subscribe(u, rcs[u].url);
    }
    const extra = await newRecord(); // bright now has two ACTIVE records on the meter point
    const revokedAk = await newRecord();
    await r.call('bright_energy', 'DELETE', `/v1/access-records/${revokedAk}?reason=contract-ended`);
    await rcs.bright_energy.waitFor(1); // the withdrawal
    const before = rcs.bright_energy.received.length;

    const cot = { mpxn: r.demo!.mpxn, 'effective-date': '2026-05-01', 'source-reference': 'DCC-COT-TEST-1' };
    const res = await r.call('dcc_system', 'POST', '/v1/cot-events', cot);
    expect(res.status).toBe(201);
    const duidOf = async (u: string) => (await r.svc.accounts.get(u)).duid;
    expect(res.body['data-users-notified']).toEqual([await duidOf('bright_energy'), await duidOf('octopusflux'), await duidOf('northern_networks')].sort());

    for (const u of ['bright_energy', 'octopusflux', 'northern_networks']) {
      const got = await rcs[u].waitFor(u === 'bright_energy' ? before + 1 : 1);
      const events = got.filter((g) => g.json['event-type'] === 'tenancy.change');
      expect(events, u).toHaveLength(1);
      const payload = events[0].json.payload;
      expect(Object.keys(payload).sort()).toEqual(['affected-aks', 'effective-date', 'mpxn', 'source-reference']);
      expect(payload).toMatchObject({ mpxn: cot.mpxn, 'effective-date': cot['effective-date'], 'source-reference': cot['source-reference'] });
      const rows = [];
      for (const ak of payload['affected-aks'] as string[]) rows.push(await r.probe.record(ak));
      expect(rows.every(Boolean)).toBe(true);
      for (const row of rows) {
        expect(row.duid, `${u} got someone else's key`).toBe(await duidOf(u));
        expect(row.state).toBe('ACTIVE');
      }
      const expected = (await r.probe.records({ duid: await duidOf(u), mpxn: cot.mpxn }))
        .filter((x) => r.svc.records.effectiveState(x) === 'ACTIVE')
        .map((x) => x.ak)
        .sort();
      expect([...payload['affected-aks']].sort()).toEqual(expected);
    }
    const brightAks = rcs.bright_energy.received.find((g) => g.json['event-type'] === 'tenancy.change')!.json.payload['affected-aks'];
    expect(brightAks).toContain(extra);
    expect(brightAks).not.toContain(revokedAk);

    // The same triple again: 200 and no new webhooks. greenswitch (EXPIRED only) never hears.
    const queued = (await r.probe.deliveries({ eventType: 'tenancy.change' })).length;
    expect((await r.call('dcc_system', 'POST', '/v1/cot-events', cot)).status).toBe(200);
    expect(await r.probe.deliveries({ eventType: 'tenancy.change' })).toHaveLength(queued);
    await r.svc.delivery.runDue(); // the worker at rest: whatever was due has gone out
    for (const u of ['octopusflux', 'northern_networks']) expect(rcs[u].received).toHaveLength(1);
    expect(rcs.greenswitch.received).toHaveLength(0);
  });

  it('redelivers an event on request with the same event-id', async () => {
    const { r, receiver, subscribe, newRecord, revoke, deliveries } = await setup();
    const rc = await receiver();
    const { wid } = await subscribe('bright_energy', rc.url);
    await revoke(await newRecord());
    const [first] = await rc.waitFor(1);
    const eventId = first.json['event-id'];
    await eventually(async () => (await deliveries(`?wid=${wid}&status=delivered`)).total === 1);
    const res = await r.call('admin_ops', 'POST', `/v1/admin/deliveries/${eventId}/redeliver`);
    expect(res.status).toBe(200);
    expect(res.body.delivery['event-id']).toBe(eventId);
    const [, second] = await rc.waitFor(2);
    expect(second.json['event-id']).toBe(eventId);
    expect(second.raw).toBe(first.raw);
    const d = await eventually(async () => {
      const x = (await deliveries(`?wid=${wid}`)).deliveries[0];
      return x.status === 'delivered' && x.attempts === 2 ? x : null;
    });
    expect(d['attempt-log']).toHaveLength(2);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/deliveries/evt_000000000000000000000000/redeliver')).status).toBe(404);
    expect((await r.call('bright_energy', 'POST', `/v1/admin/deliveries/${eventId}/redeliver`)).status).toBe(403);
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=webhook.redeliver-requested');
    expect(audit.body.events[0].detail['event-id']).toBe(eventId);
  });

  it('lists deliveries with filters and cursor paging', async () => {
    const { receiver, subscribe, newRecord, revoke, deliveries } = await setup({ webhookRetryScheduleMs: [] });
    const ok = await receiver();
    const bad = await receiver(() => 500);
    const a = await subscribe('bright_energy', ok.url);
    const b = await subscribe('bright_energy', bad.url);
    for (let i = 0; i < 3; i++) await revoke(await newRecord());
    await eventually(async () => (await deliveries('?status=delivered')).total === 3 && (await deliveries('?status=undelivered')).total === 3);
    expect((await deliveries(`?wid=${a.wid}`)).total).toBe(3);
    expect((await deliveries(`?wid=${b.wid}&status=undelivered`)).total).toBe(3);
    expect((await deliveries('?event-type=tenancy.change')).total).toBe(0);
    expect((await deliveries('?event-type=consent.withdrawal')).total).toBe(6);
    const p1 = await deliveries('?limit=4');
    expect(p1.deliveries).toHaveLength(4);
    expect(p1.total).toBe(6);
    const p2 = await deliveries(`?limit=4&cursor=${p1['next-cursor']}`);
    expect(p2.deliveries).toHaveLength(2);
    expect(p2['next-cursor']).toBeNull();
    const ids = new Set([...p1.deliveries, ...p2.deliveries].map((d: { 'event-id': string }) => d['event-id']));
    expect(ids.size).toBe(6);
    expect((await deliveries('?status=lost')).errors[0]['error-code']).toBe('VAL001');
  });

  it('POST /v1/webhooks/{wid}/test sends a signed webhook.test event and reports the outcome', async () => {
    const { r, receiver, subscribe, deliveries } = await setup();
    const rc = await receiver((n) => (n === 1 ? 200 : 500));
    const { wid, secret } = await subscribe('bright_energy', rc.url);
    const ok = await r.call('bright_energy', 'POST', `/v1/webhooks/${wid}/test`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ 'event-type': 'webhook.test', delivered: true, 'status-code': 200, error: null });
    expect(ok.body['event-id']).toMatch(/^evt_/);
    expect(ok.body['duration-ms']).toBeGreaterThanOrEqual(0);
    const [got] = rc.received;
    expect(got.headers['x-dar-event']).toBe('webhook.test');
    expect(got.json['event-id']).toBe(ok.body['event-id']);
    expect(got.json.wid).toBe(wid);
    expect(verifyDarSignature(secret, got.headers, got.raw) && verifyStandardWebhook(secret, got.headers, got.raw)).toBe(true);

    const failed = await r.call('bright_energy', 'POST', `/v1/webhooks/${wid}/test`);
    expect(failed.body).toMatchObject({ delivered: false, 'status-code': 500, error: 'HTTP 500' });
    expect((await deliveries()).total).toBe(0); // tests are not queued
  });

  it('holds deliveries while a subscription is paused and closes them when it is deleted', async () => {
    const { r, receiver, subscribe, newRecord, revoke, deliveries } = await setup();
    const rc = await receiver();
    const { wid } = await subscribe('bright_energy', rc.url);
    await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { active: false });
    // A paused subscription takes no new events…
    await revoke(await newRecord());
    // The delivery list is written in the revocation's own transaction: final once it answered.
    expect((await deliveries()).total).toBe(0);
    // …and queued ones wait until it is resumed.
    await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { active: true });
    await r.svc.delivery.stop();
    await revoke(await newRecord());
    await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { active: false });
    expect(await r.svc.delivery.runDue()).toBe(0);
    await r.call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { active: true });
    expect(await r.svc.delivery.runDue()).toBe(1);
    expect(rc.received).toHaveLength(1);

    await revoke(await newRecord());
    expect((await r.call('bright_energy', 'DELETE', `/v1/webhooks/${wid}`)).status).toBe(204);
    expect(await r.svc.delivery.runDue()).toBe(0);
    expect(rc.received).toHaveLength(1);
    const closed = (await deliveries('?status=undelivered')).deliveries;
    expect(closed).toHaveLength(1);
    expect(closed[0]['last-error']).toBe('subscription deleted before delivery');
    expect((await r.call('admin_ops', 'POST', `/v1/admin/deliveries/${closed[0]['event-id']}/redeliver`)).status).toBe(409);
  });

  it('delivers concurrently but never more than 8 at once', async () => {
    const { r, receiver, subscribe, newRecord, revoke } = await setup({ webhookTimeoutMs: 8000 });
    const rc = await receiver(() => 'hang');
    await subscribe('bright_energy', rc.url);
    for (let i = 0; i < 12; i++) await revoke(await newRecord());
    await rc.waitFor(8, 6000);
    // Let every wake-up the publishes queued run (each claims what is free), then read the
    // claims: a claimed row's next attempt is pushed past the request's timeout (its lease).
    await new Promise((res) => setImmediate(res));
    const rows = await r.probe.deliveries();
    expect(rows).toHaveLength(12);
    const now = r.reg.clock.iso();
    expect(rows.filter((d) => d.nextAttemptAt! > now)).toHaveLength(8);
    expect(rows.filter((d) => d.nextAttemptAt! <= now)).toHaveLength(4);
    expect(rc.received).toHaveLength(8);
  });

  it('hands in-flight rows back when stopped, without counting an attempt', async () => {
    const { r, receiver, subscribe, newRecord, revoke } = await setup({ webhookTimeoutMs: 5000 });
    const rc = await receiver(() => 'hang');
    await subscribe('bright_energy', rc.url);
    await revoke(await newRecord());
    await rc.waitFor(1);
    await r.svc.delivery.stop();
    const [row] = await r.probe.deliveries();
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(0);
    expect(row.nextAttemptAt! <= r.reg.clock.iso()).toBe(true);
    expect(await r.probe.attempts()).toHaveLength(0);
    // The next pass picks it up again with the same event-id.
    rc.behaviour = () => 200;
    expect(await r.svc.delivery.runDue()).toBe(1);
    expect(rc.received[1].json['event-id']).toBe(rc.received[0].json['event-id']);
  });
});
