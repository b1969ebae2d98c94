/**
 * GET /v1/admin/audit/verify while events are appended and linked, on either engine: the check
 * reads the anchor, the chain and the unlinked events in several statements, and a link run or
 * a new event between them made an intact chain read as broken ("the chain anchor is older
 * than the chain", "the newest events are missing"). The check now keeps this process's linker
 * out, and (PostgreSQL) other nodes' by the linker's job lock (AuditLog.verify).
 */
import { describe, expect, it } from 'vitest';
import { LINKER_BATCH } from '../src/server/services/audit.js';
import { testRegister } from './support/register.js';

describe('audit verify while events are appended and linked', () => {
  it('never reports an intact chain as broken', async () => {
    const r = await testRegister();
    let stop = false;
    let writer: Promise<void> | undefined;
    try {
      let appended = 0;
      // Appends and links as a busy node does, as fast as it can, until the checks are done.
      writer = (async () => {
        while (!stop) {
          await r.reg.tx(() => r.reg.audit.append({ actor: 'register', eventType: 'test.event', detail: { n: appended } }));
          appended++;
          if (appended % 2 === 0) await r.reg.tx(() => r.reg.audit.linkPending());
          // Now and then, let the checks' requests in: on SQLite a unit can settle without
          // leaving the microtask queue (a real writer is a request, which waits for I/O), and
          // in between the writer runs between the check's own awaits, as requests do.
          if (appended % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const faults: string[] = [];
      for (let n = 0; n < 100; n++) {
        const v = await r.call('admin_ops', 'GET', '/v1/admin/audit/verify');
        expect(v.status).toBe(200);
        if (!v.body.intact) faults.push(`${v.body['first-broken-id']}: ${v.body.reason}`);
      }
      stop = true;
      await writer;
      expect(appended).toBeGreaterThan(20);
      expect(faults).toEqual([]);
      // The linker still links once the checks are over, and the whole chain verifies.
      await r.reg.tx(() => r.reg.audit.linkPending());
      expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body).toMatchObject({ intact: true, unlinked: 0 });
    } finally {
      stop = true;
      await writer;
      await r.close();
    }
  });

  it('links a backlog in batches of at most LINKER_BATCH events, letting other work run between them', async () => {
    const r = await testRegister();
    try {
      await r.svc.auditLinker.runOnce();
      const backlog = LINKER_BATCH * 2 + 17;
      for (let i = 0; i < backlog; i += 50) {
        await r.reg.tx(async () => {
          for (let j = i; j < Math.min(i + 50, backlog); j++) await r.reg.audit.append({ actor: 'register', eventType: 'test.event', detail: { n: j } });
        });
      }
      const linkPending = r.reg.audit.linkPending.bind(r.reg.audit);
      const batches: { max: number | undefined; linked: number; turnsBefore: number }[] = [];
      // Another task that runs once per turn of the event loop while the linker works: a request.
      let turns = 0;
      let running = true;
      const other = () => {
        turns++;
        if (running) setImmediate(other);
      };
      setImmediate(other);
      r.reg.audit.linkPending = async (max?: number) => {
        const turnsBefore = turns;
        const linked = await linkPending(max);
        batches.push({ max, linked, turnsBefore });
        return linked;
      };
      const linked = await r.svc.auditLinker.runOnce();
      running = false;
      expect(linked).toBe(backlog);
      expect(batches.map((b) => b.linked)).toEqual([LINKER_BATCH, LINKER_BATCH, 17]);
      expect(batches.every((b) => b.max === LINKER_BATCH)).toBe(true);
      // The other task ran between every two batches.
      for (let i = 1; i < batches.length; i++) expect(batches[i].turnsBefore).toBeGreaterThan(batches[i - 1].turnsBefore);
      expect(await r.reg.audit.hasPending()).toBe(false);
      expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body).toMatchObject({ intact: true });
    } finally {
      await r.close();
    }
  });
});
