import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { ApiError } from '../../../lib/errors.js';
import { Ok } from '../../../../shared/schemas/common.js';
import { seedDemo } from '../../../seed/demo.js';
import { SNAPSHOT_ID_PATTERN, SNAPSHOT_NAME_MAX, SNAPSHOT_NAME_PATTERN } from '../../../services/snapshots.js';

const Snapshot = Type.Object({
  id: Type.String({ pattern: SNAPSHOT_ID_PATTERN }),
  name: Type.String(),
  'created-at': Type.String({ description: "The register's clock when it was saved (sandbox clock included)" }),
  'size-bytes': Type.Integer(),
});
const IdParams = Type.Object({ id: Type.String({ pattern: SNAPSHOT_ID_PATTERN, description: 'snap_ and 24 hex characters' }) }, { additionalProperties: false });

/**
 * /v1/admin/sandbox/snapshots, /v1/admin/sandbox/reset [ours] — save the register's whole
 * state under a name, list, restore, delete; reset to the demo data or empty. Sandbox only
 * (403 AUTH003 in production, before the body is looked at). See services/snapshots.ts.
 */
const adminSnapshots: RouteModule = (app, { reg, svc }) => {
  const sandboxOnly = async () => {
    if (reg.config.mode !== 'sandbox') throw new ApiError(403, 'AUTH003', 'Snapshots and reset are only available on a sandbox register');
  };

  app.get(
    '/admin/sandbox/snapshots',
    {
      onRequest: sandboxOnly,
      schema: {
        summary: 'Sandbox: the saved snapshots of the register, newest first',
        response: { 200: Ok({ snapshots: Type.Array(Snapshot), location: Type.String({ description: "Where they are kept: the data folder's snapshots/, or a temporary folder for an in-memory register" }) }) },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), snapshots: svc.snapshots.list(), location: svc.snapshots.location }),
  );

  app.post(
    '/admin/sandbox/snapshots',
    {
      onRequest: sandboxOnly,
      schema: {
        summary: "Sandbox: save the register's whole state (SQLite online backup, consistent while the register serves) under a name",
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: SNAPSHOT_NAME_MAX, pattern: SNAPSHOT_NAME_PATTERN, description: 'Letters, digits, spaces, . _ -; unique among the saved snapshots' }) },
          { additionalProperties: false },
        ),
        response: { 201: Ok(Snapshot.properties) },
      },
    },
    async (req, reply) => {
      const s = await svc.snapshots.create(req.account.accountId, req.body.name);
      reply.status(201);
      return { response: envelope(req, reg.clock.now()), ...s };
    },
  );

  app.post(
    '/admin/sandbox/snapshots/:id/restore',
    {
      onRequest: sandboxOnly,
      schema: {
        summary:
          'Sandbox: take the register back exactly to a snapshot (records, identity records, tokens, outbox, deliveries, clock offset, audit chain). Work in flight from before is dropped; the restore is audited on the restored chain',
        params: IdParams,
        response: { 200: Ok({ restored: Snapshot, now: Type.String(), 'offset-ms': Type.Integer() }) },
      },
    },
    async (req) => {
      const restored = await svc.snapshots.restore(req.account.accountId, req.params.id);
      return { response: envelope(req, reg.clock.now()), restored, now: `${reg.clock.iso().slice(0, 19)}Z`, 'offset-ms': reg.clock.offset };
    },
  );

  app.delete('/admin/sandbox/snapshots/:id', { onRequest: sandboxOnly, schema: { summary: 'Sandbox: delete a saved snapshot', params: IdParams, response: { 200: Ok({ deleted: Type.String() }) } } }, async (req) => {
    await svc.snapshots.remove(req.account.accountId, req.params.id);
    return { response: envelope(req, reg.clock.now()), deleted: req.params.id };
  });

  app.post(
    '/admin/sandbox/reset',
    {
      onRequest: sandboxOnly,
      schema: {
        summary: 'Sandbox: empty the register (accounts are kept, so every credential still works; the clock returns to real time), then load the demo data (seed: demo) or nothing (seed: empty). Audited on the fresh chain',
        body: Type.Object({ seed: Type.Union([Type.Literal('demo'), Type.Literal('empty')]) }, { additionalProperties: false }),
        response: { 200: Ok({ seed: Type.String(), now: Type.String(), 'offset-ms': Type.Integer() }) },
      },
    },
    async (req) => {
      const seed = req.body.seed;
      await svc.snapshots.reset(req.account.accountId, seed, async () => (seed === 'demo' ? seedDemo(reg, svc) : undefined));
      return { response: envelope(req, reg.clock.now()), seed: req.body.seed, now: `${reg.clock.iso().slice(0, 19)}Z`, 'offset-ms': reg.clock.offset };
    },
  );
};
export default adminSnapshots;
