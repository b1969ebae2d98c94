import { Type } from 'typebox';
import { envelope } from '../../http/envelope.js';
import type { RouteModule } from '../../http/types.js';
import { Account } from '../../../shared/schemas/account.js';
import { Ok } from '../../../shared/schemas/common.js';
import { toAccount } from '../../services/accounts.js';

/** GET /v1/self, POST /v1/self/rotate-secret (contract §10). */
const self: RouteModule = (app, { reg, svc }) => {
  app.get('/self', { schema: { tags: ['self'], summary: 'The calling account', response: { 200: Ok({ account: Account }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    account: toAccount(req.account),
  }));

  app.post('/self/rotate-secret', { schema: { tags: ['self'], summary: 'Rotate your secret key (returned once; the old one stops working at once)', response: { 200: Ok({ 'secret-key': Type.String() }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    'secret-key': await svc.accounts.rotateSecret(req.account.accountId, req.account.accountId),
  }));
};
export default self;
