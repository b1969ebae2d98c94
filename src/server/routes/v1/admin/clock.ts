import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { ApiError, conflict, invalid } from '../../../lib/errors.js';
import { ClockRan, ClockState } from '../../../../shared/schemas/admin.js';
import { DateTime, Ok } from '../../../../shared/schemas/common.js';

/** Ten years: far enough for any expiry scenario, small enough to stay a valid date. */
const MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600;

const ClockResponse = Ok(ClockState.properties);

/**
 * /v1/admin/clock — the sandbox clock [ours]. Moving it moves the register's "now" for
 * everything (expiry, tokens, retry schedules); the offset persists across restarts. It
 * only moves forward (reset returns to real time); on the way it stops at every due
 * instant in order (services/sandbox-clock.ts). Production: read-only.
 */
const adminClock: RouteModule = (app, { reg, svc }) => {
  const view = () => ({ now: `${reg.clock.iso().slice(0, 19)}Z`, 'offset-ms': reg.clock.offset, mode: reg.config.mode });
  // Refused before the body is looked at, like every sandbox-only route.
  const sandboxOnly = async () => {
    if (reg.config.mode !== 'sandbox') throw new ApiError(403, 'AUTH003', 'The clock can only be changed on a sandbox register; a production register always runs on real time');
  };

  app.get('/admin/clock', { schema: { summary: "The register's clock (sandbox: with its offset from real time)", response: { 200: ClockResponse } } }, async (req) => ({ response: envelope(req, reg.clock.now()), ...view() }));

  app.post(
    '/admin/clock',
    {
      onRequest: sandboxOnly,
      schema: {
        summary:
          'Sandbox only: set the clock to an instant (set), advance it (advance-seconds), or reset it to real time. It only moves forward; every retry, expiry and consent.expiring notice that falls due on the way runs in order before the answer',
        body: Type.Object(
          {
            set: Type.Optional({ ...DateTime, description: "The instant to move to (not before the register's now, at most 10 years ahead)" }),
            'advance-seconds': Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ADVANCE_SECONDS })),
            reset: Type.Optional(Type.Literal(true)),
          },
          { additionalProperties: false },
        ),
        response: { 200: Ok({ ...ClockState.properties, ran: ClockRan }) },
      },
    },
    async (req) => {
      const { set, 'advance-seconds': advance } = req.body;
      const reset = req.body.reset === true;
      if ([set !== undefined, advance !== undefined, reset].filter(Boolean).length !== 1) throw invalid('Give exactly one of set, advance-seconds or reset: true');
      const before = reg.clock.offset;
      let offset = 0;
      if (set !== undefined) {
        const nowMs = reg.clock.now().getTime();
        const target = Date.parse(set);
        if (target < nowMs) throw conflict(`The sandbox clock only moves forward: ${set} is before the register's now (${reg.clock.iso().slice(0, 19)}Z); use reset: true to return to real time`);
        if (target - nowMs > MAX_ADVANCE_SECONDS * 1000) throw invalid(`set may be at most ${MAX_ADVANCE_SECONDS / 86400} days after the register's now`);
        offset = before + (target - nowMs);
      } else if (advance !== undefined) offset = before + advance * 1000;
      await reg.tx(() =>
        reg.audit.append({
          actor: req.account.accountId,
          eventType: 'sandbox.clock-changed',
          detail: { 'previous-offset-ms': before, 'offset-ms': offset, ...(reset ? { reset: true } : {}), ...(set !== undefined ? { set } : {}), ...(advance !== undefined ? { 'advance-seconds': advance } : {}) },
        }),
      );
      const ran = reset ? await svc.sandboxClock.reset() : await svc.sandboxClock.moveTo(offset);
      return { response: envelope(req, reg.clock.now()), ...view(), ran };
    },
  );
};
export default adminClock;
