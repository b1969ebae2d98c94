import { Type, type Static } from 'typebox';
import { ACCOUNT_STATUSES, ROLES } from '../vocabulary.js';
import { ORG_REF_PATTERN } from '../values.js';
import { DataType, HttpUrl, Id, Nullable, StringEnum, Text } from './common.js';

export const Account = Type.Object({
  'account-id': Type.String(),
  duid: Type.String(),
  'display-name': Type.String(),
  role: StringEnum(ROLES),
  status: StringEnum(ACCOUNT_STATUSES),
  'contact-url': Nullable(Type.String()),
  'registered-at': Type.String(),
  'suspended-at': Nullable(Type.String()),
  'terminated-at': Nullable(Type.String()),
  'data-types-supported': Type.Array(Type.String()),
  'organisation-reference': Nullable(Type.String()),
  'return-urls': Type.Array(Type.String()),
});
export type Account = Static<typeof Account>;

/** A Data User as the directory shows it (contract §6). */
export const DataUser = Type.Object({
  duid: Type.String(),
  'display-name': Type.String(),
  status: StringEnum(ACCOUNT_STATUSES),
  'registered-at': Type.String(),
  'suspended-at': Nullable(Type.String()),
  'contact-url': Nullable(Type.String()),
  'data-types-supported': Type.Array(Type.String()),
});

export const ACCOUNT_ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{2,63}$';

const ReturnUrls = Type.Array(HttpUrl, { maxItems: 20, uniqueItems: true });

export const CreateAccountBody = Type.Object(
  {
    'account-id': Type.String({ pattern: ACCOUNT_ID_PATTERN, description: 'login name: 3–64 of a-z 0-9 _ . -' }),
    'secret-key': Type.Optional(Type.String({ minLength: 12, maxLength: 200 })),
    duid: Type.Optional(Id('duid')),
    'display-name': Text(200),
    role: Type.Enum([...ROLES]),
    'contact-url': Type.Optional(Nullable(HttpUrl)),
    'data-types': Type.Optional(Type.Array(DataType, { uniqueItems: true, maxItems: 8 })),
    'organisation-reference': Type.Optional(Nullable(Type.String({ pattern: ORG_REF_PATTERN }))),
    'return-urls': Type.Optional(ReturnUrls),
  },
  { additionalProperties: false },
);
export type CreateAccountBody = Static<typeof CreateAccountBody>;

export const UpdateAccountBody = Type.Object(
  {
    'display-name': Type.Optional(Text(200)),
    'contact-url': Type.Optional(Nullable(HttpUrl)),
    'data-types': Type.Optional(Type.Array(DataType, { uniqueItems: true, maxItems: 8 })),
    'organisation-reference': Type.Optional(Nullable(Type.String({ pattern: ORG_REF_PATTERN }))),
    'return-urls': Type.Optional(ReturnUrls),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateAccountBody = Static<typeof UpdateAccountBody>;
