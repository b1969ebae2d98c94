/**
 * PostgreSQL restarts under three register nodes (`npm run test:cluster`). The database is a
 * private PostgreSQL of this file's own (not the shared test server: it is killed here), on
 * DAR_RESTART_PG_PORT (default DAR_TEST_PG_PORT + 1), in a temporary folder owned by the
 * `postgres` user; three real nodes (src/server/cli.ts processes) run on it behind the round-robin
 * proxy of `npm run cluster` (startCluster), nodes on DAR_RESTART_PORT + 1 … + 3 (default 5420).
 *
 * Mixed load (creates and revokes through the proxy) runs throughout:
 * 1. a few seconds with the database up: every answer is 2xx;
 * 2. `pg_ctl stop -m immediate` (a crash: no shutdown checkpoint, every connection cut) and about
 *    three seconds down: every answer is 503 SRV001 in the error envelope with Retry-After, not a
 *    500, not a hang, not a node process gone; each node's `/ready` answers 503, `/health` 200;
 * 3. `pg_ctl start` (without waiting: the nodes meet "the database system is starting up" too):
 *    every node answers 2xx again by itself within RECOVERY_LIMIT_MS, its node process the same
 *    one as before, and from then on every answer is 2xx.
 * Afterwards every create and revoke answered 2xx in any phase is present, the audit chain
 * verifies with nothing left unlinked (the linker survived), and each node LISTENs again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type RunningCluster } from '../../src/server/cluster-cli.js';
import { migratePostgres } from '../../src/server/db/migrate-pg.js';
import { asRoot, PG_MIGRATIONS, PG_PORT, pgRun, postgresAvailable } from '../support/postgres.js';
import { consentBody, DEMO_SECRETS } from '../support/register.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

const DB_PORT = Number(process.env.DAR_RESTART_PG_PORT ?? PG_PORT + 1);
const PORT = Number(process.env.DAR_RESTART_PORT ?? 5420);
const HOST = '127.0.0.1';
/** Fixed per port, so a later run finds (and stops) what a crashed one left. */
const ROOT = join(tmpdir(), `dar-test-pg-restart-${DB_PORT}`);
const DATA = join(ROOT, 'data');
const LOG = join(ROOT, 'server.log');
const URL_ = `postgres://postgres@${HOST}:${DB_PORT}/dar`;
const UP_MS = 3000;
const DOWN_MS = 3000;
const AFTER_MS = 2000;
/** How long after `pg_ctl start` every node must answer 2xx again. */
const RECOVERY_LIMIT_MS = 20_000;
/** A request still unanswered after this is a hang (status 0). */
const HANG_MS = 8000;
const WORKERS = 3;

type Answer = { status: number; body: any; headers: Headers | null; ms: number };

async function call(base: string, method: string, path: string, opts: { token?: string; basic?: [string, string]; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(`${opts.basic[0]}:${opts.basic[1]}`).toString('base64')}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const t = performance.now();
  try {
    const res = await fetch(`${base}${path}`, { method, headers, body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined, signal: AbortSignal.timeout(HANG_MS) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body, headers: res.headers, ms: performance.now() - t };
  } catch {
    return { status: 0, body: null, headers: null, ms: performance.now() - t };
  }
}

const ok = (a: Answer) => a.status >= 200 && a.status < 300;

/** A 503 in the register's error envelope: SRV001, the response block, Retry-After. */
function isUnavailable(a: Answer): boolean {
  const b = a.body;
  return (
    a.status === 503 &&
    typeof b === 'object' &&
    b !== null &&
    typeof b.response?.resource === 'string' &&
    typeof b.response?.['transaction-id'] === 'string' &&
    Array.isArray(b.errors) &&
    b.errors.length > 0 &&
    b.errors.every((e: any) => e['error-code'] === 'SRV001' && typeof e.message === 'string') &&
    a.headers?.get('retry-after') !== null
  );
}

const describeAnswer = (a: Answer) => `${a.status} ${JSON.stringify(a.body).slice(0, 200)}`;

/** The nodes' LISTEN connections (by application_name), polled for up to 10 s until there are `want`. */
async function listeners(want: number): Promise<number> {
  const check = new pg.Client({ connectionString: URL_ });
  await check.connect();
  try {
    const until = performance.now() + 10_000;
    for (;;) {
      const { rows } = await check.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where application_name = 'dar-register listen'");
      if (rows[0].n >= want || performance.now() > until) return rows[0].n;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await check.end();
  }
}

const serverRunning = () => existsSync(join(DATA, 'postmaster.pid')) && pgRun('pg_ctl', ['status', '-D', DATA]).status === 0;

/** Stops a server left running from our folder (a crashed run) and removes the folder. */
function removeServer(): void {
  if (serverRunning()) pgRun('pg_ctl', ['stop', '-D', DATA, '-m', 'immediate', '-w']);
  rmSync(ROOT, { recursive: true, force: true });
}

function mustRun(cmd: string, args: string[]): void {
  const r = pgRun(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}${existsSync(LOG) ? readFileSync(LOG, 'utf8').slice(-2000) : ''}`);
}

// fsync off as on the shared test server: an immediate stop is a crash of PostgreSQL, not of
// the machine, so what was written (unsynced) to the kernel survives it either way.
const START_OPTS = `-p ${DB_PORT} -c listen_addresses=${HOST} -c unix_socket_directories=${ROOT} -c fsync=off -c full_page_writes=off`;

describe.skipIf(!postgresAvailable())('PostgreSQL killed and restarted under three nodes', () => {
  let cluster: RunningCluster | undefined;
  let sink: SmtpSink | undefined;
  const log: string[] = [];

  beforeAll(async () => {
    removeServer();
    mkdirSync(ROOT, { recursive: true, mode: 0o700 });
    if (asRoot) execFileSync('chown', ['postgres:postgres', ROOT]);
    mustRun('initdb', ['-D', DATA, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    mustRun('pg_ctl', ['start', '-D', DATA, '-l', LOG, '-w', '-t', '60', '-o', START_OPTS]);
    const admin = new pg.Client({ connectionString: `postgres://postgres@${HOST}:${DB_PORT}/postgres` });
    await admin.connect();
    try {
      await admin.query('create database dar');
    } finally {
      await admin.end();
    }
    await migratePostgres(URL_, PG_MIGRATIONS);
    // With SMTP to deliver to, each node's mail worker LISTENs (db/postgres-store.ts listen).
    sink = await startSmtpSink();
    cluster = await startCluster({ db: URL_, nodes: 3, port: PORT, seed: 'demo', keysFile: null, nodeArgs: ['--log-level', 'error', '--mode', 'sandbox', '--smtp', sink.url] }, (line) => {
      log.push(line);
      if (log.length > 300) log.shift();
    });
  });

  afterAll(async () => {
    // DAR_RESTART_LOG=1: what the nodes wrote (their errors while the database was down).
    if (process.env.DAR_RESTART_LOG) console.log(`node log (last ${log.length} lines):\n${log.join('\n')}`);
    try {
      await cluster?.stop();
    } finally {
      removeServer();
      await sink?.close();
    }
  });

  it('answers 503 while the database is down, recovers by itself, and keeps everything acknowledged', async () => {
    const c = cluster!;
    const pids = c.nodes.map((n) => n.process.pid);
    const node = (i: number) => `http://${HOST}:${c.nodes[i].port}`;
    const login = async (account: string) => {
      const res = await call(c.url, 'GET', '/v1/auth/token', { basic: [account, DEMO_SECRETS[account]] });
      if (res.status !== 200) throw new Error(`login as ${account}: ${describeAnswer(res)}`);
      return res.body['bearer-token'] as string;
    };
    const bright = await login('bright_energy');
    const admin = await login('admin_ops');
    const ir = await call(c.url, 'POST', '/v1/identity-records', {
      token: bright,
      body: { 'pii-principal': { mpxn: '1912345678905', 'move-in-date': '2024-01-01', address: { addressLine1: '1 Restart Road', townCity: 'Leeds', postcode: 'LS1 1AA' } }, email: 'restart@example.com', 'expressed-by': 'data-subject' },
    });
    expect(ir.status).toBe(201);
    expect(await listeners(3)).toBe(3);

    // Phase boundaries (performance.now()); a request belongs to the phase it started in, except
    // that one started before the stop and answered after it was cut off mid-way ('cut').
    const at = { stop: Infinity, start: Infinity, recovered: Infinity };
    const phaseOf = (t: number, a: Answer) => (t < at.stop ? (t + a.ms < at.stop ? 'up' : 'cut') : t < at.start ? 'down' : t < at.recovered ? 'recovering' : 'after');
    const answers: { phase: string; what: string; a: Answer }[] = [];
    const created: string[] = [];
    const revoked: string[] = [];
    let stopLoad = false;

    const worker = async (w: number) => {
      const mine: string[] = [];
      for (let n = 0; !stopLoad; n++) {
        const t = performance.now();
        if (n % 3 === 2 && mine.length > 0) {
          const ak = mine.shift()!;
          const a = await call(c.url, 'DELETE', `/v1/access-records/${ak}?reason=customer-request`, { token: bright });
          answers.push({ phase: phaseOf(t, a), what: 'revoke', a });
          if (ok(a)) revoked.push(ak);
        } else {
          const a = await call(c.url, 'POST', '/v1/access-records', { token: bright, body: consentBody(ir.body.ir, { processing: { 'legal-basis': 'uk-consent', purpose: `Restart load ${w}.${n}`, 'data-types': ['HH-CONSUMPTION'] } }) });
          answers.push({ phase: phaseOf(t, a), what: 'create', a });
          if (ok(a)) {
            created.push(a.body['access-token'].key);
            mine.push(a.body['access-token'].key);
          }
        }
        // While the database is down the answers come at once: pace the loop so it does not spin.
        if (!ok(answers[answers.length - 1].a)) await new Promise((r) => setTimeout(r, 50));
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    const probesDown: { node: number; ready: Answer; health: Answer }[] = [];
    const recoveredAfterMs: number[] = [];
    try {
      await sleep(UP_MS);
      at.stop = performance.now();
      // (Synchronous: no request starts until it has returned, so every later one meets a stopped server.)
      mustRun('pg_ctl', ['stop', '-D', DATA, '-m', 'immediate', '-w']);
      await sleep(DOWN_MS / 2);
      for (let i = 0; i < 3; i++) probesDown.push({ node: i, ready: await call(node(i), 'GET', '/ready'), health: await call(node(i), 'GET', '/health') });
      await sleep(DOWN_MS / 2);
      at.start = performance.now();
      // Not waiting (-W): the nodes also meet the server while it recovers ("starting up").
      mustRun('pg_ctl', ['start', '-D', DATA, '-l', LOG, '-W', '-o', START_OPTS]);
      // Each node, asked directly, until it answers a request that needs the database.
      await Promise.all(
        [0, 1, 2].map(async (i) => {
          for (;;) {
            const a = await call(node(i), 'GET', '/v1/self', { token: bright });
            if (a.status === 200 && (await call(node(i), 'GET', '/ready')).status === 200) {
              recoveredAfterMs[i] = Math.round(performance.now() - at.start);
              return;
            }
            if (performance.now() - at.start > RECOVERY_LIMIT_MS) {
              recoveredAfterMs[i] = -1;
              return;
            }
            await sleep(100);
          }
        }),
      );
      at.recovered = performance.now();
      await sleep(AFTER_MS);
    } finally {
      stopLoad = true;
      await load;
    }

    const byPhase = (phase: string) => answers.filter((x) => x.phase === phase);
    const count = (xs: { a: Answer }[]) => `${xs.length} (2xx ${xs.filter((x) => ok(x.a)).length}, 503 ${xs.filter((x) => isUnavailable(x.a)).length})`;
    console.log(
      `pg restart: up ${count(byPhase('up'))}; cut ${count(byPhase('cut'))}; down ${count(byPhase('down'))}; recovering ${count(byPhase('recovering'))}; after ${count(byPhase('after'))}; ` +
        `nodes answered again ${recoveredAfterMs.join(' / ')} ms after pg_ctl start; slowest answer while down ${Math.round(Math.max(0, ...byPhase('down').map((x) => x.a.ms)))} ms`,
    );
    const odd = answers.filter((x) => !ok(x.a) && !isUnavailable(x.a));
    if (odd.length > 0)
      console.log(
        `answers neither 2xx nor 503 SRV001:\n${odd
          .slice(0, 10)
          .map((x) => `  ${x.phase} ${x.what}: ${describeAnswer(x.a)}`)
          .join('\n')}\nnode log:\n${log.join('\n')}`,
      );

    // No hang, no 500, no other failure: every answer is 2xx or the register's 503.
    expect(
      odd.length,
      `${odd.length} answers neither 2xx nor 503 SRV001, e.g. ${odd
        .slice(0, 3)
        .map((x) => `${x.phase} ${x.what}: ${describeAnswer(x.a)}`)
        .join('; ')}`,
    ).toBe(0);
    expect(byPhase('up').every((x) => ok(x.a))).toBe(true);
    expect(byPhase('down').length).toBeGreaterThan(0);
    expect(
      byPhase('down')
        .filter((x) => !isUnavailable(x.a))
        .map((x) => describeAnswer(x.a)),
    ).toEqual([]);
    // The probes while down: not ready (503 SRV001), yet alive.
    for (const p of probesDown) {
      expect(isUnavailable(p.ready), `node ${p.node + 1} /ready: ${describeAnswer(p.ready)}`).toBe(true);
      expect(p.health.status, `node ${p.node + 1} /health: ${describeAnswer(p.health)}`).toBe(200);
    }
    // Every node answers again by itself, the same process as before.
    expect(recoveredAfterMs.every((ms) => ms >= 0)).toBe(true);
    expect(c.nodes.map((n) => n.process.pid)).toEqual(pids);
    expect(c.nodes.every((n) => n.process.exitCode === null && n.process.signalCode === null)).toBe(true);
    expect(byPhase('after').length).toBeGreaterThan(0);
    expect(
      byPhase('after')
        .filter((x) => !ok(x.a))
        .map((x) => describeAnswer(x.a)),
    ).toEqual([]);

    // Nothing acknowledged is lost: every create answered 2xx is there, every revoke shows.
    const states = new Map<string, string | undefined>();
    let nextCheck = 0;
    const reader = async () => {
      while (nextCheck < created.length) {
        const ak = created[nextCheck++];
        const a = await call(c.url, 'GET', `/v1/access-records/${ak}`);
        states.set(ak, a.status === 200 ? a.body['access-record']?.['access-event']?.state : `HTTP ${a.status}`);
      }
    };
    await Promise.all(Array.from({ length: 6 }, reader));
    const revokedSet = new Set(revoked);
    expect(created.length).toBeGreaterThan(0);
    expect(revoked.length).toBeGreaterThan(0);
    // Revoked when the revoke was acknowledged; otherwise ACTIVE, or REVOKED by a revoke whose
    // answer (a 503 as the connection broke) acknowledged nothing.
    const wrong = created.filter((ak) => (revokedSet.has(ak) ? states.get(ak) !== 'REVOKED' : states.get(ak) !== 'ACTIVE' && states.get(ak) !== 'REVOKED'));
    expect(wrong.map((ak) => `${ak}: ${states.get(ak)}`)).toEqual([]);

    // The audit linker came back (nothing stays unlinked), and the chain is intact.
    let verify = await call(c.url, 'GET', '/v1/admin/audit/verify', { token: admin });
    const deadline = performance.now() + 10_000;
    while (!(verify.status === 200 && verify.body.unlinked === 0) && performance.now() < deadline) {
      await sleep(250);
      verify = await call(c.url, 'GET', '/v1/admin/audit/verify', { token: admin });
    }
    expect(verify.body).toMatchObject({ intact: true, unlinked: 0 });

    // Each node LISTENs again on a connection of its own (its notifications wake the others).
    expect(await listeners(3)).toBe(3);
  });
});
