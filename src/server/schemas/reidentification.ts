import { Type } from 'typebox';
import { ADMIN_TOKEN_STATUSES, TOKEN_METHODS } from '../services/reid-tokens.js';
import { HttpUrl, Id, Mpxn, NextCursor, Nullable, Ok } from './common.js';
import { MagicLinkDetails, PasskeyRedirect } from './identity-record.js';

export const ReidMethod = Type.Enum([...TOKEN_METHODS], { description: 'magic-link | passkey-assert | passkey-register' });

/** POST /identity-records/{ir}/re-identify */
export const ReIdentifyBody = Type.Object(
  {
    method: ReidMethod,
    'redirect-url': Type.Optional(Nullable(HttpUrl)),
    'passkey-return-url': Type.Optional(Nullable(HttpUrl)),
  },
  { additionalProperties: false },
);

/** POST /identity-records/reidentify (cross-Data-User, portal) */
export const ReIdentifyByMpxnBody = Type.Object(
  {
    mpxn: Mpxn,
    method: ReidMethod,
    'redirect-url': Type.Optional(Nullable(HttpUrl)),
    'passkey-return-url': Type.Optional(Nullable(HttpUrl)),
  },
  { additionalProperties: false },
);

/** POST /admin/reidentifications (operator starts one on behalf of a data_user or portal account) */
export const AdminReIdentifyBody = Type.Object(
  {
    mpxn: Mpxn,
    method: ReidMethod,
    'on-behalf-of': Type.String({ minLength: 1, maxLength: 64 }),
    'redirect-url': Type.Optional(Nullable(HttpUrl)),
    'passkey-return-url': Type.Optional(Nullable(HttpUrl)),
  },
  { additionalProperties: false },
);

const ReIdentifyFields = {
  method: Type.String(),
  'magic-link': Nullable(MagicLinkDetails),
  passkey: Nullable(PasskeyRedirect),
};

export const ReIdentifyResponse = Ok(ReIdentifyFields);
export const AdminReIdentifyResponse = Ok({ ...ReIdentifyFields, 'customer-url': Type.Optional(Type.String()) });

export const TokenStatusResponse = Ok({
  method: Type.String(),
  status: Type.Enum(['pending', 'confirmed', 'expired']),
  'confirmed-at': Nullable(Type.String()),
});

export const TokenRefParams = Type.Object({ tokenRef: Id('mlr') });
export const IrTokenParams = Type.Object({ ir: Id('ir'), tokenRef: Id('mlr') });

/** A token as the operator console sees it. */
export const AdminToken = Type.Object({
  'token-ref': Type.String(),
  method: Type.String(),
  flow: Type.String(),
  mpxn: Type.String(),
  'initiator-account-id': Type.String(),
  'initiator-duid': Type.String(),
  'initiator-display-name': Nullable(Type.String()),
  status: Type.String({ description: ADMIN_TOKEN_STATUSES.join(' | ') }),
  'created-at': Type.String(),
  'expires-at': Nullable(Type.String()),
  'confirmed-at': Nullable(Type.String()),
  'consumed-at': Nullable(Type.String()),
  'consumed-for': Nullable(Type.String()),
  'dispatched-to': Nullable(Type.String()),
});

export const AdminTokenList = Ok({ tokens: Type.Array(AdminToken), total: Type.Integer(), 'next-cursor': NextCursor });

export const OutboxMessage = Type.Object({
  id: Type.String(),
  from: Type.String({ description: 'The From: header (--mail-from)' }),
  to: Type.String(),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
  links: Type.Array(Type.String()),
  purpose: Type.String(),
  ref: Nullable(Type.String()),
  'created-at': Type.String(),
  status: Type.String({ description: 'captured | queued | retrying | sent | failed' }),
  attempts: Type.Integer(),
  'next-attempt-at': Nullable(Type.String()),
  'last-error': Nullable(Type.String()),
  'sent-at': Nullable(Type.String()),
});
