import { afterEach, describe, expect, it } from 'vitest';
import type { RegisterConfig } from '../src/server/config.js';
import { issueToken } from '../src/server/http/auth.js';
import { newId } from '../src/server/lib/ids.js';
import { saveClockOffset } from '../src/server/services/settings.js';
import { consentBody, testRegister } from './support/register.js';
import { eventually, startReceiver, verifyStandardWebhook, type Behaviour, type Receiver } from './support/webhook-receiver.js';

const DAY = 24 * 3600 * 1000;

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

async function setup(overrides: Partial<RegisterConfig> = {}) {
  const r = await testRegister({ webhookRetryScheduleMs: [40, 40], webhookPollMs: 20, ...overrides });
  open.push(r);
  // Tokens are minted at the register's current (possibly advanced) time, so they stay valid.
  const call = async (as: string | null, method: string, url: string, body?: unknown) => r.call(null, method, url, body, as ? { authorization: `Bearer ${await issueToken(r.reg, await r.svc.accounts.get(as))}` } : {});
  const dateIn = (days: number) => new Date(r.reg.clock.now().getTime() + days * DAY).toISOString().slice(0, 10);
  const advanceDays = (days: number) => saveClockOffset(r.reg, r.reg.clock.offset + days * DAY);
  const newRecord = async (expiry: string | null, patch: Record<string, unknown> = {}) => {
    const body = consentBody(r.demo!.ir, patch);
    body['access-event'].expiry = expiry;
    const res = await call('bright_energy', 'POST', '/v1/access-records', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body['access-token'].key as string;
  };
  const receiver = async (b?: Behaviour) => {
    const rc = await startReceiver(b);
    open.push(rc);
    return rc;
  };
  const subscribe = async (as: string, url: string, extra: Record<string, unknown> = {}) => {
    const res = await call(as, 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': 'alerts@example.com', ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { wid: res.body.webhook.wid as string, secret: res.body['signing-secret'] as string };
  };
  const row = async (ak: string) => (await r.probe.record(ak))!;
  const audits = (type: string, ak?: string) => r.probe.auditEvents(type, { ak });
  const expiring = (wid?: string) => r.probe.deliveries({ eventType: 'consent.expiring', wid });
  return { r, call, dateIn, advanceDays, newRecord, receiver, subscribe, row, audits, expiring };
}

describe('lifecycle sweeper', () => {
  it('moves past-expiry ACTIVE records to EXPIRED; readers see EXPIRED before the sweep', async () => {
    const { r, call, dateIn, advanceDays, newRecord, row, audits } = await setup();
    const ak = await newRecord(dateIn(2));
    expect((await r.svc.sweeper.run()).expired).toBe(0);
    await advanceDays(3);
    expect((await row(ak)).state).toBe('ACTIVE');
    const read = await call(null, 'GET', `/v1/access-records/${ak}`);
    expect(read.body['access-record']['access-event'].state).toBe('EXPIRED');

    const result = await r.svc.sweeper.run();
    expect(result.expired).toBe(1);
    const swept = await row(ak);
    expect(swept.state).toBe('EXPIRED');
    expect(swept.expiredAt).toBe(swept.expiresAt);
    const [audit] = await audits('access-record.expired', ak);
    expect(audit.actor).toBe('register');
    expect(audit.detail).toMatchObject({ expiry: `${dateIn(-1)}T00:00:00Z` }); // a date-only expiry means 00:00:00Z that day
    expect((await call(null, 'GET', `/v1/access-records/${ak}`)).body['access-record']['access-event'].state).toBe('EXPIRED');
    expect((await call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=other`)).status).toBe(409);

    // Idempotent: nothing more to do, no more audit events.
    expect(await r.svc.sweeper.run()).toEqual({ expired: 0, discoveredExpired: 0, expiringQueued: 0 });
    expect(await audits('access-record.expired', ak)).toHaveLength(1);
    expect((await call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
  });

  it('moves DISCOVERED access not seen for 180 days to EXPIRED, whatever the last-seen format', async () => {
    const { r, call, advanceDays, row, audits } = await setup();
    const acme = (await r.svc.records.forMeterPoint(r.demo!.mpxn, { state: 'DISCOVERED' }))[0]; // last seen 3 days ago
    const old = new Date(r.reg.clock.now().getTime() - 170 * DAY);
    const offsetForm = `${old.toISOString().slice(0, 10)}T01:00:00+02:00`;
    const res = await call('dcc_system', 'POST', '/v1/discovered-access', {
      mpxn: r.demo!.mpxn,
      'organisation-name': 'Old Data Co',
      'organisation-reference': 'SEC-OU-00777',
      'first-seen': old.toISOString().slice(0, 10),
      'last-seen': offsetForm,
      'data-types-observed': ['HH-CONSUMPTION'],
      'source-reference': 'DCC-SR-777',
    });
    expect(res.status).toBe(201);
    const oldAk = res.body.ak;
    expect((await r.svc.sweeper.run()).discoveredExpired).toBe(0);

    await advanceDays(11); // Old Data Co: 181 days unseen; Acme: 14
    expect((await r.svc.sweeper.run()).discoveredExpired).toBe(1);
    expect((await row(oldAk)).state).toBe('EXPIRED');
    expect(Math.abs(new Date((await row(oldAk)).expiredAt!).getTime() - r.reg.clock.now().getTime())).toBeLessThan(60_000);
    expect((await row(acme.ak)).state).toBe('DISCOVERED');
    expect((await audits('discovered-access.expired', oldAk))[0].detail).toMatchObject({ 'organisation-reference': 'SEC-OU-00777', reason: 'not seen for 180 days' });

    await advanceDays(165); // Acme: 179 days unseen
    await r.svc.sweeper.run();
    expect((await row(acme.ak)).state).toBe('DISCOVERED');
    await advanceDays(2);
    expect((await r.svc.sweeper.run()).discoveredExpired).toBe(1);
    expect((await row(acme.ak)).state).toBe('EXPIRED');
    const listed = await call('admin_ops', 'GET', `/v1/admin/records?q=${acme.ak}`);
    expect(listed.body.records[0].state).toBe('EXPIRED');
  });

  it('queues consent.expiring exactly once per record and subscription as the clock advances', async () => {
    const { r, call, dateIn, advanceDays, newRecord, receiver, subscribe, expiring } = await setup();
    const wide = await receiver();
    const narrow = await receiver();
    const none = await receiver();
    const other = await receiver();
    const A = await subscribe('bright_energy', wide.url, { 'notify-days-before': 30 });
    const B = await subscribe('bright_energy', narrow.url, { 'notify-days-before': 7 });
    const C = await subscribe('bright_energy', none.url, { 'event-types': ['consent.withdrawal', 'tenancy.change'] });
    const D = await subscribe('octopusflux', other.url, { 'notify-days-before': 90 });

    const ak = await newRecord(dateIn(40));
    const noExpiry = await newRecord(null);
    const publicTask = await newRecord(dateIn(20), {
      notice: null,
      processing: { 'legal-basis': 'uk-public-task', purpose: 'Network planning', 'data-types': ['HH-CONSUMPTION'] },
      'access-event': { state: 'ACTIVE', 'registered-at': '2026-01-01T00:00:00Z', expiry: dateIn(20), consent: null },
    });
    const revoked = await newRecord(dateIn(20));
    await call('bright_energy', 'DELETE', `/v1/access-records/${revoked}?reason=customer-request`);

    await r.svc.sweeper.run();
    expect(await expiring()).toHaveLength(0);

    await advanceDays(11); // 28.x days left (expiry is 00:00:00Z of its day): inside A's 30-day window only
    for (let i = 0; i < 3; i++) await r.svc.sweeper.run();
    expect((await expiring(A.wid)).map((d) => d.ak)).toEqual([ak]);
    expect(await expiring(B.wid)).toHaveLength(0);

    await advanceDays(23); // 5.x days left: B's window too
    for (let i = 0; i < 3; i++) await r.svc.sweeper.run();
    expect(await expiring(A.wid)).toHaveLength(1);
    expect((await expiring(B.wid)).map((d) => d.ak)).toEqual([ak]);
    expect(await expiring(C.wid)).toHaveLength(0);
    // Octopus's seeded record expires in 365 days: outside even a 90-day window.
    expect(await expiring(D.wid)).toHaveLength(0);
    for (const skipped of [noExpiry, publicTask, revoked]) expect((await expiring()).filter((d) => d.ak === skipped)).toHaveLength(0);

    await r.svc.delivery.runDue();
    const notices = (rc: Receiver) => rc.received.filter((g) => g.json['event-type'] === 'consent.expiring');
    expect(notices(wide)).toHaveLength(1);
    expect(notices(narrow)).toHaveLength(1);
    const got = notices(wide)[0];
    expect(got.headers['x-dar-event']).toBe('consent.expiring');
    expect(verifyStandardWebhook(A.secret, got.headers, got.raw)).toBe(true);
    const payload = got.json.payload;
    expect(Object.keys(payload).sort()).toEqual(['ak', 'days-remaining', 'duid', 'expiry', 'mpxn']);
    expect(payload).toEqual({ ak, mpxn: r.demo!.mpxn, duid: (await r.svc.accounts.get('bright_energy')).duid, expiry: `${dateIn(-34 + 40)}T00:00:00Z`, 'days-remaining': 28 });
    expect(notices(narrow)[0].json.payload['days-remaining']).toBe(5);

    // Past expiry: the record expires, no further notices.
    await advanceDays(7);
    const swept = await r.svc.sweeper.run();
    expect(swept.expiringQueued).toBe(0);
    expect(await expiring()).toHaveLength(2);
    expect(await r.svc.events.publishTo({ wid: A.wid, duid: (await r.svc.accounts.get('bright_energy')).duid }, 'consent.expiring', {}, ak)).toBeNull();
    await r.svc.delivery.runDue();
    expect(notices(wide)).toHaveLength(1);
    expect(notices(none)).toHaveLength(0);
    expect(other.received).toHaveLength(0);
  });

  it('a subscription created or widened later still gets its one notice for records already in the window', async () => {
    const { r, call, dateIn, newRecord, receiver, subscribe, expiring } = await setup();
    const rc = await receiver();
    const ak = await newRecord(dateIn(10));
    const { wid } = await subscribe('bright_energy', rc.url, { 'notify-days-before': 5 });
    await r.svc.sweeper.run();
    expect(await expiring(wid)).toHaveLength(0);
    await call('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, { 'notify-days-before': 15 });
    await r.svc.sweeper.run();
    await r.svc.sweeper.run();
    expect((await expiring(wid)).map((d) => d.ak)).toEqual([ak]);
  });

  it('processes large backlogs in batches', async () => {
    const { r, subscribe, audits, expiring } = await setup();
    const { wid } = await subscribe('bright_energy', 'https://bright-energy.example/hooks/batch', { 'notify-days-before': 30 });
    const duid = (await r.svc.accounts.get('bright_energy')).duid;
    const now = r.reg.clock.now().getTime();
    const iso = (ms: number) => new Date(ms).toISOString();
    const base = { kind: 'record', duid, mpxn: r.demo!.mpxn, legalBasis: 'uk-consent', dataTypes: ['HH-CONSUMPTION'], createdAt: iso(now), updatedAt: iso(now) };
    await r.reg.tx(() =>
      r.probe.insertRecords([
        ...Array.from({ length: 1201 }, (_, i) => ({ ...base, ak: newId('ak'), state: 'ACTIVE', expiry: iso(now - DAY - i * 1000), expiresAt: iso(now - DAY - i * 1000) })),
        ...Array.from({ length: 1050 }, (_, i) => ({ ...base, ak: newId('ak'), state: 'ACTIVE', expiry: iso(now + 10 * DAY + i * 1000), expiresAt: iso(now + 10 * DAY + i * 1000) })),
      ]),
    );
    const result = await r.svc.sweeper.run();
    expect(result.expired).toBe(1201);
    expect(result.expiringQueued).toBe(1050);
    expect(await audits('access-record.expired')).toHaveLength(1201);
    expect(await expiring(wid)).toHaveLength(1050);
    expect(await r.svc.sweeper.run()).toEqual({ expired: 0, discoveredExpired: 0, expiringQueued: 0 });
    const nowIso = r.reg.clock.iso();
    expect((await r.probe.records({ state: 'ACTIVE' })).filter((x) => x.expiresAt !== null && x.expiresAt <= nowIso)).toHaveLength(0);
  });

  it('uses the (state, expires_at) index for its expiry queries', async () => {
    const { r } = await setup();
    // A register's history: records EXPIRED long ago keep their past expiry, which an index on
    // the expiry alone would walk through on every sweep. (On the demo data alone PostgreSQL
    // prices the two indexes the same.)
    const duid = (await r.svc.accounts.get('bright_energy')).duid;
    const now = r.reg.clock.now().getTime();
    const iso = (ms: number) => new Date(ms).toISOString();
    const base = { kind: 'record', duid, mpxn: r.demo!.mpxn, legalBasis: 'uk-consent', dataTypes: ['HH-CONSUMPTION'], state: 'EXPIRED', createdAt: iso(now - 400 * DAY), updatedAt: iso(now) };
    await r.reg.tx(() => r.probe.insertRecords(Array.from({ length: 300 }, (_, i) => ({ ...base, ak: newId('ak'), expiry: iso(now - DAY - i * DAY), expiresAt: iso(now - DAY - i * DAY), expiredAt: iso(now - DAY - i * DAY) }))));
    const plan = await r.probe.planOf('expiry-sweep', r.reg.clock.iso());
    expect(plan, plan).toMatch(/access_records_expiry_idx/);
  });
});

describe('sandbox clock (GET/POST /v1/admin/clock)', () => {
  it('reports, advances and resets the clock; sweeps at once after a change', async () => {
    const { r, call, dateIn, newRecord, row } = await setup();
    const got = await call('admin_ops', 'GET', '/v1/admin/clock');
    expect(got.status).toBe(200);
    expect(Object.keys(got.body).sort()).toEqual(['mode', 'now', 'offset-ms', 'response']);
    expect(got.body).toMatchObject({ 'offset-ms': 0, mode: 'sandbox' });
    expect(Math.abs(new Date(got.body.now).getTime() - Date.now())).toBeLessThan(5000);

    const ak = await newRecord(dateIn(1));
    const advanced = await call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 3 * 86400 });
    expect(advanced.status).toBe(200);
    expect(advanced.body['offset-ms']).toBe(3 * DAY);
    expect(new Date(advanced.body.now).getTime() - Date.now()).toBeGreaterThan(3 * DAY - 5000);
    expect(advanced.body.response.timestamp).toBe(advanced.body.now);
    expect((await row(ak)).state).toBe('EXPIRED'); // swept as part of the change, no manual run

    const twice = await call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 60 });
    expect(twice.body['offset-ms']).toBe(3 * DAY + 60_000);
    const audit = await call('admin_ops', 'GET', '/v1/admin/audit?event-type=sandbox.clock-changed');
    expect(audit.body.events[0].detail).toMatchObject({ 'previous-offset-ms': 3 * DAY, 'offset-ms': 3 * DAY + 60_000, 'advance-seconds': 60 });

    const reset = await call('admin_ops', 'POST', '/v1/admin/clock', { reset: true });
    expect(reset.body['offset-ms']).toBe(0);
    expect(r.reg.clock.offset).toBe(0);

    for (const body of [{}, { 'advance-seconds': 0 }, { 'advance-seconds': -5 }, { 'advance-seconds': 'soon' }, { 'advance-seconds': 5, reset: true }, { reset: false }, { 'advance-seconds': 1.5 }]) {
      const res = await call('admin_ops', 'POST', '/v1/admin/clock', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0]['error-code']).toBe('VAL001');
    }
    for (const as of ['bright_energy', 'dcc_system']) expect((await call(as, 'POST', '/v1/admin/clock', { reset: true })).status).toBe(403);
  });

  it('runs the delivery scheduler at once after a change, so a retry due in a minute goes out now', async () => {
    const { r, call, newRecord, receiver, subscribe } = await setup({ webhookRetryScheduleMs: [60_000], webhookPollMs: 60_000 });
    r.svc.delivery.start();
    const rc = await receiver((n) => (n === 1 ? 503 : 200));
    await subscribe('bright_energy', rc.url);
    const ak = await newRecord(null);
    await call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=customer-request`);
    await rc.waitFor(1);
    // The failed attempt is recorded with its retry a minute away: at rest, the worker sends nothing more.
    await eventually(async () => (await r.probe.deliveries())[0].attempts === 1);
    expect(await r.svc.delivery.runDue()).toBe(0);
    expect(rc.received).toHaveLength(1);
    await call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 61 });
    const [first, second] = await rc.waitFor(2, 3000);
    expect(second.json['event-id']).toBe(first.json['event-id']);
  });

  it('is refused in production mode, where GET reports real time', async () => {
    const r = await testRegister({ mode: 'production', origin: 'https://register.example' });
    open.push(r);
    const call = r.call;
    const res = await call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 60 });
    expect(res.status).toBe(403);
    expect(res.body.errors[0]['error-code']).toBe('AUTH003');
    expect(res.body.errors[0].message).toMatch(/sandbox/);
    expect(r.reg.clock.offset).toBe(0);
    const got = await call('admin_ops', 'GET', '/v1/admin/clock');
    expect(got.body).toMatchObject({ mode: 'production', 'offset-ms': 0 });
  });
});
