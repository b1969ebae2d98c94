import { afterEach, describe, expect, it } from 'vitest';
import { consentBody, testRegister } from './support/register.js';
import { eventually, startReceiver } from './support/webhook-receiver.js';

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

describe('undelivered webhooks', () => {
  it('marks an event undelivered after the last retry and e-mails the alert-email', async () => {
    const r = await testRegister({ webhookRetryScheduleMs: [20, 20], webhookPollMs: 20 });
    open.push(r);
    r.svc.delivery.start();
    const rc = await startReceiver(() => 500);
    open.push(rc);
    const sub = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'webhook-alerts@bright-energy.example' });
    const wid = sub.body.webhook.wid;
    const created = await r.call('bright_energy', 'POST', '/v1/access-records', consentBody(r.demo!.ir));
    await r.call('bright_energy', 'DELETE', `/v1/access-records/${created.body['access-token'].key}?reason=customer-request`);

    const d = await eventually(async () => {
      const x = (await r.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${wid}`)).body.deliveries[0];
      return x?.status === 'undelivered' ? x : null;
    });
    expect(d.attempts).toBe(3);
    expect(d['next-attempt-at']).toBeNull();
    expect(d['last-status-code']).toBe(500);
    // No fourth attempt: with the worker stopped (requests in flight finished), nothing is due
    // any more, so the receiver's count is final; no waiting for what might still arrive.
    await r.svc.delivery.stop();
    expect(await r.svc.delivery.runDue()).toBe(0);
    expect(rc.received).toHaveLength(3);
    r.svc.delivery.start();
    expect(new Set(rc.received.map((g) => g.json['event-id'])).size).toBe(1);

    const outbox = await r.call('admin_ops', 'GET', '/v1/admin/outbox');
    expect(outbox.status).toBe(200);
    const alerts = outbox.body.messages.filter((m: { to: string }) => m.to === 'webhook-alerts@bright-energy.example');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toContain(d['event-id']);
    expect(alerts[0].subject).toContain('consent.withdrawal');
    expect(alerts[0].text).toContain(rc.url);
    expect(alerts[0].text).toContain('HTTP 500');
    expect(alerts[0].text).toContain(wid);
    expect(alerts[0].text).not.toMatch(/whsec_/);
    const row = (await r.probe.delivery(d['event-id']))!;
    expect(row.alertedAt).not.toBeNull();
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=webhook.undelivered');
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0].detail['event-id']).toBe(d['event-id']);

    // A redelivery that fails again alerts again (a fresh schedule), with the same event-id.
    expect((await r.call('admin_ops', 'POST', `/v1/admin/deliveries/${d['event-id']}/redeliver`)).status).toBe(200);
    await rc.waitFor(6);
    await eventually(async () => (await r.call('admin_ops', 'GET', `/v1/admin/deliveries?wid=${wid}`)).body.deliveries[0].status === 'undelivered');
    const again = (await r.call('admin_ops', 'GET', '/v1/admin/outbox')).body.messages.filter((m: { to: string }) => m.to === 'webhook-alerts@bright-energy.example');
    expect(again).toHaveLength(2);
    expect(new Set(rc.received.map((g) => g.json['event-id'])).size).toBe(1);
  });
});
