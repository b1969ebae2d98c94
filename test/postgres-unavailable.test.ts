/**
 * PostgreSQL going away under a register (db/postgres-store.ts databaseUnavailable, the error
 * handler, `/ready`), on the shared test server. The whole-cluster version, with PostgreSQL itself
 * killed and restarted, is test/cluster/pg-restart.test.ts.
 *
 * - A connection cut while a unit of work holds it (pg_terminate_backend, as a server restart
 *   does) fails that unit with an error recognised as "unavailable", and the process carries on:
 *   node-postgres emits 'error' on the cut connection, fatal to the process with no listener.
 * - A register reaching PostgreSQL through a TCP gate of the test's own: with the gate shut
 *   (connections refused, open ones cut) every request answers 503 SRV001 with Retry-After,
 *   `/ready` too, `/health` 200; with the gate open again it answers 2xx by itself. With the gate
 *   accepting connections but never answering, a request answers 503 once the connect timeout
 *   has passed rather than hanging.
 * - Faults of the query itself (a duplicate key, bad SQL) and SQLite's errors are not "unavailable".
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT_TIMEOUT_MS, databaseUnavailable, PostgresStore } from '../src/server/db/postgres-store.js';
import { connect, PG_HOST, PG_PORT, postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

/**
 * A TCP forwarder to the test server that can be shut (refuses connections and cuts the open
 * ones, as a stopped server does), opened again, or made silent (accepts, never answers).
 */
interface Gate {
  port: number;
  shut(): Promise<void>;
  silence(): void;
  open(): Promise<void>;
  close(): Promise<void>;
}

async function startGate(): Promise<Gate> {
  const sockets = new Set<Socket>();
  let silent = false;
  let server: Server | null = null;
  let port = 0;
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        sockets.add(client);
        client.on('close', () => sockets.delete(client));
        client.on('error', () => undefined);
        if (silent) return;
        const upstream = createConnection({ host: PG_HOST, port: PG_PORT });
        sockets.add(upstream);
        upstream.on('close', () => (sockets.delete(upstream), client.destroy()));
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, PG_HOST, () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await listen();
  return {
    get port() {
      return port;
    },
    async shut() {
      const closed = stopListening();
      cutAll();
      await closed;
      server = null;
    },
    silence() {
      silent = true;
      cutAll();
    },
    async open() {
      silent = false;
      if (!server) await listen();
    },
    async close() {
      const closed = stopListening();
      cutAll();
      await closed;
    },
  };
}

/** A 503 in the error envelope: SRV001, with Retry-After. */
function expectUnavailable(res: { status: number; body: any; headers: Record<string, unknown> }, what: string): void {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(503);
  expect(res.headers['retry-after']).toBe('1');
  expect(res.body.response).toMatchObject({ resource: expect.any(String), 'transaction-id': expect.stringMatching(/^tid_/) });
  expect(res.body.errors).toEqual([{ 'error-code': 'SRV001', message: expect.stringContaining('retry after') }]);
}

describe.skipIf(!postgresAvailable())('PostgreSQL unreachable', () => {
  let d: TestDatabase;
  beforeAll(async () => {
    d = await testDatabase('unavailable');
  });
  afterAll(async () => {
    await d?.drop();
  });

  it('a connection cut while a unit holds it fails that unit as "unavailable"; the store carries on', async () => {
    const store = new PostgresStore({ url: d.url, applicationName: 'unavailable test' });
    const admin = await connect(d.name);
    const terminate = () => admin.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'unavailable test'");
    try {
      // Cut while a query runs on it…
      const during = await store
        .tx(async () => {
          await store.rows(sql`select 1`);
          await Promise.all([store.rows(sql`select pg_sleep(5)`), new Promise((r) => setTimeout(r, 100)).then(terminate)]);
        })
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(during).toBeInstanceOf(Error);
      expect(databaseUnavailable(during)).toBe(true);
      // …and while the unit waits between queries (no query for the error to go to).
      const between = await store
        .tx(async () => {
          await store.rows(sql`select 1`);
          await terminate();
          await new Promise((r) => setTimeout(r, 200));
          await store.rows(sql`select 1`);
        })
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(databaseUnavailable(between)).toBe(true);
      // Still alive, and the next unit gets a new connection.
      expect(await store.tx(() => store.rows<{ n: number }>(sql`select 2 as n`))).toEqual([{ n: 2 }]);
    } finally {
      await admin.end();
      await store.close();
    }
  });

  it('faults of the query itself, and SQLite errors, are not "unavailable"', async () => {
    const store = new PostgresStore({ url: d.url });
    const sqlite = new Database(':memory:');
    try {
      const caught = (p: Promise<unknown>) =>
        p.then(
          () => null,
          (err: unknown) => err,
        );
      const put = () => store.db.insert(store.tables.settings).values({ key: 'unavailable-dup', value: 'x', updatedAt: new Date().toISOString() });
      await put();
      const duplicate = await caught(put());
      expect((duplicate as Error & { cause?: { code?: string } }).cause?.code).toBe('23505');
      expect(databaseUnavailable(duplicate)).toBe(false);
      expect(databaseUnavailable(await caught(store.rows(sql`select from nowhere_at_all`)))).toBe(false);
      let sqliteError: unknown;
      try {
        sqlite.exec('select from nowhere');
      } catch (err) {
        sqliteError = err;
      }
      expect(sqliteError).toBeInstanceOf(Error);
      expect(databaseUnavailable(sqliteError)).toBe(false);
      expect(databaseUnavailable(new Error('something else'))).toBe(false);
      expect(databaseUnavailable('ECONNREFUSED')).toBe(false);
    } finally {
      sqlite.close();
      await store.close();
    }
  });

  describe('a register behind a gate', () => {
    let gate: Gate;
    let r: TestRegister;
    let ir: string;
    beforeAll(async () => {
      gate = await startGate();
      r = await testRegister({ databaseUrl: `postgres://postgres@${PG_HOST}:${gate.port}/${d.name}` });
      const res = await r.call('bright_energy', 'POST', '/v1/identity-records', {
        'pii-principal': { mpxn: '1912345678905', 'move-in-date': '2024-01-01', address: { addressLine1: '1 Gate Road', townCity: 'Leeds', postcode: 'LS1 1AA' } },
        email: 'gate@example.com',
        'expressed-by': 'data-subject',
      });
      expect(res.status).toBe(201);
      ir = res.body.ir;
    });
    afterAll(async () => {
      await gate?.open();
      await r?.close();
      await gate?.close();
    });
    const create = () => r.call('bright_energy', 'POST', '/v1/access-records', consentBody(ir));

    it('answers 503 SRV001 while the database is unreachable, /ready too, /health 200; 2xx again once it is back', async () => {
      const before = await create();
      expect(before.status).toBe(201);
      expect((await r.call(null, 'GET', '/ready')).status).toBe(200);

      await gate.shut();
      expectUnavailable(await create(), 'create');
      expectUnavailable(await r.call('bright_energy', 'DELETE', `/v1/access-records/${before.body['access-token'].key}?reason=customer-request`), 'revoke');
      expectUnavailable(await r.call(null, 'GET', `/v1/access-records/${before.body['access-token'].key}`), 'read');
      expectUnavailable(await r.call(null, 'GET', '/ready'), '/ready');
      expect((await r.call(null, 'GET', '/health')).status).toBe(200);

      await gate.open();
      expect((await r.call(null, 'GET', '/ready')).status).toBe(200);
      const after = await create();
      expect(after.status).toBe(201);
      const revoked = await r.call('bright_energy', 'DELETE', `/v1/access-records/${before.body['access-token'].key}?reason=customer-request`);
      expect(revoked.status).toBe(200);
    });

    it(`a database that accepts but never answers is a 503 after the connect timeout (${CONNECT_TIMEOUT_MS} ms), not a hang`, { timeout: CONNECT_TIMEOUT_MS * 3 }, async () => {
      gate.silence();
      try {
        const [created, ready] = await Promise.all([create(), r.call(null, 'GET', '/ready')]);
        expectUnavailable(created, 'create');
        expectUnavailable(ready, '/ready');
      } finally {
        await gate.open();
      }
      expect((await create()).status).toBe(201);
    });
  });
});
