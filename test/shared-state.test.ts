import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeys } from '../src/server/lib/keys.js';
import { StartupError } from '../src/server/start.js';
import { DEMO_SECRETS, testRegister, type TestRegister } from './support/register.js';
import { tempDir } from './support/temp-files.js';

/**
 * State every node must agree on lives in the database: two registers (two nodes) on one
 * SQLite file see the same sign-in failures and the same sandbox clock, and a register with
 * another key file refuses the database.
 */
let open: TestRegister[] = [];
afterEach(async () => {
  for (const r of open.reverse()) await r.close().catch(() => undefined);
  open = [];
});

/**
 * Commits a register's open batch. Two registers in one process share one thread: one waiting
 * for SQLite's write lock would keep the other from ever committing (separate nodes are
 * separate processes), so each step leaves no batch open.
 */
async function settle(r: TestRegister): Promise<void> {
  await r.reg.durability.durable();
  r.reg.durability.endBatch();
}

async function node(dataDir: string, seed = false): Promise<TestRegister> {
  const r = await testRegister({ dataDir }, { seed });
  open.push(r);
  await settle(r);
  return r;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('state shared by every node on one database', () => {
  it('sign-in failures spread over two nodes count together: after five, the next attempts get 429 on either', async () => {
    const dataDir = tempDir('dar-shared-');
    const a = await node(dataDir, true);
    const b = await node(dataDir);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const r = i % 2 === 0 ? a : b;
      const res = await r.app.inject({ method: 'GET', url: '/v1/auth/token', remoteAddress: '198.51.100.9', headers: { authorization: basic('bright_energy', `wrong-${i}`) } });
      statuses.push(res.statusCode);
      await settle(r);
    }
    // Five failures (three on A, two on B), then the delay holds on both nodes.
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429, 429, 429, 429]);
    // Even the right secret waits, from that address, on either node; another address is not delayed.
    expect((await b.app.inject({ method: 'GET', url: '/v1/auth/token', remoteAddress: '198.51.100.9', headers: { authorization: basic('bright_energy', DEMO_SECRETS.bright_energy) } })).statusCode).toBe(429);
    expect((await a.app.inject({ method: 'GET', url: '/v1/auth/token', remoteAddress: '198.51.100.10', headers: { authorization: basic('bright_energy', DEMO_SECRETS.bright_energy) } })).statusCode).toBe(200);
  });

  it('a sandbox clock moved on one node is seen by the other within 1 s', async () => {
    const dataDir = tempDir('dar-shared-');
    const a = await node(dataDir, true);
    const b = await node(dataDir);
    const moved = await a.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 3 * 86_400 });
    expect(moved.status).toBe(200);
    await settle(a);
    const started = Date.now();
    let seen = 0;
    while (Date.now() - started < 1000) {
      seen = (await b.call('admin_ops', 'GET', '/v1/admin/clock')).body['offset-ms'];
      await settle(b);
      if (seen >= 3 * 86_400_000) break;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(seen).toBeGreaterThanOrEqual(3 * 86_400_000);
    expect(Date.now() - started).toBeLessThan(1000);
    // And back: a reset on B is seen by A.
    expect((await b.call('admin_ops', 'POST', '/v1/admin/clock', { reset: true })).status).toBe(200);
    await settle(b);
    const back = Date.now();
    while (a.reg.clock.offset !== 0 && Date.now() - back < 1000) await new Promise((ok) => setTimeout(ok, 50));
    expect(a.reg.clock.offset).toBe(0);
  });

  it('a register started with another key file than the database was written with refuses to start, clearly', async () => {
    const dataDir = tempDir('dar-shared-');
    const first = await node(dataDir, true);
    await first.close();
    open = [];
    const keysFile = join(dataDir, 'register.keys.json');
    copyFileSync(keysFile, join(dataDir, 'original.keys.json'));
    rmSync(keysFile);
    const other = generateKeys();
    writeFileSync(
      keysFile,
      JSON.stringify({
        version: 1,
        'jwt-secret': other.jwtSecret.toString('base64'),
        'email-hmac-key': other.emailHmacKey.toString('base64'),
        'encryption-key': other.encryptionKey.toString('base64'),
        'signing-key': other.signingKey.toString('base64'),
      }),
      { mode: 0o600 },
    );
    const refused = testRegister({ dataDir }, { seed: false });
    await expect(refused).rejects.toThrow(StartupError);
    await expect(refused).rejects.toThrow(/key file does not belong to this database/);
    // With its own key file back, it starts.
    copyFileSync(join(dataDir, 'original.keys.json'), keysFile);
    const again = await node(dataDir);
    expect((await again.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
  });
});
