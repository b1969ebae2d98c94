import { closeSync, copyFileSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegisterConfig } from '../src/server/config.js';
import { TEST_ENGINE, testRegister, type TestRegister } from './support/register.js';
import { tempDir } from './support/temp-files.js';

/**
 * A careless or hostile operator against the sandbox tools: damaged snapshot files, racing
 * saves, and the sandbox-only outbox search on a production register.
 */
let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});
/**
 * Snapshots are copies of the SQLite file: a test of their files gets a data folder, so a SQLite
 * register whatever the pass, and is run in the SQLite pass only.
 */
const onSqliteFiles = it.skipIf(TEST_ENGINE === 'postgres');
async function setup(overrides: Partial<RegisterConfig> = {}): Promise<TestRegister> {
  const r = await testRegister(overrides, { seed: true });
  open.push(r);
  return r;
}
const snapshot = async (r: TestRegister, name: string) => {
  const res = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
};
const recordCount = (r: TestRegister) => r.probe.recordCount();

describe('damaged snapshot files', () => {
  onSqliteFiles('a truncated, overwritten, emptied or foreign file is refused with 409 CON001, never a 5xx, and the register is untouched', async () => {
    const data = tempDir('dar-snapshots-hostile-');
    const r = await setup({ dataDir: data });
    const dir = join(data, 'snapshots');
    const damage: Record<string, (file: string) => void> = {
      truncated: (f) => truncateSync(f, 100_000),
      emptied: (f) => writeFileSync(f, ''),
      garbage: (f) => writeFileSync(f, Buffer.alloc(8192, 0x41)),
      // A few pages in the middle overwritten: SQLite may still read it, the data is not the saved data.
      'pages overwritten': (f) => {
        const fd = openSync(f, 'r+');
        writeSync(fd, Buffer.alloc(4096 * 3, 0x5a), 0, 4096 * 3, 4096 * 8);
        closeSync(fd);
      },
    };
    const before = await recordCount(r);
    for (const [name, spoil] of Object.entries(damage)) {
      const s = await snapshot(r, name);
      spoil(join(dir, `${s.id}.sqlite`));
      const res = await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${s.id}/restore`);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(409);
      expect(res.body.errors[0]['error-code']).toBe('CON001');
      expect(res.body.errors[0].message).toMatch(/damaged|changed/i);
      // Still listed (so it can be deleted), and deleting it works.
      expect((await r.call('admin_ops', 'DELETE', `/v1/admin/sandbox/snapshots/${s.id}`)).status).toBe(200);
    }
    expect(await recordCount(r)).toBe(before);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
  });

  onSqliteFiles('a description file that does not describe its snapshot (edited, copied from another) is not listed as it, nor restored', async () => {
    const data = tempDir('dar-snapshots-hostile-');
    const r = await setup({ dataDir: data });
    const dir = join(data, 'snapshots');
    const a = await snapshot(r, 'a');
    const b = await snapshot(r, 'b');
    // b's description replaced by a's: the listing must not show a's id twice (nor a 500).
    writeFileSync(join(dir, `${b.id}.json`), readFileSync(join(dir, `${a.id}.json`)));
    let list = await r.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots');
    expect(list.status).toBe(200);
    expect(list.body.snapshots.map((s: { id: string }) => s.id)).toEqual([a.id]);
    expect((await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${b.id}/restore`)).status).toBe(404);
    // Valid JSON that is no description at all.
    for (const junk of ['{}', '[]', '"x"', '{"id":1}']) {
      writeFileSync(join(dir, `${b.id}.json`), junk);
      list = await r.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots');
      expect(list.status, junk).toBe(200);
      expect(list.body.snapshots.map((s: { id: string }) => s.id)).toEqual([a.id]);
      expect((await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${b.id}/restore`)).status, junk).toBe(404);
    }
    // Its files can still be removed through the API.
    expect((await r.call('admin_ops', 'DELETE', `/v1/admin/sandbox/snapshots/${b.id}`)).status).toBe(200);
  });
});

describe('a snapshot from another register', () => {
  onSqliteFiles('taken under another key file is refused 409 and the register is untouched; its listing shows no key material', async () => {
    const dataA = tempDir('dar-snapshots-a-');
    const dataB = tempDir('dar-snapshots-b-');
    const a = await setup({ dataDir: dataA });
    const b = await setup({ dataDir: dataB });
    const s = await snapshot(a, 'from a');
    await snapshot(b, 'b own'); // creates b's folder
    for (const ext of ['sqlite', 'json']) copyFileSync(join(dataA, 'snapshots', `${s.id}.${ext}`), join(dataB, 'snapshots', `${s.id}.${ext}`));
    const list = await b.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots');
    for (const item of list.body.snapshots) expect(Object.keys(item).sort()).toEqual(['created-at', 'id', 'name', 'size-bytes']);
    const before = await recordCount(b);
    const res = await b.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${s.id}/restore`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toContain('another key file');
    expect(await recordCount(b)).toBe(before);
    expect((await b.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
  });
});

describe('an unusable snapshots folder', () => {
  onSqliteFiles('is reported plainly (not "unexpected error"), nothing half-saved is left, and once fixed it is used', async () => {
    const data = tempDir('dar-snapshots-hostile-');
    const dir = join(data, 'snapshots');
    writeFileSync(dir, 'not a folder');
    const r = await setup({ dataDir: data });
    const list = await r.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots');
    expect(list.status).toBe(500);
    expect(list.body.errors[0]).toMatchObject({ 'error-code': 'SRV001', message: expect.stringContaining(`The snapshots folder ${dir} cannot be used`) });
    const save = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name: 'x' });
    expect(save.status).toBe(500);
    expect(save.body.errors[0].message).toContain('cannot be used');
    // The operator fixes it: the register uses it from the next request on (no restart).
    rmSync(dir);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots')).status).toBe(200);
    const ok = await snapshot(r, 'after the fix');
    // The folder goes away under a running register: the save says so, and nothing half-written stays.
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a folder');
    const lost = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name: 'lost' });
    expect(lost.status).toBe(500);
    expect(lost.body.errors[0].message).toContain('cannot be used');
    expect(readdirSync(data).filter((f) => f.includes('snap_'))).toEqual([]);
    rmSync(dir);
    expect(ok.id).toMatch(/^snap_/);
  });
});

describe('racing saves', () => {
  onSqliteFiles('saves under the same name at once: one is saved, the others are 409', async () => {
    const r = await setup({ dataDir: tempDir('dar-snapshots-race-') });
    await r.token('admin_ops'); // signed in first, so the saves really overlap
    const res = await Promise.all(['same', 'same ', 'same', ' same', 'same'].map((name) => r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name })));
    const statuses = res.map((x) => x.status).sort();
    // ' same' is not a valid name (400); of the rest exactly one is saved.
    expect(statuses).toEqual([201, 400, 409, 409, 409]);
    const list = await r.call('admin_ops', 'GET', '/v1/admin/sandbox/snapshots');
    expect(list.body.snapshots.map((s: { name: string }) => s.name)).toEqual(['same']);
  });
});

describe('a reset while another replacement runs', () => {
  it('a reset that is still loading the demo data refuses a second reset, a restore and a save (409), and ends with the whole demo data', async () => {
    const r = await setup();
    await r.token('admin_ops');
    // Snapshots are copies of the SQLite file (PostgreSQL refuses them, 409): there only a second reset races the first.
    const snapshots = TEST_ENGINE === 'sqlite';
    const saved = snapshots ? await snapshot(r, 'before') : null;
    expect((await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'empty' })).status).toBe(200);
    // A demo Data User missing (as after restoring a snapshot that predates it): the demo loader then waits on hashing its secret.
    await r.probe.deleteAccountsExcept('admin_ops');
    const accounts = () => r.probe.accountCount();
    const firstReset = r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'demo' });
    // Wait until it is loading: its first demo account is in, the others are still being hashed.
    for (let i = 0; i < 2000 && (await accounts()) < 2; i++) await new Promise((res) => setTimeout(res, 1));
    expect(await accounts()).toBeGreaterThanOrEqual(2);
    const racing = await Promise.all([
      r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'demo' }),
      ...(saved ? [r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${saved.id}/restore`), r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name: 'during' })] : []),
    ]);
    expect((await firstReset).status).toBe(200);
    expect(racing).toHaveLength(snapshots ? 3 : 1);
    for (const res of racing) {
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body.errors[0].message).toMatch(/reset .* still loading/);
    }
    // Exactly the demo data, once, on a chain that verifies; and the register can be restored afterwards.
    const demoRecords = await recordCount(r);
    expect(demoRecords).toBeGreaterThan(0);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'demo' })).status).toBe(200);
    expect(await recordCount(r)).toBe(demoRecords);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
    if (saved) expect((await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${saved.id}/restore`)).status).toBe(200);
  });
});

describe('outbox raw source from hostile text', () => {
  it('CR/LF in a subject or recipient never becomes a header of its own; % and _ in q are plain characters', async () => {
    const r = await setup();
    const id = await r.reg.tx(() =>
      r.svc.mail.queue({ to: 'dana@example.org\r\nBcc: evil@attacker.example', subject: 'Hello from Evil Org\r\nBcc: evil2@attacker.example\nX-Injected: 1\u2028X-Too: 1', text: '100%_done', html: '<p>100%_done</p>', purpose: 'test' }),
    );
    for (const path of ['source', 'raw']) {
      const res = await r.call('admin_ops', 'GET', `/v1/admin/outbox/${id}/${path}`);
      expect(res.status).toBe(200);
      const raw: string = path === 'source' ? res.body.source : res.body;
      const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
      const names = head
        .split('\r\n')
        .filter((l) => !/^[ \t]/.test(l))
        .map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
      expect(names).not.toContain('bcc');
      expect(names).not.toContain('x-injected');
      expect(names).not.toContain('x-too');
      if (path === 'source') expect(res.body.headers.map((h: { name: string }) => h.name.toLowerCase())).not.toContain('bcc');
    }
    const like = async (q: string) => (await r.call('admin_ops', 'GET', `/v1/admin/outbox?q=${encodeURIComponent(q)}`)).body.total as number;
    expect(await like('%_d')).toBe(1);
    expect(await like('%')).toBe(1);
    expect(await like('_')).toBe(1);
    expect(await like('0%d')).toBe(0);
    expect(await like("' OR 1=1 --")).toBe(0);
  });
});

describe('outbox search on a production register', () => {
  it('q is refused 403 AUTH003 before it is validated (too long, empty)', async () => {
    const r = await setup({ mode: 'production', origin: 'https://dar.example' });
    for (const q of ['x'.repeat(300), '', 'ok']) {
      const res = await r.call('admin_ops', 'GET', `/v1/admin/outbox?q=${q}`);
      expect(res.status, q.slice(0, 10)).toBe(403);
      expect(res.body.errors[0]['error-code']).toBe('AUTH003');
    }
    expect((await r.call('admin_ops', 'GET', '/v1/admin/outbox')).status).toBe(200);
  });
});
