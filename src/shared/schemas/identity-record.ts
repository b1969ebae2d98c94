import { Type, type Static } from 'typebox';
import { DateOnly, DateTime, Email, HttpUrl, Id, Mpxn, Nullable, Text, UKAddress } from './common.js';

export const PiiPrincipal = Type.Object(
  {
    mpxn: Mpxn,
    'move-in-date': DateOnly,
    address: Type.Optional(Nullable(UKAddress)),
  },
  { additionalProperties: false },
);

export const PrincipalVerification = Type.Object(
  {
    method: Text(100),
    'verified-at': DateTime,
    outcome: Type.Enum(['verified', 'failed', 'partial']),
    // Published maximum lengths.
    reference: Type.Optional(Nullable(Text(255))),
    submitted: Type.Optional(Nullable(Text(255))),
    'verified-against': Type.Optional(Nullable(Text(255))),
    detail: Type.Optional(Nullable(Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 50 }))),
  },
  { additionalProperties: false },
);

export const CreateIdentityRecordBody = Type.Object(
  {
    'pii-principal': PiiPrincipal,
    'expressed-by': Type.Enum(['data-subject', 'authorised-representative']),
    'principal-verification': Type.Optional(Nullable(PrincipalVerification)),
    email: Type.Optional(Nullable(Email)),
    'initiate-passkey-registration': Type.Optional(Type.Boolean({ default: false })),
    'passkey-return-url': Type.Optional(Nullable(HttpUrl)),
  },
  { additionalProperties: false },
);
export type CreateIdentityRecordBody = Static<typeof CreateIdentityRecordBody>;

export const Credential = Type.Object({
  'credential-id': Type.String(),
  'registered-at': Type.String(),
  transports: Type.Array(Type.String()),
});

export const IdentityRecord = Type.Object({
  ir: Type.String(),
  'created-at': Type.String(),
  'pii-principal': Nullable(
    Type.Object({
      mpxn: Type.String(),
      'move-in-date': Nullable(Type.String()),
      address: Type.Optional(
        Type.Object({
          addressLine1: Type.String(),
          addressLine2: Type.Optional(Nullable(Type.String())),
          townCity: Type.String(),
          county: Type.Optional(Nullable(Type.String())),
          postcode: Type.String(),
        }),
      ),
    }),
  ),
  'expressed-by': Type.String(),
  'principal-verification': Nullable(
    Type.Object({
      method: Type.String(),
      'verified-at': Type.String(),
      outcome: Type.String(),
      reference: Type.Optional(Nullable(Type.String())),
      submitted: Type.Optional(Nullable(Type.String())),
      'verified-against': Type.Optional(Nullable(Type.String())),
      detail: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))),
    }),
  ),
  'has-email': Type.Boolean(),
  credentials: Type.Array(Credential),
  'anonymised-at': Nullable(Type.String()),
});
export type IdentityRecord = Static<typeof IdentityRecord>;

export const PasskeyRedirect = Type.Object({
  'redirect-url': Type.String(),
  'token-ref': Type.String(),
  'expires-at': Type.String(),
  'return-url': Nullable(Type.String()),
});

export const MagicLinkDetails = Type.Object({
  'dispatched-to': Type.String(),
  'expires-at': Type.String(),
  'token-ref': Type.String(),
  'redirect-url': Nullable(Type.String()),
});

export const IrParams = Type.Object({ ir: Id('ir') });
