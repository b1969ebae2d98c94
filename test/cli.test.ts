import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbProbe } from './support/db-probe.js';
import { afterAll, describe, expect, it } from 'vitest';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const CLI = join(process.cwd(), 'src', 'server', 'cli.ts');
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'dar-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(TSX, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });

/** Starts the register, resolves with its URL once it prints it. */
function start(args: string[]): Promise<{ url: string; child: ReturnType<typeof spawn>; output: () => string }> {
  // The register runs in this very process (node with tsx's loader), so SIGTERM reaches its own
  // handler. Through the tsx binary it would first reach tsx's relay, which gives the child
  // 30 ms to acknowledge a signal and otherwise kills it (exit 143) — seen under load.
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--log-level', 'silent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/localhost:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
}

describe('headless register CLI', () => {
  // Which flags are refused, and why, is tested in-process (test/config.test.ts); this is the
  // process's side of it: a refused flag exits 2 with the message and the usage.
  it('fails loudly on a bad flag (exit 2, message and usage)', () => {
    const res = run(['--prot', '5001']);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('unknown option "--prot"');
    expect(res.stderr).toContain('Usage:');
  });

  it('fails loudly on an unwritable data directory', () => {
    const file = join(tmp(), 'not-a-dir');
    writeFileSync(file, 'x');
    const res = run(['--data', join(file, 'sub'), '--port', '0']);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/data directory .* is not writable/);
  });

  it('fails loudly on a port in use', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const res = run(['--data', tmp(), '--port', String(port)]);
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`port ${port}`);
      expect(res.stderr).toContain('already in use');
    } finally {
      blocker.close();
    }
  });

  it('fails loudly on a failed migration', async () => {
    const data = tmp();
    // A database whose existing table clashes with the first migration.
    const db = DbProbe.open(join(data, 'register.sqlite'));
    await db.createClashingAccountsTable();
    db.close();
    const res = run(['--data', data, '--port', '0']);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/could not be opened or migrated/);
  });

  it('creates the data folder, a WAL database and a 0600 key file; seeds demo idempotently; stops cleanly on SIGTERM', async () => {
    const data = join(tmp(), 'fresh', 'data');
    for (let round = 0; round < 2; round++) {
      const { url, child, output } = await start(['--data', data, '--seed', 'demo']);
      expect(output()).toContain('admin_ops');
      expect(output()).toContain('admin-secret-demo');
      expect(output()).toMatch(/support_desk\s+support\s+support-secret-demo/);
      const res = await fetch(`${url}/v1/access-records/ak_000000000000000000000000`);
      expect(res.status).toBe(404);
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(output()).toContain('stopped cleanly');
    }
    expect(statSync(join(data, 'register.keys.json')).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(readFileSync(join(data, 'register.keys.json'), 'utf8'));
    expect(Object.keys(keys).sort()).toEqual(['email-hmac-key', 'encryption-key', 'jwt-secret', 'signing-key', 'version']);
    const db = DbProbe.open(join(data, 'register.sqlite'), { readonly: true });
    expect(await db.journalMode()).toBe('wal');
    // Seeded twice, same state: 9 accounts (support_desk among them), 1 identity record, 5 records on the demo meter point.
    expect(await db.accountCount()).toBe(9);
    expect(await db.identityCount()).toBe(1);
    expect(await db.recordCount({ mpxn: '2312345678901' })).toBe(5);
    db.close();
  });

  it('answers only once ready: while --seed demo loads, 503 + Retry-After, never a 401 for a demo account; then /health and /ready', async () => {
    // A port known before the register opens it, so requests can start the moment it does.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', String(port), '--log-level', 'silent', '--data', tmp(), '--seed', 'demo'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const basic = `Basic ${Buffer.from('bright_energy:bright-secret-demo').toString('base64')}`;
      const statuses: number[] = [];
      const until = Date.now() + 25_000;
      for (;;) {
        let res: Response | null = null;
        try {
          res = await fetch(`${base}/v1/auth/token`, { headers: { authorization: basic } });
        } catch {
          // not listening yet
        }
        if (res) {
          statuses.push(res.status);
          const body = (await res.json()) as { errors: { 'error-code': string; message: string }[]; response: { resource: string } };
          if (res.status === 200) break;
          expect(res.status, JSON.stringify(body)).toBe(503);
          expect(res.headers.get('retry-after')).toBe('1');
          expect(body.errors[0]).toMatchObject({ 'error-code': 'SRV001', message: expect.stringContaining('not ready') });
          expect(body.response.resource).toBe('/v1/auth/token');
        }
        if (Date.now() > until) throw new Error(`never ready: ${statuses.join(',')}`);
      }
      expect(statuses).not.toContain(401);
      for (const path of ['/health', '/v1/health']) {
        const live = await fetch(`${base}${path}`);
        expect(live.status).toBe(200);
        expect(await live.json()).toMatchObject({ response: { resource: path }, status: 'live' });
      }
      for (const path of ['/ready', '/v1/ready']) {
        const ready = await fetch(`${base}${path}`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({ response: { resource: path }, status: 'ready' });
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('prints help', () => {
    const res = run(['--help']);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('--seed demo');
  });
});
