import { Type } from 'typebox';
import { issueToken, parseBasic, TOKEN_TTL_SECONDS } from '../../http/auth.js';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { ApiError } from '../../lib/errors.js';
import { FailureLimiter } from '../../lib/failure-limiter.js';
import { Ok } from '../../schemas/common.js';

/** GET /v1/auth/token — Basic credentials → bearer JWT (contract §2). */
const auth: RouteModule = (app, { reg, svc }) => {
  // 10 failures in 15 minutes per account, or 50 per client address, block further tries.
  const perAccount = new FailureLimiter(10, 15 * 60_000);
  const perAddress = new FailureLimiter(50, 15 * 60_000);

  app.get(
    '/auth/token',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange Basic credentials for a bearer token (valid 7200 s)',
        security: [{ basic: [] }],
        response: { 200: Ok({ 'bearer-token': Type.String(), expires: Type.Integer() }) },
      },
    },
    async (req) => {
      const creds = parseBasic(req.headers.authorization);
      if (!creds) throw new ApiError(401, 'AUTH004', 'Send HTTP Basic credentials: Authorization: Basic base64(account_id:secret_key)', [], { 'WWW-Authenticate': 'Basic realm="dar"' });
      const wait = Math.max(perAccount.blockedFor(creds.accountId), perAddress.blockedFor(req.ip));
      if (wait > 0) throw new ApiError(429, 'RATE001', `Too many failed sign-in attempts; try again in ${wait} s`, [], { 'Retry-After': String(wait) });
      const account = await svc.accounts.authenticate(creds.accountId, creds.secret);
      if (!account) {
        perAccount.fail(creds.accountId);
        perAddress.fail(req.ip);
        throw new ApiError(401, 'AUTH005', 'Account id or secret key is wrong');
      }
      if (account.status !== 'active') throw new ApiError(401, 'AUTH006', `Account is ${account.status}`);
      perAccount.reset(creds.accountId);
      return { response: envelope(req, reg.clock.now()), 'bearer-token': await issueToken(reg, account), expires: TOKEN_TTL_SECONDS };
    },
  );
};
export default auth;
