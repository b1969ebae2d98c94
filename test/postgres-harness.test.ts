/**
 * The private PostgreSQL the tests use (test/support/postgres.ts): per-file databases cloned
 * from a migrated template, 127.0.0.1 only, and recovery from what a crashed run leaves.
 * Prints the measured times (docs/deploying.md "Tests and CI").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, connect, ensureServer, PG_ROOT, postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';
import { tempDir } from './support/temp-files.js';
// A port the system hands out, not a fixed one: in its range of such ports (32768–60999 here) a
// fixed port can be held by some other socket, e.g. of a test suite running alongside.
import { freePort } from '../e2e/support/register.js';

const SUPPORT = resolve(import.meta.dirname, 'support', 'postgres.ts');

/**
 * Runs the harness in a separate process on another port, as another test run would:
 * `start` leaves the server running, `crash` then kills that process (SIGKILL, no clean-up),
 * `stop` stops it. Prints the server timings as JSON.
 */
function harness(port: number, mode: 'start' | 'crash' | 'stop') {
  const script = join(tempDir('dar-pg-harness-'), 'run.mts');
  writeFileSync(
    script,
    `process.env.DAR_TEST_PG_RUN = String(process.pid);
const pg = await import(${JSON.stringify(SUPPORT)});
const t = await pg.ensureServer();
console.log(JSON.stringify({ ...t, root: pg.PG_ROOT }));
if (${JSON.stringify(mode)} === 'crash') process.kill(process.pid, 'SIGKILL');
if (${JSON.stringify(mode)} === 'stop') pg.stopServer();
`,
  );
  const res = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, DAR_TEST_PG_PORT: String(port), DAR_TEST_PG_TIMINGS: '' },
  });
  const line = res.stdout.split('\n').find((l) => l.startsWith('{'));
  return { ...res, timings: line ? (JSON.parse(line) as { initdbMs: number | null; startMs: number | null; templateMigrateMs: number | null; root: string }) : null };
}

describe.skipIf(!postgresAvailable())('the PostgreSQL test server', () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('gives each caller its own migrated database, cloned from the template, on 127.0.0.1 only', async () => {
    const server = await ensureServer();
    const a = await testDatabase('harness_a');
    const b = await testDatabase('harness_b');
    dbs.push(a, b);
    const ca = await connect(a.name);
    const cb = await connect(b.name);
    try {
      expect((await ca.query("select count(*)::int as n from information_schema.tables where table_schema = 'public'")).rows[0].n).toBeGreaterThanOrEqual(15);
      await ca.query("insert into settings (key, value, updated_at) values ('k', 'only in a', 'x')");
      expect((await cb.query('select count(*)::int as n from settings')).rows[0].n).toBe(0);
      expect((await ca.query('show listen_addresses')).rows[0].listen_addresses).toBe('127.0.0.1');
      expect((await ca.query('select datistemplate from pg_database where datname = $1', [server.template])).rows[0].datistemplate).toBe(true);
    } finally {
      await ca.end();
      await cb.end();
    }
    if (process.getuid?.() === 0) expect(statSync(PG_ROOT).uid).not.toBe(0); // initdb ran as postgres
    console.log(`[postgres] clone from template: ${Math.round(a.cloneMs)} ms, ${Math.round(b.cloneMs)} ms`);
  });

  it('after a crashed run (server left running, then a stale PID file), the next run stops it and starts afresh', async () => {
    const port = await freePort();
    const crashed = harness(port, 'crash');
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.timings?.startMs).toBeGreaterThan(0);
    const root = crashed.timings!.root;
    const pidFile = join(root, 'data', 'postmaster.pid');
    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    expect(alive(postmaster)).toBe(true); // left running by the crash

    // The next run finds the server of a dead run: stopped and rebuilt, not adopted.
    const next = harness(port, 'start');
    expect(next.status).toBe(0);
    expect(next.timings?.initdbMs).toBeGreaterThan(0);
    expect(alive(postmaster)).toBe(false);

    // Now kill that server outright (as a machine crash would): a stale PID file remains.
    const second = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    process.kill(second, 'SIGKILL');
    spawnSync('sleep', ['0.3']);
    const after = harness(port, 'stop');
    expect(after.stderr).toBe('');
    expect(after.status).toBe(0);
    expect(after.timings?.startMs).toBeGreaterThan(0);
    console.log(`[postgres] server start after a crash: initdb ${Math.round(after.timings!.initdbMs!)} ms, start ${Math.round(after.timings!.startMs!)} ms, template migrate ${Math.round(after.timings!.templateMigrateMs!)} ms`);
  }, 120_000);

  it('refuses, with a clear message, a port some other process holds', async () => {
    // A port the system hands out, so the blocker surely gets it (see freePort above).
    const blocker = createServer();
    await new Promise<void>((r, reject) => {
      blocker.once('error', reject);
      blocker.listen(0, '127.0.0.1', () => r());
    });
    const { port } = blocker.address() as AddressInfo;
    try {
      const res = harness(port, 'stop');
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain(`port ${port} on 127.0.0.1 is in use by another process`);
      expect(res.stderr).toContain('DAR_TEST_PG_PORT');
    } finally {
      blocker.close();
    }
  }, 120_000);
});
