import { Type, type Static } from 'typebox';
import { MAIL_STATUSES, POLLED_TOKEN_STATUSES, TOKEN_FLOWS, TOKEN_METHODS, TOKEN_STATUSES } from '../vocabulary.js';
import { HttpUrl, Id, Mpxn, NextCursor, Nullable, Ok, StringEnum } from './common.js';
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
export const ReIdentifyByMpxnBody = Type.Object({ mpxn: Mpxn, ...ReIdentifyBody.properties }, { additionalProperties: false });

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

/** What starting a re-identification answers (one definition for the API, the service and the console). */
export const ReIdentifyResult = Type.Object({
  method: StringEnum(TOKEN_METHODS),
  'magic-link': Nullable(MagicLinkDetails),
  passkey: Nullable(PasskeyRedirect),
});
export type ReIdentifyResult = Static<typeof ReIdentifyResult>;

export const ReIdentifyResponse = Ok(ReIdentifyResult.properties);
/** The operator's answer adds, in sandbox mode, the customer page to open directly. */
export const AdminReIdentifyResult = Type.Object({ ...ReIdentifyResult.properties, 'customer-url': Type.Optional(Type.String()) });
export const AdminReIdentifyResponse = Ok(AdminReIdentifyResult.properties);

/** GET /identity-records/exists and its staff twin: never an ir or PII. */
export const ExistsQuery = Type.Object({ mpxn: Mpxn }, { additionalProperties: false });
export const ExistsAnswer = Type.Object({ mpxn: Type.String(), exists: Type.Boolean(), 'available-methods': Type.Array(StringEnum(TOKEN_METHODS)) });

export const TokenStatusResponse = Ok({
  method: StringEnum(TOKEN_METHODS),
  status: StringEnum(POLLED_TOKEN_STATUSES),
  'confirmed-at': Nullable(Type.String()),
});

export const TokenRefParams = Type.Object({ tokenRef: Id('mlr') });
export const IrTokenParams = Type.Object({ ir: Id('ir'), tokenRef: Id('mlr') });

/** A token as the operator console sees it. */
export const AdminToken = Type.Object({
  'token-ref': Type.String(),
  method: StringEnum(TOKEN_METHODS),
  flow: StringEnum(TOKEN_FLOWS),
  mpxn: Type.String(),
  'initiator-account-id': Type.String(),
  'initiator-duid': Type.String(),
  'initiator-display-name': Nullable(Type.String()),
  status: StringEnum(TOKEN_STATUSES),
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
  status: StringEnum(MAIL_STATUSES),
  attempts: Type.Integer(),
  'next-attempt-at': Nullable(Type.String()),
  'last-error': Nullable(Type.String()),
  'sent-at': Nullable(Type.String()),
});
