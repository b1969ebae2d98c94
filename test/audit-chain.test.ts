import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/server/config.js';
import { openDatabase } from '../src/server/db/open.js';
import { hmacHex } from '../src/server/lib/crypto.js';
import { writeNewKeyFile } from '../src/server/lib/keys.js';
import { testRegister, type TestRegister } from './support/register.js';
import { tempDir } from './support/temp-files.js';

/**
 * The audit chain (docs/security.md "Audit"): every event carries its own HMAC from commit, the
 * linker links events into the chain after commit, and an anchor names the chain's tip. These
 * tests tamper with the database directly, as someone who can write the file but does not hold
 * the key file could.
 */
const open: TestRegister[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
});

async function register(overrides: Parameters<typeof testRegister>[0] = {}, opts: Parameters<typeof testRegister>[1] = {}): Promise<TestRegister> {
  const r = await testRegister(overrides, opts);
  open.push(r);
  return r;
}

const verify = async (r: TestRegister) => (await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body;
const linkAll = (r: TestRegister) => r.svc.auditLinker.runOnce();
const newest = (r: TestRegister, n: number) => r.reg.sqlite!.prepare('select seq from audit_events order by seq desc limit ?').pluck().all(n) as number[];

/** 2n audited changes: greenswitch suspended and reactivated n times. */
async function someEvents(r: TestRegister, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/suspend', { reason: `test ${i}` })).status).toBe(200);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/greenswitch/reactivate')).status).toBe(200);
  }
}

describe('audit chain', () => {
  it('deleting the newest events is detected, linked or not, even with an older anchor put back', async () => {
    const r = await register();
    await someEvents(r, 3);
    await linkAll(r);
    expect(await verify(r)).toMatchObject({ intact: true, unlinked: 0 });
    const anchorBefore = r.reg.sqlite!.prepare("select value from settings where key = 'audit-anchor'").pluck().get();
    await someEvents(r, 2);
    await linkAll(r);
    expect(await verify(r)).toMatchObject({ intact: true, unlinked: 0 });

    // The newest 3 linked events go: the anchor names an event that is no longer there.
    const db = r.reg.sqlite!;
    const gone = newest(r, 3);
    const saved = db.prepare(`select * from audit_events where seq in (${gone.join(',')})`).all();
    db.prepare(`delete from audit_events where seq in (${gone.join(',')})`).run();
    const truncated = await verify(r);
    expect(truncated.intact).toBe(false);
    expect(truncated.reason).toMatch(/newest linked events are missing/);
    expect(truncated['first-broken-id']).toBe(Math.max(...gone));

    // Putting back an older, genuine anchor (with more events deleted to match it) is caught by
    // the database's own sequence: the newest id it handed out is gone.
    const anchorSeq = JSON.parse(anchorBefore as string).seq as number;
    db.prepare('delete from audit_events where seq > ?').run(anchorSeq);
    db.prepare("update settings set value = ? where key = 'audit-anchor'").run(anchorBefore);
    const replayed = await verify(r);
    expect(replayed.intact).toBe(false);
    expect(replayed.reason).toMatch(/newest events are missing/);

    // Unlinked newest events deleted: the same sequence check.
    const r2 = await register();
    await someEvents(r2, 2);
    const before = await verify(r2);
    expect(before).toMatchObject({ intact: true, linked: 0 });
    expect(before.unlinked).toBeGreaterThan(3);
    r2.reg.sqlite!.prepare(`delete from audit_events where seq in (${newest(r2, 2).join(',')})`).run();
    expect((await verify(r2)).intact).toBe(false);
    expect(saved.length).toBe(3);
  });

  it('editing an event is detected, before and after it is linked', async () => {
    const r = await register();
    await someEvents(r, 2);
    const [victim] = newest(r, 1);
    r.reg.sqlite!.prepare("update audit_events set detail = json_object('reason', 'nothing happened') where seq = ?").run(victim);
    expect(await verify(r)).toMatchObject({ intact: false, 'first-broken-id': victim, reason: 'event content does not match its hash' });

    const r2 = await register();
    await someEvents(r2, 2);
    await linkAll(r2);
    const target = r2.reg.sqlite!.prepare("select seq from audit_events where event_type = 'account.suspended' order by seq limit 1").pluck().get() as number;
    r2.reg.sqlite!.prepare("update audit_events set actor = 'someone_else' where seq = ?").run(target);
    expect(await verify(r2)).toMatchObject({ intact: false, 'first-broken-id': target });
    // Recomputing a plain SHA-256 or HMAC without the key does not help: the edited row's hash is still wrong.
    r2.reg.sqlite!.prepare('update audit_events set event_hash = ? where seq = ?').run(hmacHex(Buffer.alloc(32), 'guess'), target);
    expect((await verify(r2)).intact).toBe(false);
  });

  it('reordering events is detected: swapped rows, and swapped chain positions', async () => {
    const r = await register();
    await someEvents(r, 2);
    await linkAll(r);
    const db = r.reg.sqlite!;
    const [b, a] = newest(r, 2);
    const cols = ['at', 'actor', 'event_type', 'ak', 'ir', 'subject', 'detail', 'event_hash', 'prev_hash', 'hash'];
    const rowOf = (seq: number) => db.prepare(`select ${cols.join(', ')} from audit_events where seq = ?`).get(seq) as Record<string, unknown>;
    const put = (seq: number, row: Record<string, unknown>) => db.prepare(`update audit_events set ${cols.map((c) => `${c} = @${c}`).join(', ')} where seq = @seq`).run({ ...row, seq });
    const ra = rowOf(a);
    const rb = rowOf(b);
    put(a, rb);
    put(b, ra);
    expect(await verify(r)).toMatchObject({ intact: false, 'first-broken-id': a });
    put(a, ra);
    put(b, rb);
    expect((await verify(r)).intact).toBe(true);

    // The same two events exchanging their positions in the chain.
    const pos = (seq: number) => db.prepare('select link_seq from audit_events where seq = ?').pluck().get(seq) as number;
    const [pa, pb] = [pos(a), pos(b)];
    db.prepare('update audit_events set link_seq = -1 where seq = ?').run(a);
    db.prepare('update audit_events set link_seq = ? where seq = ?').run(pa, b);
    db.prepare('update audit_events set link_seq = ? where seq = ?').run(pb, a);
    expect((await verify(r)).intact).toBe(false);
  });

  it('a fresh event is linked within 2 s by the linker; verify reports what is still unlinked, and the API shows null hashes until then', async () => {
    const r = await register();
    await r.token('admin_ops'); // its sign-in is audited too
    await linkAll(r);
    await someEvents(r, 1);
    const pending = await verify(r);
    expect(pending).toMatchObject({ intact: true, unlinked: 2 });
    expect(pending.checked).toBe(pending.linked + 2);
    const listed = (await r.call('admin_ops', 'GET', '/v1/admin/audit?limit=3')).body.events;
    expect(listed[0]).toMatchObject({ hash: null, 'prev-hash': null });

    const started = Date.now();
    r.svc.auditLinker.start();
    let linked = false;
    while (!linked && Date.now() - started < 2000) {
      await new Promise((ok) => setTimeout(ok, 50));
      linked = (await verify(r)).unlinked === 0;
    }
    expect(linked).toBe(true);
    // Events written while the linker runs are linked too, within 2 s.
    await someEvents(r, 1);
    const written = Date.now();
    while ((await verify(r)).unlinked > 0 && Date.now() - written < 2500) await new Promise((ok) => setTimeout(ok, 50));
    expect(Date.now() - written).toBeLessThan(2000);
    const events = (await r.call('admin_ops', 'GET', '/v1/admin/audit?limit=3')).body.events;
    // Linked events keep the shape they always had: a hash, and the previous event's hash.
    expect(events[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(events[0]['prev-hash']).toBe(events[1].hash);
    expect(await verify(r)).toMatchObject({ intact: true, unlinked: 0, 'first-broken-id': null });
  });

  it('a register restarted with unlinked events links them', async () => {
    const dataDir = tempDir('dar-audit-');
    const r1 = await testRegister({ dataDir });
    await someEvents(r1, 2);
    const unlinked = (await verify(r1)).unlinked;
    expect(unlinked).toBeGreaterThan(4);
    await r1.close();

    const r2 = await register({ dataDir, workers: true, port: 0, auditLinkIntervalMs: 60_000 }, { seed: false });
    await r2.token('admin_ops'); // signing in is audited: one more event to link
    await r2.listen();
    // Linked at start, not at the next interval a minute later.
    const deadline = Date.now() + 2000;
    while ((await verify(r2)).unlinked > 0 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
    expect(await verify(r2)).toMatchObject({ intact: true, unlinked: 0 });
    expect((await verify(r2)).linked).toBeGreaterThanOrEqual(unlinked);
  });

  it('a chain written before linking existed is anchored on first use and still verifies', async () => {
    const r = await register({}, { seed: false });
    const db = r.reg.sqlite!;
    // As the previous version wrote them: hash over the previous hash and the content; the
    // migration gave them their id as chain position and marked the chain unanchored.
    const key = r.reg.keys.signingKey;
    let prev = '0'.repeat(64);
    for (let i = 1; i <= 5; i++) {
      const row = ['2026-01-01T00:00:00.000Z', 'admin_ops', 'account.updated', null, null, `acct${i}`, { n: i }] as const;
      const hash = hmacHex(key, JSON.stringify([prev, ...row]));
      db.prepare('insert into audit_events (seq, at, actor, event_type, ak, ir, subject, detail, prev_hash, hash, link_seq) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        i,
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        JSON.stringify(row[6]),
        prev,
        hash,
        i,
      );
      prev = hash;
    }
    db.prepare("insert into settings (key, value, updated_at) values ('audit-anchor', 'unanchored', '2026-01-01T00:00:00.000Z')").run();
    expect(await r.reg.audit.verify()).toMatchObject({ intact: true, linked: 5 });
    await r.reg.tx(() => r.reg.audit.append({ actor: 'admin_ops', eventType: 'account.updated', subject: 'acct6' }));
    await linkAll(r);
    expect(await r.reg.audit.verify()).toMatchObject({ intact: true, linked: 6, unlinked: 0 });
    expect(JSON.parse(db.prepare("select value from settings where key = 'audit-anchor'").pluck().get() as string)).toMatchObject({ link: 6, seq: 6 });
    // Now anchored: the newest event cannot go unnoticed any more.
    db.prepare('delete from audit_events where seq = 6').run();
    expect((await r.reg.audit.verify()).intact).toBe(false);
  });

  it('snapshots and reset keep the chain verifiable: a restore brings back chain and anchor, a reset starts a fresh anchored chain', async () => {
    const r = await register();
    await someEvents(r, 1);
    await linkAll(r);
    const saved = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name: 'before' });
    expect(saved.status).toBe(201);
    await someEvents(r, 1);
    await linkAll(r);
    expect((await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${saved.body.id}/restore`)).status).toBe(200);
    expect(await verify(r)).toMatchObject({ intact: true });
    await linkAll(r);
    expect(await verify(r)).toMatchObject({ intact: true, unlinked: 0 });

    expect((await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'empty' })).status).toBe(200);
    expect(await verify(r)).toMatchObject({ intact: true, linked: 0 });
    await linkAll(r);
    const fresh = await verify(r);
    expect(fresh).toMatchObject({ intact: true, unlinked: 0 });
    expect(fresh.linked).toBeGreaterThan(0);
    // Deleting every event and the anchor does not pass for a reset: the ids handed out before are missing.
    r.reg.sqlite!.prepare('delete from audit_events').run();
    r.reg.sqlite!.prepare("delete from settings where key = 'audit-anchor'").run();
    expect(await r.reg.audit.verify()).toMatchObject({ intact: false });
  });

  it('upgrading: a chain written by the previous version (ids starting above 1 after a reset) is migrated, anchored on first start, and verifies', async () => {
    const dataDir = tempDir('dar-audit-upgrade-');
    // The previous version's schema: the migrations before the one that introduced linking.
    const oldMigrations = tempDir('dar-audit-migrations-');
    cpSync(resolve(PROJECT_ROOT, 'drizzle'), oldMigrations, { recursive: true });
    const journalFile = join(oldMigrations, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] };
    const linking = journal.entries.findIndex((e) => /cluster_mechanics$/.test(e.tag));
    expect(linking).toBeGreaterThan(0);
    for (const later of journal.entries.splice(linking)) rmSync(join(oldMigrations, `${later.tag}.sql`));
    writeFileSync(journalFile, JSON.stringify(journal));
    const keys = writeNewKeyFile(join(dataDir, 'register.keys.json'));
    const { sqlite } = openDatabase(join(dataDir, 'register.sqlite'), oldMigrations);
    // As the previous version wrote them, after a sandbox reset had emptied ids 1-4.
    let prev = '0'.repeat(64);
    const insert = sqlite.prepare('insert into audit_events (seq, at, actor, event_type, ak, ir, subject, detail, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (let seq = 5; seq <= 9; seq++) {
      const row = ['2026-01-01T00:00:00.000Z', 'admin_ops', 'account.updated', null, null, `acct${seq}`, { n: seq }] as const;
      const hash = hmacHex(keys.signingKey, JSON.stringify([prev, ...row]));
      insert.run(seq, row[0], row[1], row[2], row[3], row[4], row[5], JSON.stringify(row[6]), prev, hash);
      prev = hash;
    }
    sqlite.close();

    const r = await register({ dataDir, workers: true, port: 0 }, { seed: false });
    expect(await r.reg.audit.verify()).toMatchObject({ intact: true, linked: 5, unlinked: 0 });
    await r.listen();
    await r.reg.tx(() => r.reg.audit.append({ actor: 'admin_ops', eventType: 'account.updated', subject: 'acct10' }));
    await linkAll(r);
    expect(await r.reg.audit.verify()).toMatchObject({ intact: true, linked: 6, unlinked: 0 });
    r.reg.sqlite!.prepare('delete from audit_events where seq = 10').run();
    expect((await r.reg.audit.verify()).intact).toBe(false);
  });
});

describe('audit chain: the linker never links over a hole, and a stalled linker is reported', () => {
  it('an unlinked event deleted from the middle stays detected after the linker runs', async () => {
    const r = await register();
    await someEvents(r, 3);
    expect((await verify(r)).intact).toBe(true);
    const db = r.reg.sqlite!;
    const [, , victim] = newest(r, 3);
    db.prepare('delete from audit_events where seq = ?').run(victim);
    expect(await verify(r)).toMatchObject({ intact: false, 'first-broken-id': victim + 1 });
    // Linking over the hole would make the chain whole again and hide the deletion for good.
    await linkAll(r);
    const after = await verify(r);
    expect(after.intact).toBe(false);
    expect(after.reason).toMatch(/missing/);
  });

  it('a sqlite_sequence moved forward stays reported after more events are written and linked', async () => {
    const r = await register();
    await someEvents(r, 1);
    await linkAll(r);
    r.reg.sqlite!.prepare("update sqlite_sequence set seq = seq + 3 where name = 'audit_events'").run();
    expect((await verify(r)).reason).toMatch(/newest events are missing/);
    await someEvents(r, 1);
    await linkAll(r);
    const v = await verify(r);
    expect(v.intact).toBe(false);
    expect(v.reason).toMatch(/missing/);
  });

  it('a planted "unanchored" marker that stops the linker is reported by verify, not shown as intact', async () => {
    const r = await register();
    await someEvents(r, 2);
    await linkAll(r);
    const db = r.reg.sqlite!;
    db.prepare("update settings set value = 'unanchored' where key = 'audit-anchor'").run();
    await someEvents(r, 1);
    await linkAll(r);
    const v = await verify(r);
    expect(v.unlinked).toBeGreaterThan(0);
    expect(v.intact).toBe(false);
    expect(v.reason).toMatch(/unanchored/);
  });
});
