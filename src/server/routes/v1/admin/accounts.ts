import { Type } from 'typebox';
import { envelope } from '../../../http/envelope.js';
import { adminPage } from '../../../http/paging.js';
import { adminListResponse } from './lists.js';
import type { RouteModule } from '../../../http/types.js';
import { Account, CreateAccountBody, UpdateAccountBody } from '../../../../shared/schemas/account.js';
import { AdminPagingQuery, Ok, Text } from '../../../../shared/schemas/common.js';
import { ROLES, STAFF_ROLES } from '../../../../shared/vocabulary.js';
import { ACCOUNT_SORTS, toAccount } from '../../../services/accounts.js';

const AccountIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** /v1/admin/accounts — account management for SEC administrators (contract §10). */
const adminAccounts: RouteModule = (app, { reg, svc }) => {
  // Reading the account directory is open to support staff (the desk picks the organisation
  // it acts for from it); every change stays admin-only.
  app.get(
    '/admin/accounts',
    {
      config: { roles: STAFF_ROLES },
      schema: {
        summary: 'List accounts (filter by role, status; q matches a fragment of account-id or display name, a DUID or organisation reference; sort by a main column; keyset or offset paging)',
        querystring: Type.Object(
          {
            role: Type.Optional(Type.Enum([...ROLES])),
            status: Type.Optional(Type.Enum(['active', 'suspended', 'terminated'])),
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a fragment of the account id or display name (ignoring ASCII case), or a whole DUID or organisation reference' })),
            sort: Type.Optional(Type.Enum([...ACCOUNT_SORTS], { description: '[ours] created (default, newest first), name, role or status' })),
            ...AdminPagingQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: adminListResponse('accounts', Account) },
      },
    },
    async (req) => {
      const { rows, total, nextCursor } = await svc.accounts.list({ ...req.query, ...adminPage(req.query) });
      return { response: envelope(req, reg.clock.now()), accounts: rows.map(toAccount), total, 'next-cursor': nextCursor };
    },
  );

  app.post(
    '/admin/accounts',
    {
      schema: {
        summary: 'Create an account (secret-key generated and returned once when absent; a supplied secret is never echoed)',
        body: CreateAccountBody,
        response: { 201: Ok({ account: Account, 'secret-key': Type.Optional(Type.String({ description: 'Only when the register generated the secret' })) }) },
      },
    },
    async (req, reply) => {
      const { account, secret } = await svc.accounts.create(req.account.accountId, req.body);
      reply.status(201).header('Location', `/v1/admin/accounts/${account.accountId}`);
      // Only a secret the register generated is returned; one the caller supplied is never echoed.
      return { response: envelope(req, reg.clock.now()), account: toAccount(account), ...(req.body['secret-key'] === undefined ? { 'secret-key': secret } : {}) };
    },
  );

  app.get('/admin/accounts/:id', { config: { roles: STAFF_ROLES }, schema: { summary: 'One account', params: AccountIdParams, response: { 200: Ok({ account: Account }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    account: toAccount(await svc.accounts.get(req.params.id)),
  }));

  app.patch('/admin/accounts/:id', { schema: { summary: 'Edit an account', params: AccountIdParams, body: UpdateAccountBody, response: { 200: Ok({ account: Account }) } } }, async (req) => ({
    response: envelope(req, reg.clock.now()),
    account: toAccount(await svc.accounts.update(req.account.accountId, req.params.id, req.body)),
  }));

  app.post(
    '/admin/accounts/:id/suspend',
    {
      schema: {
        summary: 'Suspend an account (optional reason, kept in the audit log)',
        params: AccountIdParams,
        body: Type.Object({ reason: Type.Optional(Text(500)) }, { additionalProperties: false }),
        response: { 200: Ok({ account: Account }) },
      },
      // A bodyless request (as before the reason existed) is a suspension without a reason.
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
    },
    async (req) => ({
      response: envelope(req, reg.clock.now()),
      account: toAccount(await svc.accounts.setStatus(req.account.accountId, req.params.id, 'suspend', req.body.reason ?? null)),
    }),
  );

  for (const action of ['reactivate', 'terminate'] as const) {
    app.post(`/admin/accounts/:id/${action}`, { schema: { summary: `${action[0].toUpperCase()}${action.slice(1)} an account`, params: AccountIdParams, response: { 200: Ok({ account: Account }) } } }, async (req) => ({
      response: envelope(req, reg.clock.now()),
      account: toAccount(await svc.accounts.setStatus(req.account.accountId, req.params.id, action)),
    }));
  }

  app.post('/admin/accounts/:id/rotate-secret', { schema: { summary: 'Issue a new secret for an account (returned once)', params: AccountIdParams, response: { 200: Ok({ 'secret-key': Type.String() }) } } }, async (req) => {
    await svc.accounts.get(req.params.id);
    return { response: envelope(req, reg.clock.now()), 'secret-key': await svc.accounts.rotateSecret(req.account.accountId, req.params.id) };
  });

  app.post(
    '/admin/accounts/:id/sign-out-everywhere',
    {
      schema: {
        summary: 'End every session of an account: its bearer tokens issued so far answer 401 (its secret still signs in)',
        params: AccountIdParams,
        response: { 200: Ok({ account: Account }) },
      },
    },
    async (req) => ({ response: envelope(req, reg.clock.now()), account: toAccount(await svc.accounts.signOutEverywhere(req.account.accountId, req.params.id)) }),
  );
};
export default adminAccounts;
