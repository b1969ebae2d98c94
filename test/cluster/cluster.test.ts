/**
 * `npm run test:cluster`: three real register nodes (src/server/cli.ts processes) on one
 * PostgreSQL database behind the round-robin proxy of `npm run cluster` (startCluster).
 *
 * - Mixed load for DAR_CLUSTER_SECONDS (default 12): concurrent loops create access records and
 *   revoke some; node 2 is killed (SIGKILL) at a third of the time and started again at two
 *   thirds. Every create or revoke that was answered 2xx must hold afterwards; a request that
 *   failed (network error, 5xx) while the node died was never acknowledged and proves nothing.
 * - A bearer token from one node works on every node (the key file is shared).
 * - Failed sign-ins spread over the nodes are counted together: the last ones answer 429.
 * - The audit chain verifies, and the linker leaves no row unlinked.
 * - The same change of tenancy reported to three nodes at once is created once (201), the
 *   others answer 200 (the same triple again).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type RunningCluster } from '../../src/server/cluster-cli.js';
import { postgresAvailable, testDatabase, type TestDatabase } from '../support/postgres.js';
import { consentBody, DEMO_SECRETS } from '../support/register.js';

const SECONDS = Number(process.env.DAR_CLUSTER_SECONDS ?? 12);
const PORT = 5400;
const WORKERS = 3;
const VICTIM = 1;

type Answer = { status: number; body: any };

/** One HTTP call; a network error or timeout comes back as status 0. */
async function call(base: string, method: string, path: string, opts: { token?: string; basic?: [string, string]; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(`${opts.basic[0]}:${opts.basic[1]}`).toString('base64')}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(`${base}${path}`, { method, headers, body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  } catch {
    return { status: 0, body: null };
  }
}

/** Node processes still running with this test's database (pgrep exits 1 when none match). */
const nodeProcesses = (db: string) => {
  try {
    return execFileSync('pgrep', ['-f', `src/server/cli.ts --db ${db}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

describe.skipIf(!postgresAvailable())(`three register nodes on one PostgreSQL (${SECONDS} s of load)`, () => {
  let d: TestDatabase | undefined;
  let cluster: RunningCluster | undefined;
  const log: string[] = [];
  let failed = false;
  const node = (i: number) => `http://127.0.0.1:${cluster!.nodes[i].port}`;
  const token = async (base: string, account: string) => {
    const res = await call(base, 'GET', '/v1/auth/token', { basic: [account, DEMO_SECRETS[account]] });
    if (res.status !== 200) throw new Error(`login as ${account}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body['bearer-token'] as string;
  };

  beforeAll(async () => {
    d = await testDatabase('cluster');
    cluster = await startCluster({ db: d.url, nodes: 3, port: PORT, seed: 'demo', keysFile: null, nodeArgs: ['--log-level', 'silent', '--mode', 'sandbox'] }, (line) => {
      log.push(line);
      if (log.length > 200) log.shift();
    });
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      await d?.drop();
    }
    if (failed && log.length > 0) console.log(`cluster log (last ${log.length} lines):\n${log.join('\n')}`);
  });

  it('keeps every acknowledged create and revoke while a node is killed and restarted', async () => {
    const url = cluster!.url;
    const bright = await token(url, 'bright_energy');
    const ir = await call(url, 'POST', '/v1/identity-records', {
      token: bright,
      body: { 'pii-principal': { mpxn: '1912345678905', 'move-in-date': '2024-01-01', address: { addressLine1: '1 Cluster Road', townCity: 'Leeds', postcode: 'LS1 1AA' } }, email: 'cluster@example.com', 'expressed-by': 'data-subject' },
    });
    expect(ir.status).toBe(201);

    const created: string[] = [];
    const revoked: string[] = [];
    const unacknowledged = { creates: 0, revokes: 0 };
    const start = Date.now();
    const end = start + SECONDS * 1000;
    const worker = async (w: number) => {
      const mine: string[] = [];
      for (let n = 0; Date.now() < end; n++) {
        if (n % 3 === 2 && mine.length > 0) {
          const ak = mine.shift()!;
          const res = await call(url, 'DELETE', `/v1/access-records/${ak}?reason=customer-request`, { token: bright });
          if (res.status >= 200 && res.status < 300) revoked.push(ak);
          else unacknowledged.revokes++;
        } else {
          const res = await call(url, 'POST', '/v1/access-records', { token: bright, body: consentBody(ir.body.ir, { processing: { 'legal-basis': 'uk-consent', purpose: `Cluster load ${w}.${n}`, 'data-types': ['HH-CONSUMPTION'] } }) });
          if (res.status >= 200 && res.status < 300) {
            created.push(res.body['access-token'].key);
            mine.push(res.body['access-token'].key);
          } else unacknowledged.creates++;
        }
      }
    };
    let victimDown = false;
    const chaos = (async () => {
      await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 3));
      cluster!.kill(VICTIM);
      await new Promise((r) => cluster!.nodes[VICTIM].process.once('exit', r));
      victimDown = (await call(node(VICTIM), 'GET', '/ready')).status === 0;
      await new Promise((r) => setTimeout(r, Math.max(0, start + (2 * SECONDS * 1000) / 3 - Date.now())));
      await cluster!.restart(VICTIM);
    })();
    await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), chaos]);

    expect(victimDown).toBe(true);
    // Read back a few at a time (thousands of requests at once would time out on a small machine),
    // again if the answer is not the register's (a network error, 429, 5xx).
    const checks: Answer[] = new Array(created.length);
    let nextCheck = 0;
    const reader = async () => {
      while (nextCheck < created.length) {
        const i = nextCheck++;
        for (let attempt = 0; attempt < 3; attempt++) {
          checks[i] = await call(url, 'GET', `/v1/access-records/${created[i]}`);
          if (checks[i].status !== 0 && checks[i].status !== 429 && checks[i].status < 500) break;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, reader));
    const missing = checks.filter((c) => c.status !== 200).map((c) => c.status);
    if (missing.length > 0) console.log(`cluster load: read-back answers other than 200: ${JSON.stringify(missing.slice(0, 20))}`);
    const present = checks.filter((c) => c.status === 200).length;
    const revokedSet = new Set(revoked);
    const states = new Map(created.map((ak, i) => [ak, checks[i].body?.['access-record']?.['access-event']?.state as string | undefined]));
    const revokedShown = revoked.filter((ak) => states.get(ak) === 'REVOKED').length;
    console.log(
      `cluster load: ${SECONDS} s, creates acknowledged ${created.length} / present ${present} (not acknowledged ${unacknowledged.creates}); revokes acknowledged ${revoked.length} / shown REVOKED ${revokedShown} (not acknowledged ${unacknowledged.revokes})`,
    );
    expect(created.length).toBeGreaterThan(0);
    expect(revoked.length).toBeGreaterThan(0);
    expect(present).toBe(created.length);
    expect(revokedShown).toBe(revoked.length);
    // Acknowledged creates that were not revoked are still ACTIVE.
    expect(created.filter((ak) => !revokedSet.has(ak) && states.get(ak) !== 'ACTIVE' && states.get(ak) !== 'REVOKED')).toEqual([]);
    // Every node answers again after the restart.
    for (let i = 0; i < 3; i++) expect((await call(node(i), 'GET', '/ready')).status).toBe(200);
  });

  it('a bearer token from the proxy works on every node', async () => {
    const t = await token(cluster!.url, 'octopusflux');
    for (let i = 0; i < 3; i++) {
      const self = await call(node(i), 'GET', '/v1/self', { token: t });
      expect(self.status).toBe(200);
    }
  });

  it('counts failed sign-ins across the nodes: the last of 11 answer 429', async () => {
    // From one (trusted-proxy) forwarded address, so other tests' sign-ins from 127.0.0.1 are untouched.
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await call(node(i % 3), 'GET', '/v1/auth/token', { basic: ['greenswitch', `wrong-${i}`], headers: { 'x-forwarded-for': '198.51.100.77' } });
      statuses.push(res.status);
    }
    console.log(`cluster sign-ins: ${statuses.join(' ')} (429: ${statuses.filter((s) => s === 429).length})`);
    // Five failures are free, then each waits (src/server/services/sign-in-throttle.ts). Counted per
    // node, no node would see more than four of the eleven: a 429 means the count is shared.
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[statuses.length - 1]).toBe(429);
  });

  it('the same change of tenancy on three nodes at once is created once', async () => {
    const dcc = await token(cluster!.url, 'dcc_system');
    const body = { mpxn: '2312345678901', 'effective-date': '2026-01-01', 'source-reference': 'cot-cluster-1' };
    const answers = await Promise.all([0, 1, 2].map((i) => call(node(i), 'POST', '/v1/cot-events', { token: dcc, body })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 201]);
    // All three report the same outcome.
    expect(new Set(answers.map((a) => JSON.stringify(a.body['data-users-notified']))).size).toBe(1);
  });

  it('the audit chain verifies and nothing stays unlinked', async () => {
    const admin = await token(cluster!.url, 'admin_ops');
    let verify = await call(cluster!.url, 'GET', '/v1/admin/audit/verify', { token: admin });
    expect(verify.status).toBe(200);
    expect(verify.body.intact).toBe(true);
    const deadline = Date.now() + 3000;
    while (verify.body.unlinked !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      verify = await call(cluster!.url, 'GET', '/v1/admin/audit/verify', { token: admin });
    }
    console.log(`cluster audit: ${JSON.stringify(verify.body)}`);
    expect(verify.body).toMatchObject({ intact: true, unlinked: 0 });
  });

  it('leaves no node process behind once stopped', async () => {
    const nodes = cluster!.nodes;
    await cluster!.stop();
    cluster = undefined;
    expect(nodes.every((n) => n.process.exitCode !== null || n.process.signalCode !== null)).toBe(true);
    expect(nodeProcesses(d!.url)).toBe('');
  });
});
