import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import type { RouteModule } from '../../../http/types.js';
import { ApiError, invalid } from '../../../lib/errors.js';
import { Ok } from '../../../schemas/common.js';
import { saveClockOffset } from '../../../services/settings.js';

/** Ten years: far enough for any expiry scenario, small enough to stay a valid date. */
const MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600;

const ClockResponse = Ok({
  now: Type.String(),
  'offset-ms': Type.Integer(),
  mode: Type.String(),
});

/**
 * /v1/admin/clock — the sandbox clock [ours]. Advancing it moves the register's "now" for
 * everything (expiry, tokens, retry schedules); the offset persists across restarts. The
 * sweeper and the webhook scheduler run at once after a change. Production: read-only.
 */
const adminClock: RouteModule = (app, { reg, svc }) => {
  const common = { tags: ['admin'], security: [{ bearer: [] }] };
  const view = () => ({ now: `${reg.clock.iso().slice(0, 19)}Z`, 'offset-ms': reg.clock.offset, mode: reg.config.mode });

  app.get(
    '/admin/clock',
    { schema: { ...common, summary: "The register's clock (sandbox: with its offset from real time)", response: { 200: ClockResponse } } },
    async (req) => ({ response: envelope(req, reg.clock.now()), ...view() }),
  );

  app.post(
    '/admin/clock',
    {
      schema: {
        ...common,
        summary: 'Sandbox only: advance the clock by advance-seconds, or reset it to real time; then sweep and deliver at once',
        body: Type.Object(
          {
            'advance-seconds': Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ADVANCE_SECONDS })),
            reset: Type.Optional(Type.Literal(true)),
          },
          { additionalProperties: false },
        ),
        response: { 200: ClockResponse },
      },
    },
    async (req) => {
      if (reg.config.mode !== 'sandbox') throw new ApiError(403, 'AUTH003', 'The clock can only be changed on a sandbox register; a production register always runs on real time');
      const advance = req.body['advance-seconds'];
      const reset = req.body.reset === true;
      if ((advance === undefined) === !reset) throw invalid('Give exactly one of advance-seconds or reset: true');
      const before = reg.clock.offset;
      const offset = reset ? 0 : before + advance! * 1000;
      reg.tx(() => {
        saveClockOffset(reg, offset);
        reg.audit.append({ actor: req.account.accountId, eventType: 'sandbox.clock-changed', detail: { 'previous-offset-ms': before, 'offset-ms': offset, ...(reset ? { reset: true } : { 'advance-seconds': advance }) } });
      });
      svc.sweeper.run();
      svc.delivery.kick();
      return { response: envelope(req, reg.clock.now()), ...view() };
    },
  );
};
export default adminClock;
