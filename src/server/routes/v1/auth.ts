import { Type } from 'typebox';
import { issueToken, parseBasic, TOKEN_TTL_SECONDS } from '../../http/auth.js';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { ApiError } from '../../lib/errors.js';
import { Ok } from '../../../shared/schemas/common.js';

/** GET /v1/auth/token — Basic credentials → bearer JWT (contract §2). */
const auth: RouteModule = (app, { reg, svc }) => {
  // Sign-in throttling (docs/security.md): per account and client address, and per address;
  // counted in the database so every node agrees (services/sign-in-throttle.ts). The client
  // address is the socket's, or a trusted proxy's X-Forwarded-For (--trust-proxy).
  const throttle = svc.signInThrottle;

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
      const wait = await throttle.blockedFor(creds.accountId, req.ip);
      if (wait > 0) throw new ApiError(429, 'RATE001', `Too many failed sign-in attempts; try again in ${wait} s`, [], { 'Retry-After': String(wait) });
      // Read before the account row is: a rotation or sign-out from here on ends this token.
      const checkedAt = Date.now();
      const account = await svc.accounts.authenticate(creds.accountId, creds.secret);
      // Sign-ins are audited with the client address (docs/security.md "What the audit records"), failures included.
      if (!account) {
        await throttle.failed(creds.accountId, req.ip);
        await svc.accounts.auditSignIn(creds.accountId, req.ip, 'wrong-credentials');
        throw new ApiError(401, 'AUTH005', 'Account id or secret key is wrong');
      }
      if (account.status !== 'active') {
        await svc.accounts.auditSignIn(account.accountId, req.ip, account.status === 'terminated' ? 'terminated' : 'suspended');
        throw new ApiError(401, 'AUTH006', `Account is ${account.status}`);
      }
      await throttle.succeeded(creds.accountId, req.ip);
      await svc.accounts.auditSignIn(account.accountId, req.ip, 'ok');
      return { response: envelope(req, reg.clock.now()), 'bearer-token': await issueToken(reg, account, checkedAt), expires: TOKEN_TTL_SECONDS };
    },
  );
};
export default auth;
