import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegisterConfig } from '../src/server/config.js';
import { Customer, linkFromOutbox } from './support/customer.js';
import { testRegister, type TestRegister } from './support/register.js';
import { tempDir } from './support/temp-files.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { startReceiver, type Behaviour } from './support/webhook-receiver.js';

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

async function setup(overrides: Partial<RegisterConfig> = {}, seed = true): Promise<TestRegister> {
  const r = await testRegister(overrides, { seed });
  open.push(r);
  return r;
}
async function receiver(b?: Behaviour) {
  const rc = await startReceiver(b);
  open.push(rc);
  return rc;
}
const snapshot = async (r: TestRegister, name: string) => {
  const res = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; name: string; 'created-at': string; 'size-bytes': number };
};
const restore = async (r: TestRegister, id: string) => {
  const res = await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${id}/restore`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};
const verify = async (r: TestRegister) => (await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body;
/**
 * Holds the next commit on its way to the disk: `reached` resolves once work waits there (and
 * from then on the register commits through the real path again); `release()` lets it through.
 */
function holdDurability(r: TestRegister): { reached: Promise<void>; release: () => void } {
  const realDurable = r.reg.durability.durable.bind(r.reg.durability);
  let release!: () => void;
  let arrived!: () => void;
  const gate = new Promise<void>((ok) => (release = ok));
  const reached = new Promise<void>((ok) => (arrived = ok)).then(() => {
    r.reg.durability.durable = realDurable;
  });
  r.reg.durability.durable = async () => {
    arrived();
    await gate;
    return realDurable();
  };
  return { reached, release };
}

/** Every table's rows (but the audit events appended since), for an exact comparison. */
// The admin search index is derived from access_records and rebuilt by a restore, so its
// storage may be laid out differently: everyRow leaves it out; `searched` compares what it finds instead.
const dump = (r: TestRegister): Promise<Record<string, any[]>> => r.probe.everyRow();
/** What the admin search finds for a few fragments (MPxN, purpose, organisation name). */
const searched = async (r: TestRegister) => {
  const out: Record<string, string[]> = {};
  for (const q of [r.demo!.mpxn.slice(2, 9), 'billing', 'energy', 'acme']) {
    const res = await r.call('admin_ops', 'GET', `/v1/admin/records?q=${encodeURIComponent(q)}&limit=200`);
    expect(res.status).toBe(200);
    out[q] = (res.body.records as { ak: string }[]).map((x) => x.ak).sort();
  }
  return out;
};

describe('sandbox snapshots', () => {
  it('a snapshot taken mid-flow and restored: the pending token is pending again, and the audit chain verifies', async () => {
    const r = await setup();
    const ir = r.demo!.ir;
    const start = await r.call('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'magic-link' });
    const ref = start.body['magic-link']['token-ref'] as string;
    const link = await linkFromOutbox(r, ref);
    const status = async () => (await r.call('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`)).body.status;
    expect(await status()).toBe('pending');

    const snap = await snapshot(r, 'before confirming');
    expect(snap).toMatchObject({ id: expect.stringMatching(/^snap_[0-9a-f]{24}$/), name: 'before confirming', 'created-at': expect.stringMatching(/Z$/) });
    expect(snap['size-bytes']).toBeGreaterThan(4096);

    // The customer confirms; the clock moves a day; more records and audit events pile up.
    const c = new Customer(r);
    const csrf = Customer.csrfField((await c.get(link)).body)!;
    expect((await c.request('POST', link, { form: { csrf } })).status).toBe(200);
    expect(await status()).toBe('confirmed');
    expect((await r.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 86400 })).status).toBe(200);
    const afterAudit = (await verify(r)).checked as number;

    const res = await restore(r, snap.id);
    expect(res.restored).toMatchObject({ id: snap.id, name: 'before confirming' });
    expect(res['offset-ms']).toBe(0);
    expect(await status()).toBe('pending');
    const chain = await verify(r);
    expect(chain).toMatchObject({ intact: true, 'first-broken-id': null });
    expect(chain.checked).toBeLessThan(afterAudit);
    // The restore itself is the newest event of the restored chain, as the administrator.
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?limit=1');
    expect(audit.body.events[0]).toMatchObject({ actor: 'admin_ops', 'event-type': 'sandbox.snapshot-restored' });
    // The restored link works again: the customer can confirm once more.
    const again = new Customer(r);
    const csrf2 = Customer.csrfField((await again.get(link)).body)!;
    expect((await again.request('POST', link, { form: { csrf: csrf2 } })).status).toBe(200);
    expect(await status()).toBe('confirmed');
    expect((await verify(r)).intact).toBe(true);
  });

  it('takes every table back exactly: records, counters, outbox, deliveries, AUTOINCREMENT sequences and the clock offset', async () => {
    const r = await setup();
    const rc = await receiver(() => 500);
    const sub = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'alerts@bright-energy.example' });
    expect(sub.status).toBe(201);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 3600 })).status).toBe(200);
    const before = await dump(r);
    const foundBefore = await searched(r);
    expect(Object.values(foundBefore).flat().length).toBeGreaterThan(0);
    const stats = (await r.call('admin_ops', 'GET', '/v1/admin/stats')).body;
    const statsEvents = stats['audit-events'] as number;
    for (const k of ['response', 'now', 'audit-events']) delete stats[k];
    const snap = await snapshot(r, 'baseline');
    const beforeSnapshotEvent = before.audit_events.length;

    // Change everything: a change of tenancy (records ended, deliveries queued and attempted), mail, the clock.
    expect((await r.call('admin_ops', 'POST', '/v1/admin/sandbox/cot-events', { mpxn: r.demo!.mpxn, 'effective-date': '2026-12-01', 'source-reference': 'SNAP-COT-1' })).status).toBe(201);
    await r.svc.delivery.runDue();
    expect(rc.received.length).toBeGreaterThan(0);
    await r.call('bright_energy', 'POST', `/v1/identity-records/${r.demo!.ir}/re-identify`, { method: 'magic-link' });
    expect((await r.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 7 * 86400 })).status).toBe(200);
    expect(await dump(r)).not.toEqual(before);

    const res = await restore(r, snap.id);
    expect(res['offset-ms']).toBeGreaterThanOrEqual(3600_000);
    expect(res['offset-ms']).toBeLessThan(3600_000 + 60_000);
    expect(r.reg.clock.offset).toBe(res['offset-ms']);
    const after = await dump(r);
    // Identical, but for the audit events appended by the snapshot and the restore themselves.
    expect(after.audit_events.slice(0, beforeSnapshotEvent)).toEqual(before.audit_events);
    // (The snapshot holds its own "saved" event: the restored chain says where it came from.)
    expect(after.audit_events.slice(beforeSnapshotEvent).map((e: any) => e.event_type)).toEqual(['sandbox.snapshot-saved', 'sandbox.snapshot-restored']);
    for (const t of Object.keys(before).filter((t) => t !== 'audit_events' && t !== 'sqlite_sequence')) expect(after[t], t).toEqual(before[t]);
    const seq = (d: Record<string, any[]>) => d.sqlite_sequence.filter((s) => s.name !== 'audit_events');
    expect(seq(after)).toEqual(seq(before));
    expect(await searched(r)).toEqual(foundBefore);
    const statsAfter = (await r.call('admin_ops', 'GET', '/v1/admin/stats')).body;
    for (const k of ['response', 'now']) delete statsAfter[k];
    expect(statsAfter['audit-events']).toBe(statsEvents + 2);
    delete statsAfter['audit-events'];
    expect(statsAfter).toEqual(stats);
    expect((await verify(r)).intact).toBe(true);
  });

  it('work queued from before the restore is not sent afterwards, nor recorded into the restored state', async () => {
    const r = await setup({ webhookRetryScheduleMs: [60_000], webhookTimeoutMs: 3000 });
    const rc = await receiver(() => 'hang');
    const sub = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': rc.url, 'alert-email': 'alerts@bright-energy.example' });
    const wid = sub.body.webhook.wid as string;
    const duid = (await r.svc.accounts.get('bright_energy')).duid;

    // 1. An event in flight when the snapshot is restored: the receiver got it, but its outcome is not recorded.
    await r.svc.events.publishTo({ wid, duid }, 'consent.withdrawal', { n: 1 });
    const snap = await snapshot(r, 'one pending event');
    const [pending] = await r.probe.deliveries({ wid });
    expect(pending.status).toBe('pending');
    r.svc.delivery.start();
    await rc.waitFor(1);
    await restore(r, snap.id);
    // stop() returns once every delivery in flight has ended (the aborted one too): any
    // outcome it were to record is written by then.
    await r.svc.delivery.stop();
    const row = (await r.probe.delivery(pending.eventId))!;
    // As the snapshot holds it: no attempt, pending, due (the aborted request is not counted).
    expect(row.attempts).toBe(0);
    expect(await r.probe.attempts(pending.eventId)).toHaveLength(0);

    // 2. A delivery claimed but not yet sent (waiting for its commit to reach the disk) when the state is replaced: never sent.
    const sent = rc.received.length;
    const clean = await snapshot(r, 'nothing queued');
    const held = holdDurability(r);
    await r.svc.events.publishTo({ wid, duid }, 'consent.withdrawal', { n: 2 });
    const queued = r.svc.delivery.runDue();
    await held.reached;
    // (restore answers through the real durability; the claimed delivery still waits on the gate)
    await restore(r, clean.id);
    held.release();
    await queued;
    await r.svc.delivery.runDue(); // at rest: whatever the restored state has due has gone out
    // (The restored state's own pending event from step 1 is due, and is delivered as it says.)
    expect(rc.received.length).toBeGreaterThanOrEqual(sent);
    expect(rc.received.filter((g) => g.json.payload.n === 2)).toHaveLength(0);
    expect((await r.probe.deliveries({ wid })).filter((d) => d.eventId !== pending.eventId)).toHaveLength(0);
  });

  it('an e-mail leased before the restore is not sent afterwards; the restored outbox is as saved', async () => {
    const sink = await startSmtpSink();
    open.push(sink);
    const r = await setup({ smtpUrl: sink.url });
    const clean = await snapshot(r, 'no mail yet');
    const id = await r.reg.tx(() => r.svc.mail.queue({ to: 'late@example.org', subject: 'Queued before the restore', text: 'x', html: '<p>x</p>', purpose: 'test' }));
    const held = holdDurability(r);
    // The worker leases the message and waits for its commit to reach the disk…
    const pass = r.svc.mail.processDue();
    await held.reached;
    // …while the register is taken back to before it was queued.
    await restore(r, clean.id);
    held.release();
    await pass;
    await r.svc.mail.processDue(); // at rest: nothing of the restored outbox is due
    expect(sink.received).toHaveLength(0);
    expect(await r.svc.mail.find(id)).toBeUndefined();
  });

  it('keeps files 0600 in the data folder under snapshots/, lists newest first, deletes; bad names and ids are 4xx in the envelope', async () => {
    const data = tempDir('dar-snapshots-');
    const r = await setup({ dataDir: data });
    const a = await snapshot(r, 'first');
    const b = await snapshot(r, 'second-one_v1.2');
    const dir = join(data, 'snapshots');
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    const files = readdirSync(dir).sort();
    expect(files).toEqual([`${a.id}.json`, `${a.id}.sqlite`, `${b.id}.json`, `${b.id}.sqlite`].sort());
    for (const f of files) expect((statSync(join(dir, f)).mode & 0o777).toString(8), f).toBe('600');
    expect(statSync(join(dir, `${a.id}.sqlite`)).size).toBe(a['size-bytes']);
    // Restoring reads the file in place and leaves nothing behind (no -wal/-shm).
    await restore(r, b.id);
    expect(readdirSync(dir).sort()).toEqual(files);

    const list = await r.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots');
    expect(list.status).toBe(200);
    expect(list.body.snapshots.map((s: { id: string }) => s.id)).toEqual([b.id, a.id]);
    expect(list.body.location).toBe(dir);

    for (const body of [{}, { name: '' }, { name: '../etc/passwd' }, { name: 'x'.repeat(65) }, { name: 3 }, { name: 'ok', extra: 1 }]) {
      const res = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0]['error-code']).toMatch(/^VAL/);
    }
    const dup = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name: 'first' });
    expect(dup.status).toBe(409);
    expect(dup.body.errors[0]['error-code']).toBe('CON001');
    for (const id of ['nope', '..%2F..%2Fregister', 'snap_XYZ']) expect((await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${id}/restore`)).status, id).toBe(400);
    const missing = await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/snap_${'0'.repeat(24)}/restore`);
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0]['error-code']).toBe('NOT001');
    expect((await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'full' })).status).toBe(400);
    expect((await r.call('bright_energy', 'GET', '/v1/admin/sandbox/snapshots')).status).toBe(403);

    expect((await r.call('admin_ops', 'DELETE', `/v1/admin/sandbox/snapshots/${a.id}`)).status).toBe(200);
    expect(existsSync(join(dir, `${a.id}.sqlite`))).toBe(false);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots')).body.snapshots).toHaveLength(1);
  });

  it('an in-memory register keeps its snapshots in a temporary folder removed when it stops', async () => {
    const r = await testRegister();
    await snapshot(r, 'temp');
    const location = (r.svc.snapshots as unknown as { folder: string }).folder;
    expect(readdirSync(location)).toHaveLength(2);
    await r.close();
    expect(existsSync(location)).toBe(false);
  });

  it('reset to empty keeps the accounts (sign-in works) and nothing else; reset to demo loads the demo data; both audited on a valid chain', async () => {
    const r = await setup();
    expect((await r.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 3600 })).status).toBe(200);
    const empty = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'empty' });
    expect(empty.status, JSON.stringify(empty.body)).toBe(200);
    expect(empty.body).toMatchObject({ seed: 'empty', 'offset-ms': 0 });
    expect((await r.call('admin_ops', 'GET', '/v1/admin/records')).body.total ?? 0).toBe(0);
    expect(await r.probe.identityCount()).toBe(0);
    expect(await r.probe.accountCount()).toBeGreaterThan(5);
    const chain = await verify(r);
    expect(chain).toMatchObject({ intact: true, checked: 1 });

    const demo = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'demo' });
    expect(demo.status).toBe(200);
    expect(await r.probe.identityCount()).toBe(1);
    expect((await r.call('bright_energy', 'GET', '/v1/records')).status).toBe(200);
    const audit = await r.call('admin_ops', 'GET', '/v1/admin/audit?event-type=sandbox.reset');
    expect(audit.body.events.map((e: { detail: unknown }) => e.detail)).toEqual([{ seed: 'demo' }]);
    expect(audit.body.events[0]).toMatchObject({ actor: 'admin_ops' });
    expect((await verify(r)).intact).toBe(true);
  });

  it('production: every snapshot route and reset is 403 AUTH003 before the body is looked at', async () => {
    const r = await setup({ mode: 'production', origin: 'https://register.example' });
    const calls: [string, string, unknown?][] = [
      ['GET', '/v1/admin/sandbox/snapshots'],
      ['POST', '/v1/admin/sandbox/snapshots', { name: 'x' }],
      ['POST', '/v1/admin/sandbox/snapshots', { nonsense: true }],
      ['POST', `/v1/admin/sandbox/snapshots/snap_${'0'.repeat(24)}/restore`],
      ['DELETE', `/v1/admin/sandbox/snapshots/snap_${'0'.repeat(24)}`],
      ['POST', '/v1/admin/sandbox/reset', { seed: 'empty' }],
    ];
    for (const [method, url, body] of calls) {
      const res = await r.call('admin_ops', method, url, body);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.errors[0]['error-code']).toBe('AUTH003');
    }
  });

  it('documents the snapshot routes in the served OpenAPI', async () => {
    const r = await setup();
    const doc = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(doc.paths['/v1/admin/sandbox/snapshots'].post.responses['201']).toBeDefined();
    expect(doc.paths['/v1/admin/sandbox/snapshots'].get).toBeDefined();
    expect(doc.paths['/v1/admin/sandbox/snapshots/{id}/restore'].post).toBeDefined();
    expect(JSON.stringify(doc.paths['/v1/admin/sandbox/reset'].post.requestBody)).toContain('empty');
    expect(JSON.stringify(doc.paths['/v1/admin/sandbox/snapshots'].post.responses['201'])).toContain('size-bytes');
  });
});
