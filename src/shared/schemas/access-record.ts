import { Type, type Static } from 'typebox';
import { LEGAL_BASES, RECORD_STATES } from '../vocabulary.js';
import { DataTypes, DateTime, DateTimeOrDate, DURATION_PATTERN, HttpUrl, Id, Nullable, StringEnum, Text, UKAddress } from './common.js';

const strict = { additionalProperties: false } as const;

export const Controller = Type.Object(
  {
    // Published maximum lengths (no limit here may be stricter than the published one).
    name: Text(255),
    role: Type.Enum(['sole', 'lead', 'joint', 'member']),
    'contact-url': HttpUrl,
    address: Type.Optional(Nullable(UKAddress)),
    'privacy-rights-url': Type.Optional(Nullable(HttpUrl)),
    'lia-reference': Type.Optional(Nullable(Text(255))),
    'statutory-reference': Type.Optional(Nullable(Text(500))),
    'storage-conditions': Type.Optional(
      Nullable(
        Type.Object(
          {
            location: Text(200),
            'retention-period': Type.String({ pattern: DURATION_PATTERN, maxLength: 40 }),
          },
          strict,
        ),
      ),
    ),
  },
  strict,
);

const ControllerArrangement = Type.Object(
  {
    'arrangement-type': Type.Enum(['sole', 'joint', 'group']),
    'art26-reference': Type.Optional(Nullable(Text(500))),
    controllers: Type.Array(Controller, { minItems: 1, maxItems: 50 }),
  },
  strict,
);

const SharedNotice = Type.Object({ 'terms-url': HttpUrl, 'notice-version': Text(50), 'notice-language': Type.Optional(Nullable(Text(35))) }, strict);
const ControllerNotice = Type.Object(
  {
    'controller-name': Text(255),
    'terms-url': HttpUrl,
    'notice-version': Text(50),
    'notice-language': Type.Optional(Nullable(Text(35))),
  },
  strict,
);
const Notice = Nullable(
  Type.Object(
    {
      'shared-notice': Type.Optional(Nullable(SharedNotice)),
      notices: Type.Optional(Nullable(Type.Array(ControllerNotice, { maxItems: 50 }))),
    },
    strict,
  ),
);

const Recipient = Type.Object({ name: Text(200), role: Text(100), 'privacy-url': Type.Optional(Nullable(HttpUrl)) }, strict);

const Processing = Type.Object(
  {
    'legal-basis': Type.Enum([...LEGAL_BASES]),
    purpose: Text(500),
    'data-types': DataTypes,
    jurisdiction: Type.Optional(Type.Literal('GB')),
    'data-source': Type.Optional(Nullable(Text(200))),
    recipients: Type.Optional(Nullable(Type.Array(Recipient, { maxItems: 50 }))),
  },
  strict,
);

const Consent = Type.Object({ 'consent-type': Type.Enum(['expressed-consent', 'explicit-consent']), method: Type.Optional(Nullable(Text(100))) }, strict);

const Expiry = Nullable(DateTimeOrDate);

/** The body of POST and PUT /access-records. Register-set fields are accepted and ignored. */
export const AccessRecordInput = Type.Object(
  {
    'record-metadata': Type.Object(
      {
        'schema-version': Text(20),
        'record-identifier': Type.Optional(Nullable(Type.String({ maxLength: 40 }))),
        'created-at': Type.Optional(Nullable(Type.String({ maxLength: 40 }))),
        'controller-arrangement': ControllerArrangement,
        'identity-record-ref': Type.Optional(Nullable(Id('ir'))),
      },
      strict,
    ),
    notice: Type.Optional(Notice),
    processing: Processing,
    'access-event': Type.Object(
      {
        state: Type.Enum(['ACTIVE', 'EXPIRED', 'REVOKED']),
        'registered-at': DateTime,
        expiry: Expiry,
        'controller-reference': Type.Optional(Nullable(Text(255))),
        consent: Type.Optional(Nullable(Consent)),
        'revoked-at': Type.Optional(Nullable(Type.String({ maxLength: 40 }))),
      },
      strict,
    ),
    'reidentification-token': Type.Optional(Nullable(Id('mlr'))),
  },
  strict,
);
export type AccessRecordInput = Static<typeof AccessRecordInput>;

/** What the DCC observed (a DISCOVERED record's `discovered-access`). */
export const DiscoveredAccess = Type.Object({
  mpxn: Type.String(),
  'organisation-name': Type.String(),
  'organisation-reference': Type.String(),
  'first-seen': Type.String(),
  'last-seen': Nullable(Type.String()),
  'data-types-observed': Type.Array(Type.String()),
  'source-reference': Type.String(),
  'superseded-by': Nullable(Type.String()),
});

/** The record as the register returns it (GET /access-records/{ak}): no PII. */
export const AccessRecordOutput = Type.Object({
  'record-metadata': Type.Object({
    'schema-version': Type.String(),
    'record-identifier': Type.String(),
    'created-at': Type.String(),
    'controller-arrangement': Nullable(ControllerArrangement),
    'identity-record-ref': Nullable(Type.String()),
  }),
  notice: Notice,
  processing: Nullable(
    Type.Object({
      'legal-basis': StringEnum(LEGAL_BASES),
      purpose: Type.String(),
      'data-types': Type.Array(Type.String()),
      jurisdiction: Type.String(),
      'data-source': Type.Optional(Nullable(Type.String())),
      recipients: Type.Optional(Nullable(Type.Array(Recipient))),
    }),
  ),
  'access-event': Type.Object({
    state: StringEnum(RECORD_STATES),
    'registered-at': Nullable(Type.String()),
    expiry: Nullable(Type.String()),
    'controller-reference': Type.Optional(Nullable(Type.String())),
    consent: Nullable(Consent),
    // Absent until the record is revoked: the published schema does not allow null here.
    'revoked-at': Type.Optional(Type.String()),
  }),
  'discovered-access': Type.Optional(Nullable(DiscoveredAccess)),
});

/**
 * In a Data User's meter-point listing, only its own records show `ak` and
 * `record-identifier`; the others (and DISCOVERED rows) show null **[ours]**: access keys are
 * secrets (contract §5).
 */
const HIDDEN_KEY = "null in a Data User's meter-point listing except on its own records [ours: access keys are secrets]";
const { 'schema-version': schemaVersion, 'record-identifier': _recordIdentifier, ...summaryMetadata } = AccessRecordOutput.properties['record-metadata'].properties;

export const AccessRecordSummary = Type.Object({
  ak: Nullable(Type.String({ description: HIDDEN_KEY })),
  'lead-controller-name': Nullable(Type.String()),
  'arrangement-type': Nullable(Type.String()),
  // null for a DISCOVERED record, which has no controller arrangement.
  'controller-count': Nullable(Type.Integer()),
  'record-metadata': Nullable(Type.Object({ 'schema-version': schemaVersion, 'record-identifier': Nullable(Type.String({ description: HIDDEN_KEY })), ...summaryMetadata })),
  'legal-basis': Nullable(StringEnum(LEGAL_BASES)),
  purpose: Nullable(Type.String()),
  'data-types': Type.Array(Type.String()),
  state: StringEnum(RECORD_STATES),
  expiry: Nullable(Type.String()),
  'discovered-access': Nullable(DiscoveredAccess),
});
