import { afterEach, describe, expect, it } from 'vitest';
import type { RegisterConfig } from '../src/server/config.js';
import { issueToken } from '../src/server/http/auth.js';
import { consentBody, testRegister } from './support/register.js';
import { eventually, startReceiver, type Behaviour } from './support/webhook-receiver.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

async function setup(overrides: Partial<RegisterConfig> = {}) {
  const r = await testRegister(overrides);
  open.push(r);
  // Tokens are minted at the register's current (possibly advanced) time, so they stay valid.
  const call = async (as: string | null, method: string, url: string, body?: unknown) => r.call(null, method, url, body, as ? { authorization: `Bearer ${await issueToken(r.reg, await r.svc.accounts.get(as))}` } : {});
  const receiver = async (b?: Behaviour) => {
    const rc = await startReceiver(b);
    open.push(rc);
    return rc;
  };
  const subscribe = async (url: string, extra: Record<string, unknown> = {}) => {
    const res = await call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': 'alerts@bright-energy.example', ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.webhook.wid as string;
  };
  const newRecord = async (expiry: string | null) => {
    const body = consentBody(r.demo!.ir);
    body['access-event'].expiry = expiry;
    const res = await call('bright_energy', 'POST', '/v1/access-records', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body['access-token'].key as string;
  };
  const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
  return { r, call, receiver, subscribe, newRecord, iso };
}

describe('sandbox clock: set to an instant and catch up', () => {
  it('setting the clock 27 hours ahead runs all five retries (1 min, 5 min, 30 min, 2 h, 24 h apart) and the alert e-mail in one call', async () => {
    // The published schedule (config default), a real receiver on 127.0.0.1 that always fails.
    const { r, call, receiver, subscribe, newRecord, iso } = await setup();
    r.svc.delivery.start();
    const rc = await receiver(() => 500);
    const wid = await subscribe(rc.url);
    const ak = await newRecord(null);
    expect((await call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=customer-request`)).status).toBe(200);
    await rc.waitFor(1);
    await eventually(async () => (await r.probe.deliveries({ wid }))[0]?.attempts === 1);

    const target = r.reg.clock.now().getTime() + 27 * HOUR;
    const res = await call('admin_ops', 'POST', '/v1/admin/clock', { set: iso(target) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Everything happened inside that one call: no waiting afterwards.
    expect(rc.received).toHaveLength(6);
    expect(new Set(rc.received.map((g) => g.json['event-id'])).size).toBe(1);
    expect(res.body.ran).toMatchObject({ steps: 5, 'webhook-attempts': 5, capped: false });
    expect(Math.abs(Date.parse(res.body.now) - target)).toBeLessThan(5000);

    const row = (await r.probe.deliveries({ wid }))[0];
    expect(row.status).toBe('undelivered');
    const log = await r.probe.attempts(row.eventId);
    expect(log).toHaveLength(6);
    // Each retry went out at its own due instant on the register's clock, one after another.
    const gaps = log.slice(1).map((a, i) => Date.parse(a.at) - Date.parse(log[i].at));
    const expected = [MIN, 5 * MIN, 30 * MIN, 2 * HOUR, 24 * HOUR];
    gaps.forEach((g, i) => {
      expect(g, `gap ${i + 1}`).toBeGreaterThanOrEqual(expected[i]);
      expect(g, `gap ${i + 1}`).toBeLessThan(expected[i] + 5000);
    });

    const outbox = await call('admin_ops', 'GET', '/v1/admin/outbox');
    const alerts = outbox.body.messages.filter((m: { to: string }) => m.to === 'alerts@bright-energy.example');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toContain(row.eventId);
  });

  it('the advance form steps through due retries too, and ends at exactly the requested offset', async () => {
    const { r, call, receiver, subscribe, newRecord } = await setup({ webhookRetryScheduleMs: [MIN, 5 * MIN, 30 * MIN] });
    const rc = await receiver((n) => (n < 4 ? 503 : 200));
    await subscribe(rc.url);
    const ak = await newRecord(null);
    await call('bright_energy', 'DELETE', `/v1/access-records/${ak}?reason=customer-request`);
    const res = await call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 3600 });
    expect(res.status).toBe(200);
    expect(res.body['offset-ms']).toBe(HOUR);
    expect(rc.received).toHaveLength(4);
    expect(res.body.ran).toMatchObject({ 'webhook-attempts': 4, steps: 3 });
    expect((await r.probe.deliveries())[0].status).toBe('delivered');
  });

  it('queues a consent.expiring notice when the record enters the window, delivers it then, and expires the record later, in order', async () => {
    const { r, call, receiver, subscribe, newRecord, iso } = await setup();
    const rc = await receiver(() => 200);
    const wid = await subscribe(rc.url, { 'notify-days-before': 7, 'event-types': ['consent.expiring'] });
    const expiryDay = new Date(r.reg.clock.now().getTime() + 20 * DAY).toISOString().slice(0, 10);
    const ak = await newRecord(expiryDay);
    const expiresAt = Date.parse(`${expiryDay}T00:00:00Z`);

    const res = await call('admin_ops', 'POST', '/v1/admin/clock', { set: iso(r.reg.clock.now().getTime() + 30 * DAY) });
    expect(res.status).toBe(200);
    expect(res.body.ran).toMatchObject({ 'expiring-notices-queued': 1, 'records-expired': 1, 'webhook-attempts': 1 });
    const notice = (await r.probe.deliveries({ wid }))[0];
    // Queued and sent when the window opened (7 days before expiry), not at the target.
    expect(Math.abs(Date.parse(notice.occurredAt) - (expiresAt - 7 * DAY))).toBeLessThan(5000);
    expect(Math.abs(Date.parse(notice.deliveredAt!) - (expiresAt - 7 * DAY))).toBeLessThan(5000);
    // The sweep runs a few milliseconds into the window: 7 days less those milliseconds, floored.
    expect([6, 7]).toContain(rc.received[0].json.payload['days-remaining']);
    const rec = (await r.probe.record(ak))!;
    expect(rec.state).toBe('EXPIRED');
  });

  it('only moves forward: an earlier instant is 409 CON001 with a clear message; bad input is 400; production is 403', async () => {
    const { r, call, iso } = await setup();
    const now = r.reg.clock.now().getTime();
    const back = await call('admin_ops', 'POST', '/v1/admin/clock', { set: iso(now - HOUR) });
    expect(back.status).toBe(409);
    expect(back.body.errors[0]['error-code']).toBe('CON001');
    expect(back.body.errors[0].message).toMatch(/only moves forward/);
    expect(r.reg.clock.offset).toBe(0);
    for (const body of [{ set: 'tomorrow' }, { set: iso(now + 11 * 366 * DAY) }, { set: iso(now + HOUR), 'advance-seconds': 60 }, { set: iso(now + HOUR), reset: true }]) {
      const res = await call('admin_ops', 'POST', '/v1/admin/clock', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0]['error-code']).toBe('VAL001');
    }
    // Any offset form is accepted and stored as UTC.
    const ok = await call('admin_ops', 'POST', '/v1/admin/clock', { set: '2030-01-01T01:00:00+01:00' });
    expect(ok.status).toBe(200);
    expect(ok.body.now.slice(0, 16)).toBe('2030-01-01T00:00');
    const audit = await call('admin_ops', 'GET', '/v1/admin/audit?event-type=sandbox.clock-changed');
    expect(audit.body.events[0].detail).toMatchObject({ set: '2030-01-01T00:00:00Z', 'previous-offset-ms': 0 });

    const p = await testRegister({ mode: 'production', origin: 'https://register.example' });
    open.push(p);
    const refused = await p.call('admin_ops', 'POST', '/v1/admin/clock', { set: '2099-01-01T00:00:00Z' });
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0]['error-code']).toBe('AUTH003');
    // Refused before the body is looked at.
    expect((await p.call('admin_ops', 'POST', '/v1/admin/clock', { set: 'nonsense' })).status).toBe(403);
  });

  it('documents set and the 409 in the served OpenAPI', async () => {
    const { r } = await setup();
    const doc = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const op = doc.paths['/v1/admin/clock'].post;
    expect(JSON.stringify(op.requestBody)).toContain('"set"');
    expect(op.responses['409']).toBeDefined();
    expect(JSON.stringify(op.responses['200'])).toContain('webhook-attempts');
  });
});
