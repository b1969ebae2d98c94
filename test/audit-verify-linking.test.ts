/**
 * GET /v1/admin/audit/verify while the linker links (PostgreSQL, where every node links): the
 * check reads the anchor, the chain and the unlinked events in several statements, and a
 * linker run committing between them made an intact chain read as broken ("the chain anchor
 * is older than the chain"). The check now holds the linker's job lock (AuditLog.verify).
 * SQLite is not covered here: its verify is unchanged (docs/security.md "The audit chain").
 */
import { describe, expect, it } from 'vitest';
import { TEST_ENGINE, testRegister } from './support/register.js';

describe.skipIf(TEST_ENGINE !== 'postgres')('audit verify while events are appended and linked (PostgreSQL)', () => {
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
});
