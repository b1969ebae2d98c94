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
 * - Webhooks during the kill: a receiver subscribed to consent.withdrawal gets every event the
 *   register queued (at least once, validly signed); an event arrives twice only when the
 *   killed node had it in flight (sent, outcome never recorded), with the same id and body.
 * - 200 confirmed re-identification tokens, each used from the three nodes at once: exactly
 *   one use of each succeeds (201), the other two answer 409 CON001, 200 records are new.
 * - The sandbox clock moved on one node: every node follows within 1 s; each record past its
 *   expiry expires once (one audit event), and each subscription gets one consent.expiring
 *   notice per record whose window opened.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type RunningCluster } from '../../src/server/cluster-cli.js';
import { WEBHOOK_TIMEOUT_MS } from '../../src/server/config.js';
import { LEASE_MARGIN_MS } from '../../src/server/services/delivery-worker.js';
import { postgresAvailable, testDatabase, type TestDatabase } from '../support/postgres.js';
import { consentBody, DEMO_SECRETS } from '../support/register.js';
import { startReceiver, verifyDarSignature, verifyStandardWebhook, type Received, type Receiver } from '../support/webhook-receiver.js';

const SECONDS = Number(process.env.DAR_CLUSTER_SECONDS ?? 12);
const PORT = 5400;
const WORKERS = 3;
const VICTIM = 1;
/** Re-identification tokens raced over the three nodes. */
const TOKENS = 200;
/** The per-(account, MPxN) start limit (services/reidentification/starting.ts): tokens per meter point. */
const STARTS_PER_MPXN = 5;
const DAY = 24 * 60 * 60 * 1000;
/**
 * The withdrawal receiver answers this long after a request has arrived, so that at the kill
 * some deliveries are likely in flight on the victim (received, outcome not yet recorded).
 */
const HOOK_DELAY_MS = 1000;
/** The webhook receiver's answer delay, read per request: HOOK_DELAY_MS during the load, 0 after. */
const hookTiming = { answerAfterMs: HOOK_DELAY_MS };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** `fn` over `items`, at most `n` at a time. */
async function inParallel<T>(n: number, items: T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** Every row of an admin list, following next-cursor (500 a page). */
async function listAll(base: string, token: string, path: string, key: string): Promise<any[]> {
  const rows: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await call(base, 'GET', `${path}${path.includes('?') ? '&' : '?'}limit=500${cursor ? `&cursor=${cursor}` : ''}`, { token });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    rows.push(...res.body[key]);
    cursor = res.body['next-cursor'];
  } while (cursor);
  return rows;
}

/**
 * The customer's side of a magic link, over real HTTP: open the page (it sets the CSRF cookie
 * and embeds the form's token), then press "Yes, it's me". Returns the POST's status.
 */
async function confirmMagicLink(link: string): Promise<number> {
  const page = await fetch(link, { signal: AbortSignal.timeout(15_000) });
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !csrf) throw new Error(`magic link page: ${page.status}`);
  const cookie = page.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const res = await fetch(link, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  await res.text();
  return res.status;
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
  const receivers: Receiver[] = [];
  /**
   * The kill test's consent.withdrawal subscription, what it saw, when the victim had died, and
   * the events whose delivery was leased then (the victim's in flight among them).
   */
  const withdrawals = { wid: '', secret: '', revoked: [] as string[], exitedAt: 0, leasedAtDeath: new Set<string>() };
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
      await Promise.all(receivers.map((r) => r.close()));
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
    const hooks = await startReceiver(() => 200, '/hooks', hookTiming);
    receivers.push(hooks);
    const sub = await call(url, 'POST', '/v1/webhooks', { token: bright, body: { 'callback-url': hooks.url, 'alert-email': 'ops@bright-energy.example', 'event-types': ['consent.withdrawal'] } });
    expect(sub.status).toBe(201);
    withdrawals.wid = sub.body.webhook.wid;
    withdrawals.secret = sub.body['signing-secret'];
    const admin = await token(url, 'admin_ops');
    const clock = await call(url, 'GET', '/v1/admin/clock', { token: admin });
    expect(clock.status).toBe(200);

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
      withdrawals.exitedAt = Date.now();
      victimDown = (await call(node(VICTIM), 'GET', '/ready')).status === 0;
      // Read from a live node. A row the victim had claimed keeps its lease (its next attempt,
      // a lease after the claim) well past this read, so it is among these; so are the rows
      // live nodes were delivering at that moment.
      const registerNow = Date.now() + (clock.body['offset-ms'] as number);
      const pending = await listAll(node(0), admin, `/v1/admin/deliveries?wid=${withdrawals.wid}&status=pending`, 'deliveries');
      withdrawals.leasedAtDeath = new Set(pending.filter((r) => r.attempts === 0 && Date.parse(r['next-attempt-at']) > registerNow).map((r) => r['event-id'] as string));
      await new Promise((r) => setTimeout(r, Math.max(0, start + (2 * SECONDS * 1000) / 3 - Date.now())));
      await cluster!.restart(VICTIM);
    })();
    await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), chaos]);

    expect(victimDown).toBe(true);
    withdrawals.revoked = revoked;
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

  it('delivers every queued consent.withdrawal, signed; twice only when the killed node had it in flight', async () => {
    const url = cluster!.url;
    const admin = await token(url, 'admin_ops');
    const hooks = receivers[0];
    // The delay kept deliveries in flight while the node died; from here it would only slow
    // the live nodes' backlog and the clock's catch-up.
    hookTiming.answerAfterMs = 0;
    // A delivery the victim had claimed stays leased (the request timeout plus a minute, on the
    // register's clock; docs/webhooks.md "Delivery, retries and alerts") before another node may
    // take it, so the sandbox clock is moved past those leases. A move shortens the leases live
    // nodes hold too: one that ran out under a request still open would be claimed and sent
    // again, its first outcome not recorded (docs/sandbox.md "The sandbox clock", several
    // registers on one database), and that duplicate would say nothing about the kill. So the
    // clock moves only once the live nodes have settled: every event delivered except the rows
    // leased before the victim died (the next attempt of a leased row is its lease's end, so
    // theirs is at most a lease after the death) and any whose failed attempt waits for its
    // retry. A live node's claim from before the death has been answered or given up within the
    // request timeout, so once that has passed the rows still leased are the victim's.
    const clockNow = await call(url, 'GET', '/v1/admin/clock', { token: admin });
    expect(clockNow.status).toBe(200);
    const offset = clockNow.body['offset-ms'] as number;
    const leasedBeforeDeath = withdrawals.exitedAt + offset + WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS;
    const unsettled = (r: any) => {
      if (r.status === 'delivered') return false;
      if (r.status !== 'pending') return true;
      const next = Date.parse(r['next-attempt-at']);
      // Due: a live node is about to claim it.
      if (next <= Date.now() + offset) return true;
      // A failed attempt was recorded (the lease let go): it waits for its retry.
      if (r.attempts > 0) return false;
      // Leased after the victim died: a live node's delivery in flight.
      return next > leasedBeforeDeath;
    };
    let rows: any[];
    const settleBy = Date.now() + 30_000;
    for (;;) {
      rows = await listAll(url, admin, `/v1/admin/deliveries?wid=${withdrawals.wid}`, 'deliveries');
      const settled = rows.length >= withdrawals.revoked.length && !rows.some(unsettled) && Date.now() > withdrawals.exitedAt + WEBHOOK_TIMEOUT_MS + 1000;
      if (settled || Date.now() > settleBy) break;
      await sleep(300);
    }
    expect(rows.filter(unsettled).map((r) => `${r['event-id']} ${r.status} next ${r['next-attempt-at']}`)).toEqual([]);
    const waiting = rows.filter((r) => r.status === 'pending');
    // Set just past the last of them (the list shows whole seconds, hence 2 s). Each is due
    // less than a lease from now, so a lease taken while the clock catches up (at or after the
    // register's now, by any node) ends after the target: none runs out under an open request.
    let moved: Answer | null = null;
    if (waiting.length > 0) {
      const target = Math.max(...waiting.map((r) => Date.parse(r['next-attempt-at']))) + 2000;
      moved = await call(url, 'POST', '/v1/admin/clock', { token: admin, body: { set: new Date(target).toISOString() } });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      rows = await listAll(url, admin, `/v1/admin/deliveries?wid=${withdrawals.wid}`, 'deliveries');
      if ((rows.length >= withdrawals.revoked.length && rows.every((r) => r.status === 'delivered')) || Date.now() > deadline) break;
      await sleep(300);
    }
    const receipts = new Map<string, Received[]>();
    for (const g of hooks.received) receipts.set(String(g.headers['webhook-id']), [...(receipts.get(String(g.headers['webhook-id'])) ?? []), g]);
    const ids = new Set(rows.map((r) => r['event-id']));
    const twice = rows.filter((r) => (receipts.get(r['event-id'])?.length ?? 0) > 1);
    console.log(
      `cluster webhooks: ${withdrawals.revoked.length} acknowledged revokes, ${rows.length} events queued, ${hooks.received.length} requests received, ${twice.length} event(s) received twice; ${withdrawals.leasedAtDeath.size} leased when the victim died, ${waiting.length} still pending before the clock moved; clock ${moved ? `moved ${JSON.stringify(moved.body.ran)}` : 'not moved'}`,
    );

    // Every acknowledged revoke queued its event, and every queued event was delivered.
    const queuedFor = new Set(rows.map((r) => r.payload.ak));
    expect(withdrawals.revoked.filter((ak) => !queuedFor.has(ak))).toEqual([]);
    expect(rows.filter((r) => r.status !== 'delivered').map((r) => `${r['event-id']} ${r.status}`)).toEqual([]);
    expect(rows.filter((r) => !receipts.has(r['event-id'])).map((r) => r['event-id'])).toEqual([]);
    // Nothing arrived that the register did not queue for this subscription.
    expect([...receipts.keys()].filter((id) => !ids.has(id))).toEqual([]);
    for (const r of rows) {
      const got = receipts.get(r['event-id'])!;
      for (const g of got) {
        expect(g.json['event-id']).toBe(r['event-id']);
        expect(g.json.payload).toEqual(r.payload);
        expect(g.raw).toBe(got[0].raw);
        expect(verifyStandardWebhook(withdrawals.secret, g.headers, g.raw)).toBe(true);
        expect(verifyDarSignature(withdrawals.secret, g.headers, g.raw)).toBe(true);
      }
      // Received once per recorded attempt, plus at most the one whose outcome the victim never
      // recorded: that one reached the receiver before the victim died.
      const unrecorded = got.length - r.attempts;
      expect([0, 1], r['event-id']).toContain(unrecorded);
      if (got.length > 1) {
        expect(unrecorded, r['event-id']).toBe(1);
        expect(got.length).toBe(2);
        expect(withdrawals.leasedAtDeath.has(r['event-id']), `${r['event-id']} was not leased when the victim died`).toBe(true);
        expect(got[0].at).toBeLessThanOrEqual(withdrawals.exitedAt + 1000);
      }
    }
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

  it(`${TOKENS} re-identification tokens, each used from the three nodes at once: one use succeeds, the others answer 409`, async () => {
    const url = cluster!.url;
    const [bright, octopus, admin] = await Promise.all(['bright_energy', 'octopusflux', 'admin_ops'].map((a) => token(url, a)));
    const duid = (await call(url, 'GET', '/v1/self', { token: octopus })).body.account.duid as string;
    const octopusRecords = async () => (await call(url, 'GET', `/v1/admin/records?duid=${duid}&limit=1`, { token: admin })).body.total as number;
    const before = await octopusRecords();
    // Bright Energy's customers, each with an e-mail address: OctopusFlux re-identifies them by
    // meter point (the cross-Data-User flow). At most STARTS_PER_MPXN starts per (account,
    // meter point) in 15 minutes, so the tokens are spread over that many meter points.
    const mpxns = Array.from({ length: Math.ceil(TOKENS / STARTS_PER_MPXN) }, (_, i) => `1950${String(i).padStart(6, '0')}`);
    await inParallel(6, mpxns, async (mpxn, i) => {
      const res = await call(url, 'POST', '/v1/identity-records', {
        token: bright,
        body: { 'pii-principal': { mpxn, 'move-in-date': '2024-01-01' }, email: `reid-${i}@example.com`, 'expressed-by': 'data-subject' },
      });
      if (res.status !== 201) throw new Error(`identity record for ${mpxn}: ${res.status} ${JSON.stringify(res.body)}`);
    });
    // Started, read from the outbox as the customer's mailbox, and confirmed on the page, each
    // request through the proxy (so on whichever node it lands).
    const refs: string[] = new Array(TOKENS);
    await inParallel(8, [...refs.keys()], async (k) => {
      const start = await call(url, 'POST', '/v1/identity-records/reidentify', { token: octopus, body: { mpxn: mpxns[k % mpxns.length], method: 'magic-link' } });
      if (start.status !== 200) throw new Error(`re-identify ${k}: ${start.status} ${JSON.stringify(start.body)}`);
      refs[k] = start.body['magic-link']['token-ref'];
    });
    const mails = await listAll(url, admin, '/v1/admin/outbox?purpose=reidentification.magic-link', 'messages');
    const links = new Map<string, string>(mails.map((m) => [m.ref, (m.links as string[]).find((l) => l.includes('/id/magic/'))!]));
    expect(refs.filter((ref) => !links.get(ref))).toEqual([]);
    await inParallel(8, refs, async (ref) => {
      const confirmed = await confirmMagicLink(links.get(ref)!);
      if (confirmed !== 200) throw new Error(`confirming ${ref}: ${confirmed}`);
    });

    // Each token at once on node 1, 2 and 3; a few tokens at a time, so no request waits long
    // enough to time out on a small machine.
    const answers: Answer[][] = new Array(TOKENS);
    await inParallel(6, refs, async (ref, k) => {
      answers[k] = await Promise.all(
        [0, 1, 2].map((i) =>
          call(node(i), 'POST', '/v1/access-records', {
            token: octopus,
            body: consentBody(null, { 'reidentification-token': ref, processing: { 'legal-basis': 'uk-consent', purpose: `Cluster token ${k}`, 'data-types': ['HH-CONSUMPTION'] } }),
          }),
        ),
      );
    });
    const all = answers.flat();
    const created = all.filter((a) => a.status === 201);
    const refused = all.filter((a) => a.status === 409);
    console.log(`cluster tokens: ${TOKENS} tokens × 3 nodes: ${created.length} × 201, ${refused.length} × 409, others ${JSON.stringify(all.filter((a) => a.status !== 201 && a.status !== 409).map((a) => a.status))}`);
    expect(answers.map((a) => a.map((x) => x.status).sort()).filter((s) => s.join() !== '201,409,409')).toEqual([]);
    expect(created).toHaveLength(TOKENS);
    expect(refused).toHaveLength(2 * TOKENS);
    expect(refused.every((a) => a.body.errors[0]['error-code'] === 'CON001')).toBe(true);
    expect(new Set(created.map((a) => a.body['access-token'].key)).size).toBe(TOKENS);
    expect((await octopusRecords()) - before).toBe(TOKENS);
  });

  it('the sandbox clock moved on one node: all follow within 1 s; each record expires once, each notice is sent once', async () => {
    const url = cluster!.url;
    const [green, admin] = await Promise.all(['greenswitch', 'admin_ops'].map((a) => token(url, a)));
    const hooks = await startReceiver(() => 200, '/hooks');
    receivers.push(hooks);
    // Two subscriptions of one Data User, with different notice windows.
    const subs: { wid: string; days: number }[] = [];
    for (const days of [30, 10]) {
      // One Data User cannot subscribe one URL twice: a path per subscription.
      const res = await call(url, 'POST', '/v1/webhooks', {
        token: green,
        body: { 'callback-url': `${hooks.url}/${days}`, 'alert-email': 'ops@greenswitch.example', 'event-types': ['consent.expiring'], 'notify-days-before': days },
      });
      expect(res.status).toBe(201);
      subs.push({ wid: res.body.webhook.wid, days });
    }
    const ir = await call(url, 'POST', '/v1/identity-records', { token: green, body: { 'pii-principal': { mpxn: '1960000001', 'move-in-date': '2024-01-01' }, 'expressed-by': 'data-subject' } });
    expect(ir.status).toBe(201);
    const now = Date.parse((await call(url, 'GET', '/v1/admin/clock', { token: admin })).body.now);
    // Expiring 35 to 58 days from now: no notice window is open yet (the widest opens 30 days ahead).
    const records: { ak: string; expiresAt: number }[] = [];
    for (let i = 0; i < 24; i++) {
      const expiry = new Date(now + (35 + i) * DAY).toISOString().slice(0, 10);
      const body = consentBody(ir.body.ir, { processing: { 'legal-basis': 'uk-consent', purpose: `Cluster expiry ${i}`, 'data-types': ['HH-CONSUMPTION'] } });
      body['access-event'].expiry = expiry;
      const res = await call(url, 'POST', '/v1/access-records', { token: green, body });
      expect(res.status).toBe(201);
      records.push({ ak: res.body['access-token'].key, expiresAt: Date.parse(`${expiry}T00:00:00Z`) });
    }
    const target = now + 47 * DAY;
    const expiring = records.filter((r) => r.expiresAt <= target);
    const staying = records.filter((r) => r.expiresAt > target);
    expect(expiring.length).toBeGreaterThan(0);
    expect(staying.length).toBeGreaterThan(0);

    const moved = await call(node(0), 'POST', '/v1/admin/clock', { token: admin, body: { set: new Date(target).toISOString() } });
    const answeredAt = Date.now();
    expect(moved.status).toBe(200);
    // How long after node 1 answered each other node shows the same offset (polled every 20 ms).
    const lag = await Promise.all(
      [1, 2].map(async (i) => {
        for (;;) {
          const seen = await call(node(i), 'GET', '/v1/admin/clock', { token: admin });
          if (seen.body['offset-ms'] === moved.body['offset-ms']) return Date.now() - answeredAt;
          if (Date.now() - answeredAt > 5000) return Infinity;
          await sleep(20);
        }
      }),
    );
    console.log(`cluster clock: moved ${JSON.stringify(moved.body.ran)}; nodes 2 and 3 followed after ${lag.join(' ms, ')} ms`);
    expect(lag.every((ms) => ms <= 1000)).toBe(true);

    // Expired on every node, and once: one audit event per record, none for the others.
    for (const r of expiring) {
      const states = await Promise.all([0, 1, 2].map((i) => call(node(i), 'GET', `/v1/access-records/${r.ak}`).then((a) => a.body['access-record']['access-event'].state)));
      expect(states).toEqual(['EXPIRED', 'EXPIRED', 'EXPIRED']);
    }
    const admin2 = await token(url, 'admin_ops');
    const expiredEvents = await listAll(url, admin2, '/v1/admin/audit?event-type=access-record.expired', 'events');
    const expiredCount = (ak: string) => expiredEvents.filter((e) => e.ak === ak).length;
    expect(expiring.map((r) => expiredCount(r.ak))).toEqual(expiring.map(() => 1));
    expect(staying.map((r) => expiredCount(r.ak))).toEqual(staying.map(() => 0));

    // One consent.expiring per subscription and record whose window opened before the target.
    for (const sub of subs) {
      const due = records.filter((r) => r.expiresAt - sub.days * DAY <= target).map((r) => r.ak);
      let rows: any[];
      const deadline = Date.now() + 15_000;
      do {
        rows = await listAll(url, admin2, `/v1/admin/deliveries?wid=${sub.wid}`, 'deliveries');
        if (rows.length >= due.length && rows.every((r) => r.status === 'delivered')) break;
        await sleep(300);
      } while (Date.now() < deadline);
      expect(rows.map((r) => r.payload.ak).sort()).toEqual([...due].sort());
      expect(rows.filter((r) => r.status !== 'delivered' || r.attempts !== 1)).toEqual([]);
      const got = hooks.received.filter((g) => g.json?.wid === sub.wid);
      expect(got.map((g) => g.json.payload.ak).sort()).toEqual([...due].sort());
      expect(got.every((g) => g.json['event-type'] === 'consent.expiring')).toBe(true);
    }
  });

  it('the audit chain verifies and nothing stays unlinked', async () => {
    const admin = await token(cluster!.url, 'admin_ops');
    let verify = await call(cluster!.url, 'GET', '/v1/admin/audit/verify', { token: admin });
    expect(verify.status).toBe(200);
    expect(verify.body, JSON.stringify(verify.body)).toMatchObject({ intact: true });
    const deadline = Date.now() + 3000;
    while (verify.body.unlinked !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      verify = await call(cluster!.url, 'GET', '/v1/admin/audit/verify', { token: admin });
    }
    console.log(`cluster audit: ${JSON.stringify(verify.body)}`);
    expect(verify.body).toMatchObject({ intact: true, unlinked: 0 });
  });

  it('leaves no node process, and not the key file it made, behind once stopped', async () => {
    const { nodes, keysFile } = cluster!;
    expect(existsSync(keysFile)).toBe(true);
    await cluster!.stop();
    cluster = undefined;
    expect(nodes.every((n) => n.process.exitCode !== null || n.process.signalCode !== null)).toBe(true);
    expect(nodeProcesses(d!.url)).toBe('');
    // It held this run's secrets (no --keys-file was given): gone with the cluster.
    expect(existsSync(dirname(keysFile))).toBe(false);
  });
});
