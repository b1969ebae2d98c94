/**
 * The sandbox clock on a register that shares its PostgreSQL database with other nodes. Moving
 * the clock runs everything that became due before it answers; the sweep it runs is a job one
 * node at a time may do. Another node's sweep holding that job at the moment the clock moved
 * made this node's sweep do nothing: the expiries were left for a later periodic sweep (up to
 * a minute later, and not counted in the answer). The clock's sweep now waits for the job.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { advisoryKey } from '../src/server/db/postgres-store.js';
import { consentBody, TEST_ENGINE, testRegister } from './support/register.js';

const DAY = 24 * 3600 * 1000;

describe.skipIf(TEST_ENGINE !== 'postgres')('sandbox clock beside other nodes (PostgreSQL)', () => {
  it("runs the expiries that became due even while another node's sweep holds the sweeper job", async () => {
    const r = await testRegister();
    // Another node, in the middle of a sweep batch: its transaction holds the sweeper's job lock.
    const other = new pg.Client({ connectionString: r.reg.config.databaseUrl! });
    await other.connect();
    try {
      const body = consentBody(r.demo!.ir);
      body['access-event'].expiry = new Date(r.reg.clock.now().getTime() + 2 * DAY).toISOString().slice(0, 10);
      const created = await r.call('bright_energy', 'POST', '/v1/access-records', body);
      expect(created.status).toBe(201);
      const ak = created.body['access-token'].key as string;

      await other.query('begin');
      await other.query('select pg_advisory_xact_lock($1)', [advisoryKey('job:sweeper').toString()]);
      const moving = r.call('admin_ops', 'POST', '/v1/admin/clock', { 'advance-seconds': 3 * 24 * 3600 });
      // The other node's batch ends a moment later.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await other.query('commit');
      const moved = await moving;
      expect(moved.status).toBe(200);
      expect(moved.body.ran['records-expired']).toBeGreaterThanOrEqual(1);
      // Expired in the database (not only as readers compute it), with its one audit event.
      expect((await r.probe.record(ak))!.state).toBe('EXPIRED');
      expect(await r.probe.auditEvents('access-record.expired', { ak })).toHaveLength(1);
    } finally {
      await other.end();
      await r.close();
    }
  });
});
